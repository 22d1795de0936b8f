import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { metaOf } from '../../domain/catalog.js';
import { SCORING_VERSION } from '../../domain/scoring.js';
import { NoQuery, NotModified } from '../../schemas/common.js';
import { API_LINKS, ApiIndex, Meta } from '../../schemas/meta.js';
import { json, problems } from '../../schemas/responses.js';

const meta: FastifyPluginAsyncZod<{ apiVersion: string }> = async (app, { apiVersion }) => {
  app.get(
    '/',
    {
      // The router reads the target `*` (the server as a whole, RFC 9110, 7.1) as this path: only
      // OPTIONS asks about it, answered by the not-found handler; any other method finds no route.
      onRequest: (request, reply, done) => (request.url === '*' ? reply.callNotFound() : done()),
      schema: {
        tags: ['meta'],
        operationId: 'getIndex',
        summary: 'The API’s root: its name and versions, and a link to where each part of it starts',
        description:
          '`links` names each part (`docs`, `openapi`, `roles`, `questions`, `assessments`, `problems`, `ready`…) with an `href`, ' +
          'a path on this server, and a `title`: a client that knows only the host starts here.',
        querystring: NoQuery,
        response: { 200: json(ApiIndex, 'Name, versions and links'), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) =>
      app.sendCached(request, reply, 'index', ApiIndex, () => ({
        name: 'Role Competency API',
        apiVersion,
        kbRelease: app.kb.release.id,
        links: API_LINKS,
      })),
  );
  app.get(
    '/v1/meta',
    {
      schema: {
        tags: ['meta'],
        operationId: 'getMeta',
        summary: 'Versions of the API, the knowledge-base release, the instrument and the scoring, with counts',
        description:
          '`contentHash` tells two contents of one release id apart (results, comparisons and the export call it `kbContentHash`); ' +
          '`levelScale` gives each level, 0 to 4, its name and meaning. `counts.variants` counts the company-size overrides, ' +
          '`counts.editorialEntries` the expectations and variants no source backs.',
        querystring: NoQuery,
        response: { 200: json(Meta, 'Versions and counts'), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => app.sendCached(request, reply, 'meta', Meta, () => metaOf(app.kb, apiVersion, SCORING_VERSION)),
  );
};

export default meta;
