/**
 * The one restic release the project runs: the backup image's tag and the binary the tests build from its Go
 * module (scripts/build-restic.sh reads this line). restic's exit codes, `--retry-lock`, `unlock` and the
 * `--json` summaries the run relies on are those of this release.
 */
export const RESTIC_VERSION = '0.19.1';
