import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotModified, PageQuery, paginate } from '../../schemas/common.js';
import { CompanySizeList } from '../../schemas/knowledge-base.js';
import { json, problems } from '../../schemas/responses.js';

const companySizes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/company-sizes',
    {
      schema: {
        tags: ['company-sizes'],
        operationId: 'listCompanySizes',
        summary: 'List the company sizes, smallest first',
        querystring: PageQuery,
        response: { 200: json(CompanySizeList, 'The company sizes in order'), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset } = request.query;
      return app.sendCached(request, reply, `company-sizes|${limit}|${offset}`, CompanySizeList, () =>
        paginate(app.kb.data.companySizes, limit, offset),
      );
    },
  );
};

export default companySizes;
