import fp from 'fastify-plugin';
import { CachedFront } from '../cached-front.js';
import { answerFirst } from '../http-edges.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Answers repeated reads before Fastify routes them (see CachedFront). */
    cachedFront: CachedFront;
  }
}

/**
 * Puts the cached front (and the raw-HTTP checks before it) ahead of Fastify on its server, and
 * opens it once the app is ready. It stays closed while the server logs requests at `info` or
 * finer, so that every request goes through Fastify and its log; it sends requests to Fastify,
 * which sheds them, while the server is under pressure, and closes as the server starts to close
 * (after the protection plugin refuses new requests).
 */
export default fp(
  async (app) => {
    const front = new CachedFront();
    answerFirst(app.server, front, () => app.isShuttingDown());
    app.decorate('cachedFront', front);
    if (['trace', 'debug', 'info'].includes(app.log.level)) return;
    app.addHook('onReady', async () => front.open(() => app.isUnderPressure()));
    app.addHook('preClose', async () => front.close());
  },
  { name: 'cached-front', dependencies: ['protection'] },
);
