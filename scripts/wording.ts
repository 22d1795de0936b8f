// Checks that the knowledge base is written in its own words. Two tests use it:
// - an exact one: a text shares no run of RUN_WORDS words with either source document;
// - a near one: a text shares no "near run" with them, that is NEAR_TOKENS words in the source's
//   order within NEAR_SPAN words on both sides, after the words are normalised (case, common
//   endings, a few filler words, a few synonyms). It catches a source sentence with words swapped
//   for synonyms or one or two words inserted, which the exact test misses.
// The sources are not part of the repository, so what is kept of them is one short hash per run
// and per near run (test/fixtures/source-runs.json), each over six words or more, from which no
// sentence can be read back.
import { createHash } from 'node:crypto';

/** Six words in a row is a copied phrase; five would already flag the roles' own names, "tech leads and engineering managers". */
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

/** A near run: this many normalised words, kept in order… */
export const NEAR_TOKENS = 6;
/** …within this many consecutive normalised words (so up to two words inserted or swapped in between). */
export const NEAR_SPAN = 8;

/** Words that carry no fact and are the first to change in a paraphrase: articles, forms of "be", hedges and intensifiers. */
const FILLERS = new Set([
  ...['a', 'an', 'the', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'am'],
  ...['very', 'highly', 'really', 'quite', 'also', 'often', 'typically', 'usually', 'some'],
  ...['their', 'its', 'his', 'her', 'this', 'that', 'these', 'those'],
]);

/** Crude stemming: British -is- spellings as -iz-, then one common ending off, and a final e. */
export function stem(word: string): string {
  let stemmed = word
    .replace(/'/g, '')
    .replace(/isation(s?)$/, 'ization$1')
    .replace(/is(e|es|ed|ing)$/, 'iz$1');
  for (const ending of ['ingly', 'edly', 'ing', 'ed', 'ies', 'es', 'ly', 's']) {
    if (stemmed.length - ending.length >= 3 && stemmed.endsWith(ending)) {
      stemmed = stemmed.slice(0, -ending.length) + (ending === 'ies' ? 'y' : '');
      break;
    }
  }
  return stemmed.length > 3 && stemmed.endsWith('e') ? stemmed.slice(0, -1) : stemmed;
}

/** Common synonym swaps, each group read as its first word. */
const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['know', 'knowledge', 'expertise', 'understanding'],
  ['strong', 'robust', 'great', 'solid'],
  ['deep', 'depth'],
  ['specific', 'particular', 'certain'],
  ['broad', 'broader', 'wide', 'wider'],
  ['encourage', 'promote', 'foster'],
  ['work', 'collaborate', 'cooperate', 'partner'],
  ['goal', 'objective', 'aim', 'target'],
  ['fix', 'resolve', 'repair', 'remedy'],
  ['build', 'establish', 'create'],
  ['help', 'assist', 'support', 'aid'],
];
const synonymOf = new Map(SYNONYM_GROUPS.flatMap((group) => group.map((word) => [stem(word), stem(group[0]!)] as const)));

/** A text's words as the near check compares them: possessive 's and fillers dropped, stemmed, synonyms merged. */
export function nearWords(text: string): string[] {
  return words(text)
    .map((word) => word.replace(/'s$/, ''))
    .filter((word) => !FILLERS.has(word))
    .map((word) => {
      const stemmed = stem(word);
      return synonymOf.get(stemmed) ?? stemmed;
    })
    .filter((word) => word.length > 0);
}

/** Every near run of a text once: each word, with NEAR_TOKENS - 1 of the NEAR_SPAN - 1 words after it, in order. */
export function nearRuns(text: string): string[][] {
  const list = nearWords(text);
  const runs: string[][] = [];
  const pick = (first: number, from: number, to: number, chosen: number[]) => {
    if (chosen.length === NEAR_TOKENS - 1) {
      runs.push([list[first]!, ...chosen.map((index) => list[index]!)]);
      return;
    }
    for (let index = from; index < to; index += 1) pick(first, index + 1, to, [...chosen, index]);
  };
  for (let first = 0; first < list.length; first += 1) pick(first, first + 1, Math.min(list.length, first + NEAR_SPAN), []);
  return runs;
}

/** Near runs are hashed apart from exact runs ("~" first), so the two lists never mix. */
export function nearRunHash(run: readonly string[]): string {
  return createHash('sha256')
    .update(`~${run.join(' ')}`)
    .digest('hex')
    .slice(0, 16);
}

export function nearRunHashes(text: string): string[] {
  return nearRuns(text).map(nearRunHash);
}

/** The first near run of a text found among the given hashes, in normalised words, or undefined. */
export function sharedNearRun(text: string, sourceNearRuns: ReadonlySet<string>): string | undefined {
  return nearRuns(text)
    .find((run) => sourceNearRuns.has(nearRunHash(run)))
    ?.join(' ');
}
