import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SCORING_VERSION } from '../../domain/scoring.js';
import { NoQuery, NotModified } from '../../schemas/common.js';
import { Meta } from '../../schemas/meta.js';
import { json, problems } from '../../schemas/responses.js';

const meta: FastifyPluginAsyncZod<{ apiVersion: string }> = async (app, { apiVersion }) => {
  const { data } = app.kb;
  const entries = [...data.expectations, ...data.expectations.flatMap((e) => e.variants)];
  const body = {
    apiVersion,
    kbRelease: data.release.id,
    contentHash: data.release.contentHash,
    instrumentVersion: data.release.instrumentVersion,
    scoringVersion: SCORING_VERSION,
    counts: {
      roles: data.roles.length,
      competencies: data.competencies.length,
      companySizes: data.companySizes.length,
      expectations: data.expectations.length,
      variants: entries.length - data.expectations.length,
      citations: entries.reduce((sum, entry) => sum + entry.citations.length, 0),
      editorialEntries: entries.filter((entry) => entry.editorial).length,
      questions: data.questions.length,
      sources: data.sources.length,
    },
  };

  app.get(
    '/v1/meta',
    {
      schema: {
        tags: ['meta'],
        operationId: 'getMeta',
        summary: 'Versions of the API, the knowledge-base release, the instrument and the scoring, with counts',
        querystring: NoQuery,
        response: { 200: json(Meta, 'Versions and counts'), 304: NotModified, ...problems(400) },
      },
    },
    async (request, reply) => app.sendCached(request, reply, 'meta', Meta, () => body),
  );
};

export default meta;
