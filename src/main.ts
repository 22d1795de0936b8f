// The entry for `npm run dev` (tsx, from the sources); production runs the bundle through launcher.ts.
import { startServer } from './server.js';

await startServer();
