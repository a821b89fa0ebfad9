import * as fs from 'node:fs';
import * as path from 'node:path';
import { Yaml } from 'cdk8s';
import type { ManifestFile } from './app';

/** Renders every file in memory first: a construct that throws leaves nothing written. */
export function renderManifests(files: readonly ManifestFile[]): Map<string, string> {
  const rendered = new Map<string, string>();
  for (const { path: file, chart } of files) {
    rendered.set(file, Yaml.stringify(...chart.toJson()));
  }
  return rendered;
}

/**
 * Replaces `outdir` with exactly `rendered`: written to a sibling folder, then swapped in by rename,
 * so readers (kubectl, Argo CD, git) see the old output or the new one, never a half-written mix.
 */
export function writeManifestsAtomically(rendered: ReadonlyMap<string, string>, outdir: string): void {
  const target = path.resolve(outdir);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}-new-`));
  try {
    for (const [file, text] of rendered) {
      const full = path.join(staging, file);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, text);
    }
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const retired = fs.existsSync(target) ? `${staging.replace(/-new-/, '-old-')}` : undefined;
  if (retired) fs.renameSync(target, retired);
  fs.renameSync(staging, target);
  if (retired) fs.rmSync(retired, { recursive: true, force: true });
}
