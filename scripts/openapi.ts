// Writes the OpenAPI document the app generates to openapi/openapi.json, and the TypeScript types
// that openapi-typescript derives from it to openapi/api.d.ts (for typed clients).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { projectRoot } from '../src/paths.js';
import { generateClientTypes } from './client-types.js';

const app = await buildApp();
await app.ready();
const document = app.swagger();
await app.close();

const jsonFile = join(projectRoot, 'openapi', 'openapi.json');
writeFileSync(jsonFile, `${JSON.stringify(document, null, 2)}\n`);
const typesFile = join(projectRoot, 'openapi', 'api.d.ts');
writeFileSync(typesFile, await generateClientTypes(document));
console.log(`wrote ${jsonFile} and ${typesFile}`);
