import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import { failsIfMatch } from '../conditional.js';
import { ApiError } from '../errors.js';
import { NoQuery, NotModified } from '../schemas/common.js';
import { OpenApiDocument } from '../schemas/meta.js';
import { json, problems } from '../schemas/responses.js';
import { compressStaticFiles, inside } from '../static-compression.js';
import { transform, transformObject } from './openapi-components.js';

/** Whether `path`, relative to `root`, names `root` itself or a file or folder in it (looked up only for a request with an If-Match). */
function existsUnder(root: string, path: string | undefined): boolean {
  if (path === undefined) return false;
  const target = inside(root, path, true);
  return target !== undefined && statSync(target, { throwIfNoEntry: false }) !== undefined;
}

/**
 * The OpenAPI 3.1 document of every route, served at /openapi.json and browsable at /docs. It is
 * registered before the routes, so that the document sees each of them. /openapi.json is sent through
 * the response cache (a decorator registered after this plugin): built once, on its first request.
 */
export default fp<{ apiVersion: string }>(
  async (app, { apiVersion }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Role Competency API',
          version: apiVersion,
          description:
            'An evidence-backed knowledge base about engineering leadership roles (Tech Lead, Engineering Manager) ' +
            'at startups, scale-ups and big tech, with side-by-side comparisons and a scored self-assessment. ' +
            'Errors are `application/problem+json`; `/problems/{code}` explains each kind. A path no operation below has ' +
            'is a 404; a method a path does not take is a 405 whose `Allow` header names the ones it does, and an `OPTIONS` ' +
            'request that is not a CORS preflight is answered 204 with that `Allow`. Every GET below is also answered to `HEAD`, ' +
            'with the headers of its GET and no body; a `HEAD` 304 carries the `Content-Type`, `Content-Encoding` and ' +
            '`Content-Length` of the 200 it stands for.',
        },
        tags: [
          { name: 'roles', description: 'Roles and what each expects of every competency' },
          { name: 'competencies', description: 'Competencies, with filters, and their levels per role and company size' },
          { name: 'company-sizes', description: 'Company sizes at which the roles are compared' },
          { name: 'sources', description: 'The documents behind every level and question' },
          { name: 'comparisons', description: 'Side-by-side comparisons of roles, at a company size or across all of them' },
          { name: 'assessments', description: 'The self-assessment: questions, scoring, stored results' },
          { name: 'exports', description: 'A whole release at once, as JSON or as a spreadsheet' },
          { name: 'meta', description: 'Versions and counts' },
          { name: 'operations', description: 'Liveness and readiness probes' },
        ],
      },
      transform,
      transformObject,
    });
    // Served like the knowledge base: built once, compressed once, with an ETag that answers If-None-Match.
    const sendDocument = (request: FastifyRequest, reply: FastifyReply) =>
      app.sendCachedText(request, reply, 'openapi.json', 'application/json; charset=utf-8', () => JSON.stringify(app.swagger()));
    const docsPrefix = '/docs';
    const documentRoutes = [`${docsPrefix}/json`, `${docsPrefix}/yaml`];
    // Where the UI's static route finds its files: the folder of the package, as it does.
    const staticRoot = join(dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui')), 'static');
    // The UI in a context of its own, so that its hooks run on its routes only.
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        // The UI's document routes take no query, as /openapi.json takes none.
        if (documentRoutes.includes(route.url)) route.schema = { ...route.schema, querystring: NoQuery };
        // The UI sends its old page address to the page, but only without a query: with one, it sent
        // the address back to itself, and a browser followed it until it gave up.
        if (route.url === `${docsPrefix}/static/index.html`) {
          route.handler = (request, reply) => reply.redirect(`${docsPrefix}/${queryOf(request.url)}`);
        }
        // The page's settings script, which the UI builds once as text and sends plain with no
        // validator: sent from the response cache instead, compressed and with an ETag, as the
        // page's other scripts are.
        if (route.url === `${docsPrefix}/static/swagger-initializer.js`) {
          const text = constantTextOf(route.handler);
          if (text !== undefined) {
            route.handler = (request, reply) =>
              app.sendCachedText(request, reply, 'swagger-initializer.js', 'application/javascript; charset=utf-8', () => text);
          }
        }
      });
      // A static file's codings share its one weak ETag and its Last-Modified, so no If-Range can tell
      // which coding a client is resuming (a weak tag never matches one at all, RFC 9110, 13.1.5):
      // with an If-Range the range is ignored and the whole file sent, where the file server would
      // send a range of the plain file to a client resuming a compressed one.
      // For the same reason no If-Match but `*` holds for a file (RFC 9110, 13.1.1 compares it
      // strongly), where the file server would take the file's own weak tag as a match.
      docs.addHook('onRequest', (request, _reply, done) => {
        if (request.headers['if-range'] !== undefined) delete request.headers.range;
        if (request.routeOptions.url === `${docsPrefix}/static/*`) {
          // For what is there: a missing file is a 404 whatever the If-Match (RFC 9110, 13.2.1).
          if (failsIfMatch(request.headers['if-match'], undefined) && existsUnder(staticRoot, (request.params as { '*'?: string })['*'])) {
            return done(
              new ApiError(
                'precondition-failed',
                'If-Match names a tag, and a file of the docs page has only a weak one, which never matches.',
              ),
            );
          }
          // An If-Match that held settles the precondition: If-Unmodified-Since counts only without
          // one (RFC 9110, 13.2.2), where the file server would weigh it all the same.
          if (request.headers['if-match'] !== undefined) delete request.headers['if-unmodified-since'];
          // A request's `Cache-Control: no-cache` is for the caches on its way, not for this server: a
          // matching If-None-Match is a 304 all the same, as on the API's reads, where the file server
          // would send the whole file.
          delete request.headers['cache-control'];
        }
        done();
      });
      docs.addHook('onSend', compressStaticFiles(`${docsPrefix}/static/`, staticRoot));
      await docs.register(swaggerUi, {
        routePrefix: docsPrefix,
        // The UI's own /docs/json and /docs/yaml would serialize the document on every visit and send
        // it uncompressed, without an ETag: /docs/json sends the bytes, ETag and codings of
        // /openapi.json, and /docs/yaml the YAML, built and compressed once in the same way.
        uiHooks: {
          preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
            const url = request.routeOptions.url;
            if (url === documentRoutes[0]) return sendDocument(request, reply);
            if (url === documentRoutes[1]) {
              return app.sendCachedText(request, reply, 'openapi.yaml', 'application/yaml', () => app.swagger({ yaml: true }));
            }
          },
        },
      });
    });
    app.get(
      '/openapi.json',
      {
        schema: {
          tags: ['meta'],
          operationId: 'getOpenApiDocument',
          summary: 'This document: every operation of the API, in OpenAPI 3.1',
          description:
            'The same document is browsable at `/docs`, and served as YAML at `/docs/yaml`. It changes only with the ' +
            'API: it is built once, on its first request, and read as the knowledge base is (ETag, compression).',
          querystring: NoQuery,
          response: { 200: json(OpenApiDocument, 'The OpenAPI document'), 304: NotModified, ...problems(400, 412) },
        },
      },
      sendDocument,
    );
  },
  { name: 'openapi' },
);

/** The query of a request URL with its `?`, or an empty string. */
const queryOf = (url: string) => {
  const start = url.indexOf('?');
  return start < 0 ? '' : url.slice(start);
};

/**
 * The text a route handler always answers with, read by calling it once with a stand-in reply, or
 * undefined when it answers with anything but one string (then the route is left as it is).
 */
function constantTextOf(handler: RouteHandlerMethod): string | undefined {
  let sent: unknown;
  const reply = {
    header: () => reply,
    type: () => reply,
    send: (body: unknown) => {
      sent = body;
      return reply;
    },
  };
  try {
    handler.call(undefined as never, {} as never, reply as never);
  } catch {
    return undefined;
  }
  return typeof sent === 'string' ? sent : undefined;
}
