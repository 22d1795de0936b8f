import type { FastifyPluginAsync } from 'fastify';
import health from './health/index.js';
import meta from './meta/index.js';

/** Every resource's routes, registered explicitly. */
const routes: FastifyPluginAsync<{ apiVersion: string }> = async (app, options) => {
  await app.register(health);
  await app.register(meta, options);
};

export default routes;
