import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NoQuery, NotModified, PageQuery } from '../../schemas/common.js';
import { CompanySize, CompanySizeList, CompanySizeParams } from '../../schemas/knowledge-base.js';
import { json, PAGE_LINKS, problems } from '../../schemas/responses.js';
import { lookUp } from '../lookups.js';

const companySizes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/company-sizes',
    {
      schema: {
        tags: ['company-sizes'],
        operationId: 'listCompanySizes',
        summary: 'List the company sizes, smallest first',
        description:
          'Their slugs are what `companySize` takes in the reads, the comparisons and a submission. The sizes, their headcount ' +
          "limits and descriptions are the project's own framing, not the sources'.",
        querystring: PageQuery,
        response: { 200: json(CompanySizeList, 'The company sizes in order', PAGE_LINKS), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset } = request.query;
      return app.sendCachedPage(request, reply, `company-sizes|${limit}|${offset}`, CompanySizeList, () => app.kb.data.companySizes);
    },
  );

  app.get(
    '/v1/company-sizes/:companySize',
    {
      schema: {
        tags: ['company-sizes'],
        operationId: 'getCompanySize',
        summary: 'One company size: its headcount range, its place in the order and what changes there',
        description:
          "The roles' levels at this size are read with `companySize=` on `GET /v1/roles/{role}` and `GET /v1/comparisons`; " +
          'an unknown slug is a 404 that names the known ones.',
        params: CompanySizeParams,
        querystring: NoQuery,
        response: { 200: json(CompanySize, 'The company size'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const size = lookUp(app.kb.companySizeBySlug, 'company size', request.params.companySize, 'params.companySize');
      return app.sendCached(request, reply, `company-size|${size.slug}`, CompanySize, () => size);
    },
  );
};

export default companySizes;
