// Checks that the knowledge base is written in its own words: a text shares no run of
// RUN_WORDS words with either source document. The sources are not part of the repository,
// so what is kept of them is one short hash per run of words (test/fixtures/source-runs.json),
// from which no sentence can be read back.
import { createHash } from 'node:crypto';

/** Six words in a row is a copied phrase; five still matches stock phrases such as "work with the team". */
export const RUN_WORDS = 6;

/** Words compared case-blind, with punctuation and hyphens as separators and one apostrophe. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019`]/g, "'")
    .split(/[^a-z0-9']+/)
    .map((word) => word.replace(/^'+|'+$/g, ''))
    .filter((word) => word.length > 0);
}

export function runHash(run: readonly string[]): string {
  return createHash('sha256').update(run.join(' ')).digest('hex').slice(0, 16);
}

/** The hash of every run of RUN_WORDS words in a text. */
export function runHashes(text: string): string[] {
  const list = words(text);
  const hashes: string[] = [];
  for (let start = 0; start + RUN_WORDS <= list.length; start += 1) {
    hashes.push(runHash(list.slice(start, start + RUN_WORDS)));
  }
  return hashes;
}

/** The first run of a text found among the given hashes, in the text's words, or undefined. */
export function sharedRun(text: string, sourceRuns: ReadonlySet<string>): string | undefined {
  const list = words(text);
  for (let start = 0; start + RUN_WORDS <= list.length; start += 1) {
    const run = list.slice(start, start + RUN_WORDS);
    if (sourceRuns.has(runHash(run))) return run.join(' ');
  }
  return undefined;
}
