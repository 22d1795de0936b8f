import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NoQuery, NotModified, PageQuery } from '../../schemas/common.js';
import { Source, SourceList, SourceParams } from '../../schemas/knowledge-base.js';
import { json, PAGE_LINKS, problems } from '../../schemas/responses.js';
import { lookUp } from '../lookups.js';

const sources: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/sources',
    {
      schema: {
        tags: ['sources'],
        operationId: 'listSources',
        summary: 'The documents the knowledge base cites',
        description: 'Citations name a source by its id; this lists their titles and kinds.',
        querystring: PageQuery,
        response: { 200: json(SourceList, 'The sources', PAGE_LINKS), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset } = request.query;
      return app.sendCachedPage(request, reply, `sources|${limit}|${offset}`, SourceList, () => app.kb.data.sources);
    },
  );

  app.get(
    '/v1/sources/:source',
    {
      schema: {
        tags: ['sources'],
        operationId: 'getSource',
        summary: 'One source, by the id a citation names it with',
        description:
          'Its `title`, `kind` (e.g. `article`, `qa-thread`) and `summary`; what a level takes from it is the `claim` of the ' +
          'citation that names it.',
        params: SourceParams,
        querystring: NoQuery,
        response: { 200: json(Source, 'The source'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const source = lookUp(app.kb.sourceById, 'source', request.params.source, 'params.source');
      return app.sendCached(request, reply, `source|${source.id}`, Source, () => source);
    },
  );
};

export default sources;
