// npm run build [-- outDir]: type-checks src/ (tsconfig.build.json), then bundles the server and its
// dependencies into one CommonJS file, dist/server.bundle.cjs (or <outDir>/...), with a source map
// beside it, and the entry that runs it, dist/server.js (src/launcher.ts). Last, it starts the built
// server once on a throwaway database, so that the server writes V8's code cache for the bundle
// (dist/server.bundle.cache), and every start after it skips compiling the bundle.
//
// Why a bundle: the server otherwise loads about 700 files from node_modules at every start, and
// resolving and reading them took a third of the time to /ready on an existing database.
// node_modules is still needed at run time: better-sqlite3 (a native addon) loads from it, and the
// API docs serve their static files from it. The bundle is CommonJS because V8's code cache can be
// used, on Node 20, only for scripts compiled through node:vm, not for ES modules.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build, type Plugin } from 'esbuild';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';

const defaultOutDir = join(projectRoot, 'dist');
const requested = resolve(process.argv[2] ?? defaultOutDir);
// The project's own folder or one above it would lose more than the bundle's files.
if (!relative(requested, projectRoot).startsWith('..')) {
  throw new Error(`the build folder must not hold the project: ${requested}`);
}

/** Declares __dirname or __filename itself, or is an ES module: left as it is. */
const OWN_LOCATIONS = /\b(?:const|let|var|function|class)\s+__(?:dirname|filename)\b|\bimport\.meta\b/;

/**
 * CommonJS packages that find their own files through __dirname or __filename (the API docs' static
 * files, for one) get both back, pointing into node_modules as before. They are computed at run
 * time from the bundle's own location, so a build keeps working wherever the project folder sits.
 * The definitions go on the file's first line (after a `#!` line), so its source map still lines up.
 */
function moduleLocations(outDir: string): Plugin {
  return {
    name: 'module-locations',
    setup(esbuild) {
      esbuild.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!/\b__(?:dirname|filename)\b/.test(source) || OWN_LOCATIONS.test(source)) return undefined;
        const fromBundle = JSON.stringify(relative(outDir, args.path).split('\\').join('/'));
        const locations = `var __filename = __bundleFile(${fromBundle}), __dirname = require('node:path').dirname(__filename);`;
        const shebang = source.startsWith('#!') ? source.slice(0, source.indexOf('\n') + 1) : '';
        return { contents: `${shebang}${locations}${source.slice(shebang.length)}`, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

execFileSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
  cwd: projectRoot,
  stdio: 'inherit',
});
const BUILT_FILES = ['server.js', 'server.bundle.cjs', 'server.bundle.cjs.map', 'server.bundle.cache'];

/** Starts the built server on a throwaway database until it has written its code cache, then stops it. */
async function writeCodeCache(outDir: string): Promise<void> {
  const cacheFile = join(outDir, 'server.bundle.cache');
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-build-'));
  // Only what the start needs: the shell's own settings could fail it or slow its shutdown.
  // Under the flags `npm start` runs it with: V8 refuses a cache made under others.
  const server = spawn(process.execPath, [...SERVER_NODE_FLAGS, join(outDir, 'server.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: join(dataDir, 'warm-up.sqlite'),
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  let failure: Error | undefined;
  server.once('error', (error) => {
    failure = error;
  });
  const exited = new Promise((resolve) => {
    server.once('close', resolve);
    server.once('error', resolve);
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!existsSync(cacheFile)) {
      if (failure) throw failure;
      if (server.exitCode !== null || server.signalCode !== null) {
        throw new Error(`the built server failed to start (${server.exitCode ?? server.signalCode}):\n${stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`the built server wrote no code cache within a minute:\n${stderr}`);
      await sleep(20);
    }
  } finally {
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// dist/ is the build's own folder (it also clears what older builds left there); another folder
// only loses the build's own files.
if (requested === defaultOutDir) rmSync(requested, { recursive: true, force: true });
for (const file of BUILT_FILES) rmSync(join(requested, file), { force: true });
mkdirSync(requested, { recursive: true });
// Relative paths are taken between real paths, as Node resolves the running bundle's own path.
const outDir = realpathSync(requested);
const forNode = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' } as const;
await build({
  ...forNode,
  entryPoints: [join(projectRoot, 'src', 'server.ts')],
  outfile: join(outDir, 'server.bundle.cjs'),
  format: 'cjs',
  external: ['better-sqlite3'],
  // For tools that map the bundle's lines back to src/ and node_modules (Node 20 itself does not
  // apply source maps to code run through node:vm).
  sourcemap: 'linked',
  sourcesContent: false,
  plugins: [moduleLocations(outDir)],
  // The sources are ES modules: the whole bundle runs in strict mode (the directive must come
  // first; esbuild's own comes after the banner), and import.meta.url is the bundle's own URL.
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: {
    js: [
      '"use strict";',
      "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;",
      "const __bundleFile = (path) => require('node:path').join(__dirname, path);",
    ].join('\n'),
  },
});
await build({ ...forNode, entryPoints: [join(projectRoot, 'src', 'launcher.ts')], outfile: join(outDir, 'server.js'), format: 'esm' });
await writeCodeCache(outDir);
