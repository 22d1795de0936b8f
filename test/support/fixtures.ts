import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFolder } from '../../src/paths.js';

/** The raw JSON of one file under seed/, read without the loader so tests do not trust it. */
// biome-ignore lint/suspicious/noExplicitAny: seed files are plain JSON that each test shapes as it needs.
export function readSeedJson<T = any>(file: string, folder: string = seedFolder): T {
  return JSON.parse(readFileSync(join(folder, file), 'utf8')) as T;
}

export type RawCitation = { source: string; claim: string };
export type RawExpectation = {
  role: string;
  competency: string;
  level: number;
  rationale: string;
  editorial?: boolean;
  citations?: RawCitation[];
};
export type RawVariant = RawExpectation & { companySize: string };
export type RawQuestion = { id: string; prompt: string; competency: string; keyed: 'plus' | 'minus' };

/** Everything in seed/, read raw. */
export function readRawSeed(folder: string = seedFolder) {
  return {
    release: readSeedJson<{ release: string }>('release.json', folder).release,
    sources: readSeedJson<{ id: string; title: string; kind: string; summary: string }[]>('sources.json', folder),
    roles: readSeedJson<{ slug: string; name: string; summary: string; typicalDay: string }[]>('roles.json', folder),
    companySizes: readSeedJson<{ slug: string; name: string; headcountMin: number; headcountMax: number | null; description: string }[]>(
      'company-sizes.json',
      folder,
    ),
    competencies: readSeedJson<{ slug: string; name: string; category: string; description: string }[]>('competencies.json', folder),
    expectations: readSeedJson<RawExpectation[]>('expectations.json', folder),
    variants: readSeedJson<RawVariant[]>('variants.json', folder),
    questions: readSeedJson<{ instrumentVersion: string; questions: RawQuestion[] }>('questions.json', folder),
  };
}

/** Temporary directories under the OS temp folder, removed by `cleanup()`. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'rc-api-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A fresh copy of seed/ that a test may corrupt. */
  seedCopy(): string {
    const dir = this.make('rc-api-seed-');
    cpSync(seedFolder, dir, { recursive: true });
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a JSON file in `folder`, lets `mutate` change it (or return a replacement), and writes it back. */
// biome-ignore lint/suspicious/noExplicitAny: the callers know the shape of the file they edit.
export function editJson(folder: string, file: string, mutate: (data: any) => unknown): void {
  const path = join(folder, file);
  const data = JSON.parse(readFileSync(path, 'utf8'));
  const replaced = mutate(data);
  writeFileSync(path, JSON.stringify(replaced === undefined ? data : replaced, null, 2));
}

export function writeRaw(folder: string, file: string, text: string): void {
  writeFileSync(join(folder, file), text);
}
