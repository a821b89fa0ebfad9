// An S3 vault for tests: s3rver over TLS on 127.0.0.1, in its own process so that tests may block on
// restic. Usage: node s3-vault.js <folder> <key.pem> <cert.pem> <bucket>; prints the port, then serves.
const fs = require('node:fs');
const S3rver = require('s3rver');

const [folder, key, cert, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: folder,
  key: fs.readFileSync(key),
  cert: fs.readFileSync(cert),
  configureBuckets: [{ name: bucket }],
});
server.run().then(({ port }) => process.stdout.write(`${port}\n`));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
