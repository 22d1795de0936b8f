import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotModified, PageQuery, paginate } from '../../schemas/common.js';
import { SourceList } from '../../schemas/knowledge-base.js';
import { json, problems } from '../../schemas/responses.js';

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
        response: { 200: json(SourceList, 'The sources'), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset } = request.query;
      return app.sendCached(request, reply, `sources|${limit}|${offset}`, SourceList, () => paginate(app.kb.data.sources, limit, offset));
    },
  );
};

export default sources;
