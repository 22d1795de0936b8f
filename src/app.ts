import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyReply, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Content } from './content/load.js';
import type { Synchronous } from './db/client.js';
import { problemBody } from './errors.js';
import { projectRoot } from './paths.js';
import errors from './plugins/errors.js';
import { transformObject } from './plugins/openapi-components.js';
import responseCache from './plugins/response-cache.js';
import store from './plugins/store.js';
import routes from './routes/index.js';

export type AppOptions = {
  /** SQLite file; `:memory:` (the default) gives a fresh database, as tests want. */
  databasePath?: string;
  synchronous?: Synchronous;
  logger?: FastifyServerOptions['logger'];
  corsOrigins?: '*' | string[];
  /** Content to seed instead of the files under seed/. */
  content?: Content;
  /** Largest body, in bytes, of POST /v1/assessments/batch. */
  batchBodyLimit?: number;
};

const apiVersion: string = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version;

/** Builds the whole application without listening: the server and the tests both use it. */
export async function buildApp(options: AppOptions = {}) {
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 500 },
    // Malformed URLs are rejected by the router before any hook runs: answer them as problems too.
    frameworkErrors: (error, request, reply) => {
      const body = problemBody(request, { status: 400, code: 'bad-url', title: 'Bad Request', detail: error.message });
      (reply as FastifyReply).code(400).type('application/problem+json').send(JSON.stringify(body));
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(errors);
  await app.register(helmet, {
    // The docs page needs its own scripts and styles; everything is served from this origin.
    contentSecurityPolicy: {
      directives: {
        upgradeInsecureRequests: null,
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
      },
    },
  });
  await app.register(cors, {
    origin: options.corsOrigins ?? '*',
    methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    exposedHeaders: ['ETag', 'Location', 'X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Role Competency API',
        version: apiVersion,
        description:
          'An evidence-backed knowledge base about engineering leadership roles (Tech Lead, Engineering Manager) ' +
          'at startups, scale-ups and big tech, with side-by-side comparisons and a scored self-assessment.',
      },
      tags: [
        { name: 'roles', description: 'Roles and what each expects of every competency' },
        { name: 'competencies', description: 'Competencies, with filters, and their levels per role and company size' },
        { name: 'company-sizes', description: 'Company sizes at which the roles are compared' },
        { name: 'comparisons', description: 'Side-by-side comparisons of roles, at a company size or across all of them' },
        { name: 'assessments', description: 'The self-assessment: questions, scoring, stored results' },
        { name: 'meta', description: 'Versions and counts' },
        { name: 'operations', description: 'Liveness and readiness probes' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(store, {
    databasePath: options.databasePath ?? ':memory:',
    synchronous: options.synchronous,
    content: options.content,
  });
  await app.register(responseCache);
  await app.register(routes, { apiVersion, batchBodyLimit: options.batchBodyLimit ?? 4 * 1024 * 1024 });
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
