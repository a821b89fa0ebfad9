/**
 * The README quickstart's blocks, by their `<!-- quickstart:<step> -->` markers: step → the shell text of the block.
 */
export function quickstartBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(/<!-- quickstart:([a-z-]+) -->\n```sh\n([\s\S]*?)\n```/g)) blocks.set(m[1], m[2]);
  return blocks;
}
