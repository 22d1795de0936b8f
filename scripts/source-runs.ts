// Writes test/fixtures/source-runs.json: the hash of every run of words in the source documents
// (by default ../shared/sources, or the folder given as the first argument), for the test that
// keeps the knowledge base in its own words. Run it again when a source document changes.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../src/paths.js';
import { RUN_WORDS, runHashes } from './wording.js';

export const sourceRunsFile = join(projectRoot, 'test', 'fixtures', 'source-runs.json');
export const defaultSourcesDir = resolve(projectRoot, '..', 'shared', 'sources');

export function sourceRuns(dir: string): { documents: string[]; words: number; runs: string[] } {
  const documents = readdirSync(dir)
    .filter((name) => name.endsWith('.txt'))
    .sort();
  const runs = new Set<string>();
  for (const name of documents) {
    for (const hash of runHashes(readFileSync(join(dir, name), 'utf8'))) runs.add(hash);
  }
  return { documents, words: RUN_WORDS, runs: [...runs].sort() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = resolve(process.argv[2] ?? defaultSourcesDir);
  const result = sourceRuns(dir);
  if (result.documents.length === 0) throw new Error(`no .txt source documents in ${dir}`);
  writeFileSync(sourceRunsFile, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${result.runs.length} runs of ${RUN_WORDS} words from ${result.documents.join(', ')}`);
}
