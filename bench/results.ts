/**
 * bench/RESULTS.md from a run of some parts: their sections replace the sections of the same name (the title up to
 * its first colon or parenthesis), new ones are appended, the others stay, each under the run header that produced
 * it: a re-measured section says when and on what it was measured.
 */
function sectionsOf(text: string): { head: string; sections: string[] } {
  const parts = text.split(/^(?=## )/m);
  return { head: parts[0], sections: parts.slice(1) };
}

const nameOf = (section: string) => section.split('\n')[0].replace(/^## /, '').split(/[:(]/)[0].trim();

export function mergeSections(existing: string, run: string): string {
  const old = sectionsOf(existing);
  const fresh = sectionsOf(run);
  const note = fresh.head
    .split('\n')
    .filter((l) => /^(Machine|Generated)/.test(l))
    .map((l) => `_${l.trim()}_`)
    .join(' ');
  const stamped = fresh.sections.map((s) => {
    const [title, ...rest] = s.split('\n');
    return [title, '', note, ...rest].join('\n');
  });
  const out = old.sections.map((s) => stamped.find((f) => nameOf(f) === nameOf(s)) ?? s);
  for (const f of stamped) if (!old.sections.some((s) => nameOf(s) === nameOf(f))) out.push(f);
  return [old.head, ...out.map((s) => s.replace(/\n*$/, '\n\n'))].join('').replace(/\n*$/, '\n');
}
