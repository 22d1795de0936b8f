import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { constants, Script } from 'node:vm';

/**
 * A cache file starts with the SHA-256 of the source it was made from (V8's own check is the
 * source's length) and the SHA-256 of V8's data after it (V8 on Node 20 does not check its own
 * checksum), so neither another source nor a damaged file is ever run.
 */
const DIGEST_BYTES = 32;
const HEADER_BYTES = 2 * DIGEST_BYTES;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

export type CachedModule = {
  exports: Record<string, unknown>;
  /** V8 took the compiled code from the cache instead of compiling the source. */
  cacheUsed: boolean;
  /**
   * Writes the cache from everything compiled so far (call it once the program has done its start-up
   * work, so the functions it ran are in it). Best effort: where it cannot write, it warns and goes on.
   */
  saveCache(): void;
};

function cachedData(cacheFile: string, digest: Buffer): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  if (file.length <= HEADER_BYTES || !file.subarray(0, DIGEST_BYTES).equals(digest)) return undefined;
  const data = file.subarray(HEADER_BYTES);
  return sha256(data).equals(file.subarray(DIGEST_BYTES, HEADER_BYTES)) ? data : undefined;
}

/**
 * Runs a self-contained CommonJS file (a bundle: it gets `exports`, `require`, `module`, `__filename`
 * and `__dirname`, but is not registered in `require.cache`) with V8's code cache: the bytecode
 * compiled by an earlier run is read from `cacheFile` rather than compiled again, which is most of
 * the cost of starting a large bundle. A cache made from other source, damaged, or refused by V8
 * (another Node version or other V8 flags) is ignored, and the file is compiled as usual.
 */
export function requireWithCodeCache(file: string, cacheFile: string): CachedModule {
  const source = readFileSync(file);
  const digest = sha256(source);
  const cache = cachedData(cacheFile, digest);
  // The same function wrapper as Node's own CommonJS loader, on the source's first line, so line
  // numbers in stack traces stay those of the file.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source.toString('utf8')}\n})`, {
    filename: file,
    cachedData: cache,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} as Record<string, unknown> };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return {
    exports: module.exports,
    cacheUsed: cache !== undefined && !script.cachedDataRejected,
    saveCache() {
      // Written aside and renamed, so a process starting meanwhile reads the old cache or the new one.
      const partial = `${cacheFile}.${randomUUID()}.tmp`;
      try {
        const data = script.createCachedData();
        writeFileSync(partial, Buffer.concat([digest, sha256(data), data]));
        renameSync(partial, cacheFile);
      } catch (error) {
        try {
          rmSync(partial, { force: true });
        } catch {
          // Nothing more to clear.
        }
        process.emitWarning(`the code cache was not written (the next start compiles again): ${(error as Error).message}`);
      }
    },
  };
}
