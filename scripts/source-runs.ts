// Writes test/fixtures/source-runs.json: the hash of every run of words and every near run in the
// source documents (by default ../shared/sources, or the folder given as the first argument), for
// the tests that keep the knowledge base in its own words. Run it again when a source document changes.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/paths.js';
import { CommandError, EX_NOINPUT, EX_USAGE, runCommand } from './cli.js';
import { NEAR_SPAN, NEAR_TOKENS, nearRunHashes, RUN_WORDS, runHashes } from './wording.js';

export const sourceRunsFile = join(projectRoot, 'test', 'fixtures', 'source-runs.json');
export const defaultSourcesDir = resolve(projectRoot, '..', 'shared', 'sources');

export interface SourceRuns {
  documents: string[];
  words: number;
  runs: string[];
  near: { words: number; span: number; runs: string[] };
}

export function sourceRuns(dir: string): SourceRuns {
  const documents = readdirSync(dir)
    .filter((name) => name.endsWith('.txt'))
    .sort();
  const runs = new Set<string>();
  const near = new Set<string>();
  for (const name of documents) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const hash of runHashes(text)) runs.add(hash);
    for (const hash of nearRunHashes(text)) near.add(hash);
  }
  return { documents, words: RUN_WORDS, runs: [...runs].sort(), near: { words: NEAR_TOKENS, span: NEAR_SPAN, runs: [...near].sort() } };
}

// Run as a command (a path with spaces or other characters a URL escapes included), not imported by the tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCommand('sources:runs', () => {
    const [folder, ...extra] = process.argv.slice(2);
    if (extra.length > 0) throw new CommandError('usage: npm run sources:runs -- [folder]', EX_USAGE);
    const dir = resolve(folder ?? defaultSourcesDir);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
      throw new CommandError(`no folder of source documents at ${dir}: name one (npm run sources:runs -- <folder>)`, EX_NOINPUT);
    const result = sourceRuns(dir);
    if (result.documents.length === 0) throw new CommandError(`no .txt source documents in ${dir}`, EX_NOINPUT);
    // one hash a line: the near runs make this about 25,000 lines
    writeFileSync(sourceRunsFile, `${JSON.stringify(result, null, 1)}\n`);
    console.log(
      `wrote ${result.runs.length} runs of ${RUN_WORDS} words and ${result.near.runs.length} near runs ` +
        `(${NEAR_TOKENS} words within ${NEAR_SPAN}) from ${result.documents.join(', ')}`,
    );
  });
}
