/**
 * The fault suite's shared-vault scenarios on an S3 vault (s3rver over TLS on 127.0.0.1), where there is no
 * file system for a lock or an init to lean on: the same rendered pods, the same pinned restic, the same
 * assertions as on the local vault (testing/vault-faults.ts).
 */
import { firstRunsOnFreshVault, useFaultFolders } from '../testing/vault-faults';
import { useS3Vault } from '../testing/s3-server';

useFaultFolders();
const s3 = useS3Vault();

test(
  '4 first runs on a fresh S3 vault wait for the one init Job: one config, one key, every snapshot restorable',
  () =>
    firstRunsOnFreshVault({
      location: `${s3.endpoint}/fresh`,
      repository: `${s3.endpoint}/fresh`,
      secret: s3.secret,
      env: s3.env,
    }),
  120_000,
);
