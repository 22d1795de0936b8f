// Holds the drizzle schema (what `npm run db:generate`
// diffs against) to the tables the migrations build.
import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { expect, it } from 'vitest';
import * as schema from '../src/db/schema.js';
import { buildTestApp } from './helpers.js';

// Guards against: a column declared in schema.ts other than the migrations made it (assessment_ids
// declared notNull would have the next generated migration rebuild idempotency_keys so that a batch
// whose items were all refused, kept with null ids, could no longer be stored).
it('declares every table with the columns, and their nullability, that the migrations give it', async () => {
  const app = await buildTestApp();
  try {
    const tables = Object.values(schema).filter((value) => is(value, SQLiteTable));
    expect(tables.length).toBeGreaterThan(10);
    for (const table of tables) {
      const { name, columns } = getTableConfig(table as SQLiteTable);
      const migrated = app.repository.sqlite.pragma(`table_info(${name})`) as { name: string; notnull: number; pk: number }[];
      const nullable = (c: { notnull: number; pk: number }) => c.notnull === 0 && c.pk === 0;
      expect(Object.fromEntries(columns.map((c) => [c.name, !c.notNull && !c.primary])), name).toEqual(
        Object.fromEntries(migrated.map((c) => [c.name, nullable(c)])),
      );
    }
  } finally {
    await app.close();
  }
});
