// npm run build [-- outDir]: type-checks src/ (tsconfig.build.json), then bundles the server and its
// dependencies into one ES module, dist/server.js (or <outDir>/server.js), with a source map beside it.
//
// Why a bundle: the server otherwise loads about 700 files from node_modules at every start, and
// resolving and reading them took a third of the time to /ready on an existing database.
// node_modules is still needed at run time: better-sqlite3 (a native addon) loads from it, and the
// API docs serve their static files from it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { projectRoot } from '../src/paths.js';

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
// dist/ is the build's own folder (it also clears what older builds left there); another folder
// only loses the bundle's two files.
if (requested === defaultOutDir) rmSync(requested, { recursive: true, force: true });
for (const file of ['server.js', 'server.js.map']) rmSync(join(requested, file), { force: true });
mkdirSync(requested, { recursive: true });
// Relative paths are taken between real paths, as Node resolves the running bundle's own URL.
const outDir = realpathSync(requested);
await build({
  entryPoints: [join(projectRoot, 'src', 'server.ts')],
  outfile: join(outDir, 'server.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3'],
  // Lines in stack traces map back to src/ and node_modules, whose files are on disk beside it.
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
  plugins: [moduleLocations(outDir)],
  // The CommonJS packages inside an ES module still need `require` (for Node's own modules).
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      'const require = __createRequire(import.meta.url);',
      'const __bundleFile = (path) => __fileURLToPath(new URL(path, import.meta.url));',
    ].join('\n'),
  },
});
