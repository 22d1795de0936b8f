import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NoQuery } from '../../schemas/common.js';
import { Health, Readiness } from '../../schemas/meta.js';
import { Problem } from '../../schemas/problem.js';
import { json, problems, RETRY_AFTER } from '../../schemas/responses.js';

const health: FastifyPluginAsyncZod = async (app) => {
  // The probes answer even under pressure: /ready says so itself.
  const config = { pressureHandler: () => undefined };
  // A probe's answer holds for the moment it was made: no cache may keep it.
  const NO_STORE = {
    'cache-control': {
      type: 'string' as const,
      required: true as const,
      description: '`no-store`: the answer holds for the moment it was made',
    },
  };

  app.get(
    '/health',
    {
      config,
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'Liveness: the process is up',
        description:
          'Checks nothing but that the process answers (not the database), and answers 200 under load too, when other requests ' +
          'are shed: for a liveness probe. While the server shuts down it answers a 503 problem.',
        querystring: NoQuery,
        response: { 200: json(Health, 'The process is up', NO_STORE), ...problems(400) },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config,
      schema: {
        tags: ['operations'],
        operationId: 'getReadiness',
        summary: 'Readiness: the database answers, every migration is applied and writes are not failing',
        description:
          'Answers 503 with the same body, `status: not-ready`, when a check fails: the database file is gone or does not ' +
          "answer (`database`), its migrations are not exactly this build's (`migrations`), a write failed for its storage in " +
          'the last 10 s with none succeeding since (`storage`), or the event-loop delay is past `MAX_EVENT_LOOP_DELAY_MS`, so ' +
          'that requests are shed (`underPressure`). Answered under load too; while the server shuts down, a 503 problem instead.',
        querystring: NoQuery,
        response: {
          ...problems(400),
          200: json(Readiness, 'Ready to serve', NO_STORE),
          // Not ready is the probe's own answer; shutting down is the problem every route answers then.
          503: {
            description: 'Not ready (`checks` says why), or shutting down (a problem with Retry-After)',
            content: { 'application/json': { schema: Readiness }, 'application/problem+json': { schema: Problem } },
            headers: {
              'cache-control': {
                type: 'string',
                description: '`no-store`, with the not-ready answer (not with the shutting-down problem)',
              },
              'retry-after': { ...RETRY_AFTER['retry-after'], description: 'Sent with the shutting-down problem only' },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      const { database, migrations, storage } = app.repository.readiness();
      const underPressure = app.isUnderPressure();
      const ready = database && migrations && storage && !underPressure;
      const body = {
        status: ready ? ('ready' as const) : ('not-ready' as const),
        checks: { database, migrations, storage, underPressure },
      };
      return reply
        .code(ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .send(body);
    },
  );
};

export default health;
