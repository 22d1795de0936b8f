import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { comparison, comparisonAcrossSizes } from '../../domain/catalog.js';
import { NotModified } from '../../schemas/common.js';
import { Comparison, ComparisonAcrossSizes, ComparisonAcrossSizesQuery, ComparisonQuery } from '../../schemas/comparison.js';
import { json, problems } from '../../schemas/responses.js';
import { listed, requireKnown } from '../lookups.js';

const comparisons: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/comparisons',
    {
      schema: {
        tags: ['comparisons'],
        operationId: 'compareRoles',
        summary: 'Compare 2 to 5 roles side by side',
        description:
          "Per competency: each role's level, the spread (highest minus lowest) and a classification: `shared` (spread <= 1 " +
          'and highest >= 2), `distinctive` (spread >= 2, `leader` names the highest role), `peripheral` (highest <= 1). ' +
          '`similarity` = 1 - mean spread / 4; `pairwise` gives it for every pair of roles.',
        querystring: ComparisonQuery,
        response: { 200: json(Comparison, 'The comparison'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { roles, companySize, category } = request.query;
      requireKnown(app.kb, [...listed('role', roles, 'querystring.roles'), ['company size', companySize, 'querystring.companySize']]);
      const size = companySize ?? null;
      // JSON keeps the baseline (null) apart from a size slugged `null`, and an absent category from one named so.
      const key = `comparison|${JSON.stringify([roles, size, category ?? null])}`;
      return app.sendCached(request, reply, key, Comparison, () => comparison(app.kb, roles, size, category ?? null));
    },
  );

  app.get(
    '/v1/comparisons/by-company-size',
    {
      schema: {
        tags: ['comparisons'],
        operationId: 'compareRolesAcrossCompanySizes',
        summary: 'The same comparison at the baseline and at every company size',
        description: 'Shows how the roles converge or separate as companies grow: `trend` lists the similarity at each stage.',
        querystring: ComparisonAcrossSizesQuery,
        response: { 200: json(ComparisonAcrossSizes, 'The comparison at each stage'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { roles, category } = request.query;
      requireKnown(app.kb, listed('role', roles, 'querystring.roles'));
      const key = `comparison-by-size|${JSON.stringify([roles, category ?? null])}`;
      return app.sendCached(request, reply, key, ComparisonAcrossSizes, () => comparisonAcrossSizes(app.kb, roles, category ?? null));
    },
  );
};

export default comparisons;
