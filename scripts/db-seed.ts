// Seeds DATABASE_PATH from seed/ (the server also does this when it starts). Idempotent.

import { loadConfig } from '../src/config.js';
import { loadContent } from '../src/content/load.js';
import { openDatabase } from '../src/db/client.js';
import { reusedInstrumentWarning, reusedReleaseWarning, seedDatabase } from '../src/db/seed.js';
import { runCommand, takeNoArguments } from './cli.js';

await runCommand('db:seed', () => {
  takeNoArguments('db:seed');
  const { databasePath } = loadConfig();
  const { sqlite, db } = openDatabase(databasePath);
  try {
    const outcome = seedDatabase(db, loadContent());
    console.log(
      `${outcome.changed ? 'seeded' : 'already current:'} release ${outcome.release} (${outcome.contentHash}) in ${databasePath}`,
    );
    for (const warning of [reusedReleaseWarning(outcome), reusedInstrumentWarning(outcome)]) {
      if (warning !== undefined) console.error(`db:seed: ${warning}`);
    }
  } finally {
    sqlite.close();
  }
});
