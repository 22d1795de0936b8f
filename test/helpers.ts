import { type AppOptions, buildApp } from '../src/app.js';

/** Builds the real app on a fresh, migrated and seeded in-memory database. */
export async function buildTestApp(options: AppOptions = {}) {
  const app = await buildApp({ databasePath: ':memory:', ...options });
  await app.ready();
  return app;
}
