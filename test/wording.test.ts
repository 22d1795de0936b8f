import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSourcesDir, sourceRuns, sourceRunsFile } from '../scripts/source-runs.js';
import { RUN_WORDS, runHash, runHashes, sharedRun, words } from '../scripts/wording.js';
import { seedFolder } from '../src/paths.js';

const committed: { documents: string[]; words: number; runs: string[] } = JSON.parse(readFileSync(sourceRunsFile, 'utf8'));
const sourceRunSet = new Set(committed.runs);

/** Every string in a JSON value, with the path that leads to it. */
function strings(value: unknown, path: string, out: [string, string][] = []): [string, string][] {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) strings(item, `${path}[${index}]`, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) strings(item, `${path}.${key}`, out);
  }
  return out;
}

describe('the knowledge base is written in its own words', () => {
  const seedStrings = readdirSync(seedFolder)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => strings(JSON.parse(readFileSync(join(seedFolder, name), 'utf8')), name));

  it('keeps the hashed runs of both source documents', () => {
    expect(committed.words).toBe(RUN_WORDS);
    expect(committed.documents).toHaveLength(2);
    // about 1,300 words in the two documents give about as many runs
    expect(committed.runs.length).toBeGreaterThan(1000);
    expect(new Set(committed.runs).size).toBe(committed.runs.length);
  });

  it('shares no run of six words with a source, in any seed text', () => {
    // the walk reaches the prose: about 200 rationales, claims, descriptions and prompts are longer than a run
    expect(seedStrings.filter(([, text]) => words(text).length >= RUN_WORDS).length).toBeGreaterThan(150);
    const copied = seedStrings.map(([path, text]) => [path, sharedRun(text, sourceRunSet)] as const).filter(([, run]) => run !== undefined);
    expect(copied).toEqual([]);
  });

  it('finds a run whatever its case, punctuation, hyphens or apostrophes', () => {
    const source = new Set(runHashes('Alpha beta gamma, delta-epsilon zeta; eta theta.'));
    expect(sharedRun('we wrote: ALPHA beta Gamma delta epsilon zeta here', source)).toBe('alpha beta gamma delta epsilon zeta');
    expect(sharedRun('gamma delta, epsilon (zeta) eta theta', source)).toBe('gamma delta epsilon zeta eta theta');
    expect(words('the team\u2019s well-being')).toEqual(['the', "team's", 'well', 'being']);
    // five words of the same run are not a copied phrase
    expect(sharedRun('alpha beta gamma delta epsilon and more', source)).toBeUndefined();
  });

  // Where the source documents are missing (a fresh clone), nothing else ties the hash to the fixture:
  // a changed hash would match no committed run, and the check above would pass whatever seed/ copied.
  it('hashes a run as the committed runs were hashed', () => {
    expect(runHash(['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'])).toBe('9d570ac3fa2cfc8b');
  });

  it.skipIf(!existsSync(defaultSourcesDir))('matches the source documents it was made from', () => {
    expect(sourceRuns(defaultSourcesDir)).toEqual(committed);
  });
});
