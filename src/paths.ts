import { fileURLToPath } from 'node:url';

// src/paths.ts and the bundle, dist/server.bundle.cjs, sit one level below the project root, so both resolve to it.
export const projectRoot = fileURLToPath(new URL('../', import.meta.url));
export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));
export const seedFolder = fileURLToPath(new URL('../seed', import.meta.url));
