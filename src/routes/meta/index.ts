import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { metaOf } from '../../domain/catalog.js';
import { SCORING_VERSION } from '../../domain/scoring.js';
import { NoQuery, NotModified } from '../../schemas/common.js';
import { Meta } from '../../schemas/meta.js';
import { json, problems } from '../../schemas/responses.js';

const meta: FastifyPluginAsyncZod<{ apiVersion: string }> = async (app, { apiVersion }) => {
  app.get(
    '/v1/meta',
    {
      schema: {
        tags: ['meta'],
        operationId: 'getMeta',
        summary: 'Versions of the API, the knowledge-base release, the instrument and the scoring, with counts',
        querystring: NoQuery,
        response: { 200: json(Meta, 'Versions and counts'), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => app.sendCached(request, reply, 'meta', Meta, () => metaOf(app.kb, apiVersion, SCORING_VERSION)),
  );
};

export default meta;
