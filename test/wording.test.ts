import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSourcesDir, type SourceRuns, sourceRuns, sourceRunsFile } from '../scripts/source-runs.js';
import {
  NEAR_SPAN,
  NEAR_TOKENS,
  nearRunHash,
  nearRunHashes,
  nearWords,
  RUN_WORDS,
  runHash,
  runHashes,
  sharedNearRun,
  sharedRun,
  words,
} from '../scripts/wording.js';
import { seedFolder } from '../src/paths.js';

const committed: SourceRuns = JSON.parse(readFileSync(sourceRunsFile, 'utf8'));
const sourceRunSet = new Set(committed.runs);
const sourceNearRunSet = new Set(committed.near.runs);

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

  it('keeps the hashed near runs of both source documents', () => {
    expect(committed.near.words).toBe(NEAR_TOKENS);
    expect(committed.near.span).toBe(NEAR_SPAN);
    // each of the about 1,300 words starts up to C(7,5) = 21 near runs, less the repeats
    expect(committed.near.runs.length).toBeGreaterThan(15000);
    expect(new Set(committed.near.runs).size).toBe(committed.near.runs.length);
    // a near run is never shorter than a copied phrase: no hash over fewer than six words is kept
    expect(NEAR_TOKENS).toBeGreaterThanOrEqual(RUN_WORDS);
  });

  it('shares no near run with a source, in any seed text', () => {
    const copied = seedStrings
      .map(([path, text]) => [path, sharedNearRun(text, sourceNearRunSet)] as const)
      .filter(([, run]) => run !== undefined);
    expect(copied).toEqual([]);
  });

  describe('near runs', () => {
    // Invented sentences standing in for a source, and rewrites of them; none comes from the source documents.
    const roses = 'Gardeners usually prune the old roses carefully before the first winter frosts arrive in the valley.';
    const bees = 'Beekeepers need deep knowledge of particular hives to resolve problems with the colony.';
    const exact = new Set([...runHashes(roses), ...runHashes(bees)]);
    const near = new Set([...nearRunHashes(roses), ...nearRunHashes(bees)]);

    it('normalises case, endings, fillers, British -ise spellings and common synonyms', () => {
      expect(nearWords('The gardener\u2019s roses are pruned; organising frosts quickly')).toEqual([
        'gardener',
        'ros',
        'prun',
        'organiz',
        'frost',
        'quick',
      ]);
      expect(nearWords('robust expertise in particular')).toEqual(nearWords('strong knowledge in specific'));
    });

    it('finds near-copies that the exact six-word check misses', () => {
      // a word dropped, one inserted and endings changed
      const reshuffled = 'Gardeners typically prune old roses carefully, ahead of the first winter frosts arriving in the valley.';
      expect(sharedRun(reshuffled, exact)).toBeUndefined();
      expect(sharedNearRun(reshuffled, near)).toBe('gardener prun old ros careful first');
      // synonyms swapped in: in-depth expertise, specific, fix
      const synonyms = 'Beekeepers need in-depth expertise of specific hives to fix problems with a colony.';
      expect(sharedRun(synonyms, exact)).toBeUndefined();
      expect(sharedNearRun(synonyms, near)).toBe('beekeeper need deep know of specific');
    });

    it('lets a genuine rewording through', () => {
      expect(sharedNearRun('Before the valley freezes, rose bushes get cut back, and gardeners do it with care.', near)).toBeUndefined();
      expect(sharedNearRun('A colony in trouble calls for a keeper who knows that hive well.', near)).toBeUndefined();
      // five of the source's words in its order are not a near run
      expect(sharedNearRun('Gardeners prune old roses before frost.', near)).toBeUndefined();
    });

    // As for exact runs: where the source documents are missing, this ties the normalising and hashing to the fixture.
    it('hashes a near run as the committed near runs were hashed', () => {
      expect(nearRunHash(['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'])).toBe('f898baace66bd7c4');
      expect(nearRunHashes('Alpha betas, the gamma; deltas epsilon zeta')[0]).toBe(
        nearRunHash(['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']),
      );
    });
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
