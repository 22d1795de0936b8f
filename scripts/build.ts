// npm run build [-- outDir]: type-checks src/ (tsconfig.build.json), then bundles the server and its dependencies
// into one ES module, dist/server.js (or <outDir>/server.js), with a source map beside it.
//
// Why a bundle: the server otherwise loads about 700 files from node_modules at every start, and
// resolving and reading them took a third of the time to /ready on an existing database. Only
// better-sqlite3, a native addon, is still loaded from node_modules.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { projectRoot } from '../src/paths.js';

const outDir = resolve(process.argv[2] ?? join(projectRoot, 'dist'));
const outfile = join(outDir, 'server.js');

/**
 * CommonJS packages that find their own files through __dirname or __filename (the API docs' static
 * files, for one) get both back, pointing into node_modules as before. They are computed at run
 * time from the bundle's own location, so a build keeps working wherever the project folder sits.
 */
const moduleLocations: Plugin = {
  name: 'module-locations',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
      const fromBundle = JSON.stringify(relative(outDir, args.path).split('\\').join('/'));
      const locations = `var __filename = __bundleFile(${fromBundle}), __dirname = require('node:path').dirname(__filename);`;
      return { contents: `${locations}\n${source}`, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

execFileSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
  cwd: projectRoot,
  stdio: 'inherit',
});
rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: [join(projectRoot, 'src', 'server.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3'],
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [moduleLocations],
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
