import { fileURLToPath } from 'node:url';

// src/paths.ts and dist/paths.js sit at the same depth, so both resolve to the project root.
export const projectRoot = fileURLToPath(new URL('../', import.meta.url));
export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));
export const seedFolder = fileURLToPath(new URL('../seed', import.meta.url));
