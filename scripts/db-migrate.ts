// Applies pending migrations to DATABASE_PATH (the server also does this when it starts).
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { runCommand, takeNoArguments } from './cli.js';

await runCommand('db:migrate', () => {
  takeNoArguments('db:migrate');
  const { databasePath } = loadConfig();
  const { sqlite } = openDatabase(databasePath);
  sqlite.close();
  console.log(`migrations applied to ${databasePath}`);
});
