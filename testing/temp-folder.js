/**
 * Jest globalSetup / globalTeardown: every test process (the workers start after the setup and inherit its
 * environment) makes its temporary files in one folder of this run, removed when the run ends. cdk8s'
 * Testing.app() makes an output folder per app and the operator bundle lives until its worker exits, so
 * cleaning up test by test cannot catch everything; `npm test` leaves the temp folder as it found it.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const VAR = 'MALL_BACKUP_TEST_TMPDIR';

// The run's folder is named after the jest process, so a later run can tell that its owner is gone.
const STALE = /^mall-backup-test-(\d+)-[A-Za-z0-9]{6}$/;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** A run stopped by Ctrl-C or SIGKILL never reaches its teardown: its folder goes at the next run. */
function removeAbandoned(tmp) {
  for (const name of fs.readdirSync(tmp)) {
    const m = STALE.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])))
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
  }
}

module.exports = {
  setup() {
    removeAbandoned(os.tmpdir());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mall-backup-test-${process.pid}-`));
    // Searchable, not listable: tests that run a pod as its non-root user must reach their own folders in here.
    fs.chmodSync(dir, 0o711);
    process.env[VAR] = dir;
    process.env.TMPDIR = dir;
  },
  teardown() {
    const dir = process.env[VAR];
    if (dir && path.basename(dir).startsWith('mall-backup-test-')) fs.rmSync(dir, { recursive: true, force: true });
  },
};
