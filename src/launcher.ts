// The production entry, built into dist/server.js. It runs the server's bundle (server.bundle.cjs
// beside it) from V8's code cache (server.bundle.cache): compiling the 3.6 MB bundle at every start
// took a third of the time to /ready on an existing database. The build makes the cache by starting
// the server once; when it is missing or refused, the server writes it again once it listens.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireWithCodeCache } from './code-cache.js';
import type { startServer } from './server.js';

const folder = dirname(fileURLToPath(import.meta.url));
const bundle = requireWithCodeCache(join(folder, 'server.bundle.cjs'), join(folder, 'server.bundle.cache'));
await (bundle.exports.startServer as typeof startServer)();
if (!bundle.cacheUsed) bundle.saveCache();
