import { type AppOptions, buildApp } from '../src/app.js';

/**
 * Builds the real app on a fresh, migrated and seeded in-memory database. Load shedding waits for
 * a minute of event-loop delay unless a test asks for less: a machine running the suites in
 * parallel can stall a loop past the server's default second, and a 503 there would fail tests of
 * other things. The load-shedding tests set their own limit.
 */
export async function buildTestApp(options: AppOptions = {}) {
  const app = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000, ...options });
  await app.ready();
  return app;
}
