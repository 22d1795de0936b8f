import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { competencyDetail, findCompetencies, searchWords } from '../../domain/catalog.js';
import { NoQuery, NotModified } from '../../schemas/common.js';
import { CompetencyDetail, CompetencyList, CompetencyParams, CompetencyQuery } from '../../schemas/knowledge-base.js';
import { json, PAGE_LINKS, problems } from '../../schemas/responses.js';
import { requireKnown } from '../lookups.js';

const competencies: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/competencies',
    {
      schema: {
        tags: ['competencies'],
        operationId: 'listCompetencies',
        summary: 'List and filter competencies',
        description:
          'Filters combine: `category`; `q`, a text search in name and description (every word of it, in any order); `role` keeps the ' +
          'competencies that role expects at `minLevel` (default 1) or above, at `companySize` (default: baseline), ' +
          'and adds that `level` to each item.',
        querystring: CompetencyQuery,
        response: { 200: json(CompetencyList, 'A page of competencies', PAGE_LINKS), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset, ...filter } = request.query;
      requireKnown(app.kb, [
        ['role', filter.role, 'querystring.role'],
        ['company size', filter.companySize, 'querystring.companySize'],
      ]);
      // JSON keeps an absent filter (null) apart from any text given for it, "undefined" included.
      const key = `competencies|${JSON.stringify([
        filter.category ?? null,
        searchWords(filter.q)?.join(' ') ?? null,
        filter.role ?? null,
        filter.minLevel ?? null,
        filter.companySize ?? null,
        limit,
        offset,
      ])}`;
      return app.sendCachedPage(request, reply, key, CompetencyList, () => findCompetencies(app.kb, filter));
    },
  );

  app.get(
    '/v1/competencies/:competency',
    {
      schema: {
        tags: ['competencies'],
        operationId: 'getCompetency',
        summary: "One competency with each role's baseline level and its level at every company size",
        description:
          "Each role comes with its baseline level's rationale, `editorial` flag and citations; `byCompanySize` gives the level at " +
          'each company size, smallest first, `overridden` where a variant replaces the baseline (its rationale is in ' +
          '`GET /v1/roles/{role}?companySize=`).',
        params: CompetencyParams,
        querystring: NoQuery,
        response: { 200: json(CompetencyDetail, 'The competency and its levels'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const slug = request.params.competency;
      requireKnown(app.kb, [['competency', slug, 'params.competency']]);
      return app.sendCached(request, reply, `competency|${slug}`, CompetencyDetail, () => competencyDetail(app.kb, slug));
    },
  );
};

export default competencies;
