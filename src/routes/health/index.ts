import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Health, Readiness } from '../../schemas/meta.js';
import { json, problems } from '../../schemas/responses.js';

const health: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'Liveness: the process is up',
        response: { 200: json(Health, 'The process is up'), ...problems() },
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
        response: { 200: json(Readiness, 'Ready to serve'), 503: json(Readiness, 'Not ready: see checks'), ...problems() },
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
