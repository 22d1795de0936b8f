import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { requireWithCodeCache } from '../src/code-cache.js';
import { projectRoot } from '../src/paths.js';
import { TempDirs } from './support/fixtures.js';

const temp = new TempDirs();
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();
afterAll(() => temp.cleanup());

// Each load runs in a process of its own: within one process V8 keeps compiled scripts in memory,
// so whether it took the code from the cache file could not be told apart.
const runner = `
import { requireWithCodeCache } from ${JSON.stringify(join(projectRoot, 'src', 'code-cache.ts'))};
const [file, cacheFile, save] = process.argv.slice(2);
const loaded = requireWithCodeCache(file, cacheFile);
if (save === 'save') loaded.saveCache();
console.log(JSON.stringify({ cacheUsed: loaded.cacheUsed, exports: loaded.exports }));
`;

type Loaded = { cacheUsed: boolean; exports: { value: number; file: string; dir: string; separator: string; self: boolean } };

function load(dir: string, save = false): Loaded {
  const runnerFile = join(dir, 'runner.mts');
  if (!existsSync(runnerFile)) writeFileSync(runnerFile, runner);
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', runnerFile, join(dir, 'module.cjs'), join(dir, 'module.cache'), save ? 'save' : ''],
    { cwd: projectRoot, encoding: 'utf8' },
  );
  return JSON.parse(output) as Loaded;
}

/** A CommonJS file with enough functions for V8's cache to hold something; `value` is what it exports. */
function writeModule(dir: string, value: number): void {
  const helpers = Array.from({ length: 50 }, (_, i) => `function helper${i}(x) { return x + ${i}; }`).join('\n');
  writeFileSync(
    join(dir, 'module.cjs'),
    `${helpers}\nmodule.exports = { value: helper0(${value}), file: __filename, dir: __dirname, separator: require('node:path').sep, self: exports === module.exports };\n`,
  );
}

/** Writes a module exporting `value` and its cache, edits the cache file, and loads again. */
function loadWithEditedCache(value: number, edit: (cache: Buffer) => void): Loaded {
  const dir = temp.make();
  writeModule(dir, value);
  load(dir, true);
  const cache = readFileSync(join(dir, 'module.cache'));
  edit(cache);
  writeFileSync(join(dir, 'module.cache'), cache);
  return load(dir);
}

describe('requireWithCodeCache', () => {
  it('runs a CommonJS file, writes its cache, and a later process uses the cache', () => {
    const dir = temp.make();
    writeModule(dir, 41);
    const first = load(dir, true);
    expect(first.cacheUsed).toBe(false);
    expect(first.exports).toEqual({ value: 41, file: join(dir, 'module.cjs'), dir, separator: '/', self: true });
    const cache = readFileSync(join(dir, 'module.cache'));
    expect(cache.subarray(0, 32)).toEqual(sha256(readFileSync(join(dir, 'module.cjs'))));
    expect(cache.subarray(32, 64)).toEqual(sha256(cache.subarray(64)));
    expect(cache.length).toBeGreaterThan(64);

    const second = load(dir);
    expect(second.cacheUsed).toBe(true);
    expect(second.exports.value).toBe(41);
  });

  it('ignores a cache made from other source of the same length, and runs the new source', () => {
    const dir = temp.make();
    writeModule(dir, 41);
    load(dir, true);
    // Same length: V8's own check (the source's length) would take the old code.
    writeModule(dir, 97);
    const changed = load(dir);
    expect(changed.cacheUsed).toBe(false);
    expect(changed.exports.value).toBe(97);
  });

  it('ignores a damaged cache', () => {
    // One byte in the middle of V8's data: V8 on Node 20 would not notice.
    const loaded = loadWithEditedCache(7, (cache) => {
      const middle = cache.length >> 1;
      cache.writeUInt8(cache.readUInt8(middle) ^ 0xff, middle);
    });
    expect(loaded.cacheUsed).toBe(false);
    expect(loaded.exports.value).toBe(7);
  });

  it('compiles the source when V8 refuses the cache', () => {
    // V8's own header no longer matches, while both digests do.
    const loaded = loadWithEditedCache(8, (cache) => {
      cache.fill(0x5a, 64, 64 + 16);
      sha256(cache.subarray(64)).copy(cache, 32);
    });
    expect(loaded.cacheUsed).toBe(false);
    expect(loaded.exports.value).toBe(8);
  });

  it('warns and leaves nothing behind when the cache cannot be written', () => {
    const dir = temp.make();
    writeModule(dir, 3);
    const loaded = requireWithCodeCache(join(dir, 'module.cjs'), join(dir, 'missing-folder', 'module.cache'));
    expect(loaded.exports.value).toBe(3);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      expect(() => loaded.saveCache()).not.toThrow();
      expect(warn).toHaveBeenCalledOnce();
      expect(String(warn.mock.calls[0]?.[0])).toContain('code cache was not written');
    } finally {
      warn.mockRestore();
    }
    expect(readdirSync(dir)).toEqual(['module.cjs']);
  });
});
