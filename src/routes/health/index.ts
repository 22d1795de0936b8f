import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Health, Readiness } from '../../schemas/meta.js';

const health: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'Liveness: the process is up',
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getReadiness',
        summary: 'Readiness: the database answers and every migration is applied',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const ready = app.repository.isReady();
      const body = { status: ready ? ('ready' as const) : ('not-ready' as const), checks: { database: ready, migrations: ready } };
      return reply.code(ready ? 200 : 503).send(body);
    },
  );
};

export default health;
