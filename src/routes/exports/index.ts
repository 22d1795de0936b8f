import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { knowledgeBaseExport, levelsCsv } from '../../domain/export.js';
import { NoQuery, NotModified } from '../../schemas/common.js';
import { KnowledgeBaseExport, LevelsCsv } from '../../schemas/export.js';
import { json, problems } from '../../schemas/responses.js';

const CSV_TYPE = 'text/csv; charset=utf-8; header=present';

const exports: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/exports/knowledge-base',
    {
      schema: {
        tags: ['exports'],
        operationId: 'exportKnowledgeBase',
        summary: 'The whole knowledge base of the current release in one document',
        description:
          'Sources, roles, competencies, company sizes, every expectation with its company-size variants and citations, ' +
          'and the questions, unpaged: for tools that keep a copy and refresh it when `kbContentHash` changes.',
        querystring: NoQuery,
        response: { 200: json(KnowledgeBaseExport, 'The release'), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => app.sendCached(request, reply, 'export', KnowledgeBaseExport, () => knowledgeBaseExport(app.kb)),
  );

  app.get(
    '/v1/exports/levels.csv',
    {
      schema: {
        tags: ['exports'],
        operationId: 'exportLevels',
        summary: 'Every expected level, at the baseline and at each company size, as CSV',
        description:
          'A header row, then one row per role, competency and stage, the baseline (an empty `company_size`) before each company ' +
          'size: the `level` there with its `level_name`, the `baseline_level`, `variant` (true where a variant sets the level), ' +
          '`editorial`, the cited `sources` and the `rationale`. Sent as an attachment, `role-competency-levels-{release}.csv`; a ' +
          'cell a spreadsheet would run as a formula begins with an apostrophe.',
        querystring: NoQuery,
        response: {
          200: {
            description: 'The levels, one row each, for a spreadsheet',
            content: { 'text/csv': { schema: LevelsCsv } },
            headers: { 'content-disposition': { type: 'string', required: true, description: 'attachment, named after the release' } },
          },
          304: NotModified,
          ...problems(400, 412),
        },
      },
    },
    async (request, reply) => {
      reply.header('content-disposition', `attachment; filename="role-competency-levels-${app.kb.release.id}.csv"`);
      return app.sendCachedText(request, reply, 'export-levels', CSV_TYPE, () => levelsCsv(app.kb));
    },
  );
};

export default exports;
