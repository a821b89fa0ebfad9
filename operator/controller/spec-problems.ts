/**
 * A Backup's spec checked once per version: admission's check runs on every reconcile and every informer event
 * of a Backup, and with thousands of Backups it was a large share of the operator's CPU. Informers hand over a
 * new spec object with every version and nothing edits one in place, so the object is the cache key.
 */
import { validateBackupSpec } from '../../lib/permits/backup-validation';
import type { BackupObject } from './types';

const checked = new WeakMap<object, readonly string[]>();

/** What is wrong with the Backup's spec, in words (validateBackupSpec); empty when valid. */
export function specProblems(backup: Pick<BackupObject, 'spec'>): readonly string[] {
  const spec = backup.spec ?? {};
  let problems = checked.get(spec);
  if (!problems) {
    problems = Object.freeze(validateBackupSpec(spec));
    checked.set(spec, problems);
  }
  return problems;
}
