/**
 * The images the test kubelet can "pull": each is this machine's /usr plus what the image adds, with the
 * image's entrypoint and environment. An image outside this table fails to start the way a missing image
 * does on a real node (ErrImagePull, with the reason), never as a silent success.
 */
import type { Mount } from './sandbox';

export interface Image {
  readonly entrypoint: readonly string[];
  readonly env: Record<string, string>;
  readonly mounts: readonly Mount[];
}

export interface ImageSources {
  /** Folder of the pinned restic binary (what the restic image holds). */
  readonly resticDir?: string;
  /** The operator bundle (what the operator image runs). */
  readonly operatorBundle?: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function imageFor(ref: string, sources: ImageSources): Image | { error: string } {
  const repository = ref.replace(/[:@].*$/, '');
  if (/(^|\/)busybox$/.test(repository)) return { entrypoint: ['sh'], env: { PATH }, mounts: [] };
  if (/(^|\/)restic\/restic$/.test(repository)) {
    if (!sources.resticDir) return { error: `${ref}: the test kubelet was started without a restic binary` };
    return {
      entrypoint: ['/opt/restic/restic'],
      env: { PATH: `/opt/restic:${PATH}` },
      mounts: [{ hostPath: sources.resticDir, path: '/opt/restic', readOnly: true }],
    };
  }
  if (/(^|\/)mall-backup-operator$/.test(repository)) {
    if (!sources.operatorBundle) return { error: `${ref}: the test kubelet was started without the operator bundle` };
    return {
      entrypoint: ['/usr/bin/node', '/app/operator.cjs'],
      env: { PATH, NODE_ENV: 'production' },
      mounts: [{ hostPath: sources.operatorBundle, path: '/app/operator.cjs', readOnly: true }],
    };
  }
  return { error: `${ref}: not an image the test kubelet has (busybox, restic/restic, mall-backup-operator)` };
}
