/**
 * `npx tsx bench/heap-summary.ts <file.heapsnapshot> [per=N]`: what a V8 heap snapshot holds, by constructor
 * (objects, arrays, closures) and for strings by content, largest first; with `per=N` each row also shows bytes
 * per N (e.g. per Backup). Snapshots of the operator come from `BENCH_NODE_ARGS=--heapsnapshot-signal=SIGUSR2`
 * and a SIGUSR2 sent to its process. Sizes are shallow (the object's own bytes, not what it points to).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, perArg] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot> [per=N]');
const per = Number(perArg?.split('=')[1] ?? 0);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const [TYPE, NAME, SIZE] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));

const byConstructor = new Map<string, { count: number; bytes: number }>();
const byString = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + TYPE]];
  const name = snap.strings[snap.nodes[i + NAME]];
  const bytes = snap.nodes[i + SIZE];
  total += bytes;
  const key = type === 'object' || type === 'closure' ? `${type} ${name}` : type;
  const row = byConstructor.get(key) ?? { count: 0, bytes: 0 };
  row.count++;
  row.bytes += bytes;
  byConstructor.set(key, row);
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
    const s = byString.get(name.slice(0, 80)) ?? { count: 0, bytes: 0 };
    s.count++;
    s.bytes += bytes;
    byString.set(name.slice(0, 80), s);
  }
}

const mib = (b: number) => (b / 2 ** 20).toFixed(2).padStart(8);
const perN = (b: number) => (per ? ` ${(b / per).toFixed(0).padStart(7)} B/each` : '');
const top = (rows: Map<string, { count: number; bytes: number }>, n: number) =>
  [...rows.entries()]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, n)
    .map(([k, r]) => `${mib(r.bytes)} MiB ${String(r.count).padStart(8)}x${perN(r.bytes)}  ${JSON.stringify(k)}`);

process.stdout.write(
  [
    `${file}: ${mib(total)} MiB in ${snap.nodes.length / width} nodes` +
      (per ? ` (${perN(total).trim()} of ${per})` : ''),
    '',
    'by constructor / type:',
    ...top(byConstructor, 30),
    '',
    'strings by content (repeated ones first by bytes):',
    ...top(byString, 25),
    '',
  ].join('\n'),
);
