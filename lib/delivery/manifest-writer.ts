import * as fs from 'node:fs';
import * as path from 'node:path';
import { Yaml } from 'cdk8s';
import type { ManifestFile } from './app';

/**
 * Written into every output folder, listing the files the synth wrote. A folder is replaced only when it
 * is empty or holds exactly what this marker lists: anything else there is someone's data.
 */
export const OUTPUT_MARKER = '.mall-backup-output';
const MARKER_HEADER = '# Written by the mall-backup synth; this folder is replaced on every synth. Files:';

/** Renders every file in memory first: a construct that throws leaves nothing written. */
export function renderManifests(files: readonly ManifestFile[]): Map<string, string> {
  const rendered = new Map<string, string>();
  for (const { path: file, chart } of files) {
    rendered.set(file, Yaml.stringify(...chart.toJson()));
  }
  return rendered;
}

/** What an output folder holds after a synth: the rendered files and the marker that lists them. */
export function outputTree(rendered: ReadonlyMap<string, string>): Map<string, string> {
  const files = [...rendered.keys()].sort();
  return new Map([...rendered, [OUTPUT_MARKER, `${[MARKER_HEADER, ...files].join('\n')}\n`]]);
}

export class OutputFolderError extends Error {}

function filesBelow(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? filesBelow(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    );
}

/**
 * Throws unless `target` may be replaced: absent, an empty folder, or a previous output holding only the
 * files its marker lists. Never a file, never a project folder (one with .git or package.json). The marker is
 * read before the folder is walked, so `/` or a home folder is refused at once rather than after reading it all.
 */
function checkOnce(target: string): void {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) return;
  const refuse = (why: string): never => {
    // A folder that was swapped while it was looked at is another synth's output: the caller looks again.
    if (fs.statSync(target, { throwIfNoEntry: false })?.ino !== stat.ino)
      throw Object.assign(new Error(`${target} was replaced`), { code: 'ENOENT' });
    throw new OutputFolderError(
      `output folder ${target} ${why}; name an empty folder, a new ` +
        `one, or a previous synth output (it holds ${OUTPUT_MARKER})`,
    );
  };
  if (!stat.isDirectory()) refuse('is not a folder');
  const project = ['.git', 'package.json'].filter((f) => fs.existsSync(path.join(target, f)));
  if (project.length > 0) refuse(`holds ${project.join(' and ')}, so it looks like a project, not a synth output`);
  if (fs.readdirSync(target).length === 0) return;
  const markerFile = path.join(target, OUTPUT_MARKER);
  const marker = fs.lstatSync(markerFile, { throwIfNoEntry: false });
  if (!marker) refuse(`is not empty and was not written by the synth (no ${OUTPUT_MARKER})`);
  // A link or folder in the marker's place was put there by hand: its list would be someone else's words.
  if (!marker!.isFile())
    refuse(
      `holds a ${OUTPUT_MARKER} that is ` +
        `${marker!.isSymbolicLink() ? 'a symbolic link' : 'not a file'}, which the synth never writes`,
    );
  const [header, ...lines] = fs.readFileSync(markerFile, 'utf8').split('\n');
  if (header !== MARKER_HEADER)
    refuse(`holds a ${OUTPUT_MARKER} the synth did not write (its first line is not the synth's)`);
  const listed = new Set(lines.filter((l) => l && !l.startsWith('#')));
  const foreign = filesBelow(target).filter((f) => f !== OUTPUT_MARKER && !listed.has(f));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
    refuse(`holds files the synth did not write (${shown}); move them elsewhere first`);
  }
}

/**
 * checkOnce, again when the folder changed under it: a file vanishing while it is read means another synth
 * swapped its own output in, which is looked at afresh.
 */
export function checkOutputFolder(target: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      return checkOnce(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 100) throw error;
    }
  }
}

/** `outdir` as an absolute path; a symbolic link is followed, so the link stays and its folder is replaced. */
function resolveTarget(outdir: string): string {
  const target = path.resolve(outdir);
  if (!fs.lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) return target;
  try {
    return fs.realpathSync(target);
  } catch {
    throw new OutputFolderError(
      `output folder ${target} is a symbolic link to ` +
        `${path.resolve(path.dirname(target), fs.readlinkSync(target))}, which does not exist; ` +
        'create that folder or name another one',
    );
  }
}

const STAGING = /^\.(.+)\.synth-(\d+)-[0-9a-z]+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders beside `target` left by synths that were killed half-way. */
function removeAbandonedStaging(parent: string, base: string): void {
  for (const name of fs.readdirSync(parent)) {
    const m = STAGING.exec(name);
    if (m && m[1] === base && Number(m[2]) !== process.pid && !alive(Number(m[2]))) {
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

function uniqueSibling(parent: string, base: string): string {
  return path.join(parent, `.${base}.synth-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/**
 * Replaces `outdir` with exactly `rendered` (plus the marker): written to a sibling folder, then swapped in
 * by rename, so readers (kubectl, Argo CD, git) see the old output or the new one, never a half-written mix.
 * The folder keeps its mode. Concurrent synths into one folder each finish with a complete output (the last
 * one wins) and leave nothing beside it.
 */
export function writeManifestsAtomically(rendered: ReadonlyMap<string, string>, outdir: string): void {
  const target = resolveTarget(outdir);
  checkOutputFolder(target);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const existing = fs.statSync(target, { throwIfNoEntry: false });
  if (existing && existing.dev !== fs.statSync(parent).dev) {
    throw new OutputFolderError(
      `output folder ${target} is a mount point, which cannot be swapped for a ` +
        `new folder: name a folder inside it, e.g. ${path.join(target, 'manifests')}`,
    );
  }
  try {
    swapIn(rendered, target, parent, base);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw error;
    throw new OutputFolderError(
      `output folder ${target} cannot be written: the synth ` +
        `writes a new folder beside it in ${parent} and swaps it in, ` +
        `so ${parent} must be writable (${(error as Error).message})`,
    );
  }
}

function swapIn(rendered: ReadonlyMap<string, string>, target: string, parent: string, base: string): void {
  fs.mkdirSync(parent, { recursive: true });
  removeAbandonedStaging(parent, base);
  const staging = uniqueSibling(parent, base);
  let retired: string | undefined;
  try {
    // mkdirSync applies the umask, as any new folder gets; an existing output keeps its own mode.
    fs.mkdirSync(staging);
    const existing = fs.statSync(target, { throwIfNoEntry: false });
    if (existing) fs.chmodSync(staging, existing.mode & 0o7777);
    for (const [file, text] of outputTree(rendered)) {
      const full = path.join(staging, file);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, text);
    }
    // Another synth may swap its output in between our two renames: then we move that one aside too.
    for (let attempt = 0; ; attempt++) {
      if (fs.existsSync(target)) {
        checkOutputFolder(target);
        const aside = uniqueSibling(parent, base);
        try {
          fs.renameSync(target, aside);
          if (retired) fs.rmSync(retired, { recursive: true, force: true });
          retired = aside;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      try {
        fs.renameSync(staging, target);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (attempt >= 100 || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw error;
      }
    }
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (retired && !fs.existsSync(target)) fs.renameSync(retired, target);
    throw error;
  } finally {
    if (retired && fs.existsSync(retired)) fs.rmSync(retired, { recursive: true, force: true });
  }
}
