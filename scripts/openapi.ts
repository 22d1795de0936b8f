// Writes the OpenAPI document the app generates to openapi/openapi.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { projectRoot } from '../src/paths.js';

const app = await buildApp();
await app.ready();
const file = join(projectRoot, 'openapi', 'openapi.json');
writeFileSync(file, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
console.log(`wrote ${file}`);
