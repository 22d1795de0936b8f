import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';

const srcRoot = join(projectRoot, 'src');
/** `import … from 'x'`, `export … from 'x'`, `import 'x'` and `import('x')`. */
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

/** Every TypeScript file under src/, relative to it, with what it imports (relative paths resolved against src/). */
function sourceImports(): { file: string; imports: string[] }[] {
  const files = readdirSync(srcRoot, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
  return files.map((file) => {
    const text = readFileSync(join(srcRoot, file), 'utf8');
    const specifiers = [...text.matchAll(IMPORT)].map((match) => (match[1] ?? match[2] ?? match[3]) as string);
    const imports = specifiers.map((specifier) =>
      specifier.startsWith('.') ? relative(srcRoot, resolve(srcRoot, dirname(file), specifier)) : specifier,
    );
    return { file, imports };
  });
}

const layerOf = (path: string) => path.split('/')[0] ?? '';

describe('the layers of src/', () => {
  const all = sourceImports();

  it('reads the imports of every source file', () => {
    expect(all.length).toBeGreaterThan(40);
    const routes = all.find((entry) => entry.file === 'routes/index.ts');
    expect(routes?.imports).toContain('routes/roles/index.js');
    const store = all.find((entry) => entry.file === 'plugins/store.ts');
    expect(store?.imports).toEqual(expect.arrayContaining(['fastify-plugin', 'db/repository.js', 'domain/knowledge-base.js']));
  });

  it('keeps the domain free of HTTP, schemas, SQL and services: it imports only itself', () => {
    const outside = all
      .filter((entry) => layerOf(entry.file) === 'domain')
      .flatMap((entry) => entry.imports.filter((target) => layerOf(target) !== 'domain').map((target) => `${entry.file} -> ${target}`));
    expect(outside).toEqual([]);
  });

  it('keeps SQLite and drizzle inside src/db', () => {
    const drivers = all
      .filter((entry) => layerOf(entry.file) !== 'db')
      .flatMap((entry) =>
        entry.imports.filter((target) => /^(better-sqlite3|drizzle-orm)(\/|$)/.test(target)).map((target) => `${entry.file} -> ${target}`),
      );
    expect(drivers).toEqual([]);
  });

  it('keeps SQLite and drizzle out of scripts/ too: the commands call src/db', () => {
    const scripts = readdirSync(join(projectRoot, 'scripts')).filter((name) => name.endsWith('.ts'));
    expect(scripts).toContain('db-backup.ts');
    const drivers = scripts.flatMap((name) =>
      [...readFileSync(join(projectRoot, 'scripts', name), 'utf8').matchAll(IMPORT)]
        .map((match) => (match[1] ?? match[2] ?? match[3]) as string)
        .filter((target) => /^(better-sqlite3|drizzle-orm)(\/|$)/.test(target))
        .map((target) => `scripts/${name} -> ${target}`),
    );
    expect(drivers).toEqual([]);
  });

  it('lets no lower layer import the HTTP layers (routes and plugins)', () => {
    const lower = new Set(['domain', 'db', 'services', 'schemas', 'content']);
    const upward = all
      .filter((entry) => lower.has(layerOf(entry.file)))
      .flatMap((entry) =>
        entry.imports.filter((target) => ['routes', 'plugins'].includes(layerOf(target))).map((target) => `${entry.file} -> ${target}`),
      );
    expect(upward).toEqual([]);
  });
});
