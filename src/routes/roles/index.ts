import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { roleDetail } from '../../domain/catalog.js';
import { NotModified, PageQuery } from '../../schemas/common.js';
import { CompanySizeQuery, RoleDetail, RoleList, RoleParams } from '../../schemas/knowledge-base.js';
import { json, PAGE_LINKS, problems } from '../../schemas/responses.js';
import { requireKnown } from '../lookups.js';

const roles: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/roles',
    {
      schema: {
        tags: ['roles'],
        operationId: 'listRoles',
        summary: 'List the roles',
        description:
          'Each role with its `slug`, `summary` and `typicalDay`; the levels a role expects are at `GET /v1/roles/{role}`, and ' +
          '`GET /v1/comparisons` sets 2 to 5 roles side by side.',
        querystring: PageQuery,
        response: { 200: json(RoleList, 'The roles, in a stable order', PAGE_LINKS), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset } = request.query;
      return app.sendCachedPage(request, reply, `roles|${limit}|${offset}`, RoleList, () => app.kb.data.roles);
    },
  );

  app.get(
    '/v1/roles/:role',
    {
      schema: {
        tags: ['roles'],
        operationId: 'getRole',
        summary: 'One role with its expected level of every competency',
        description:
          'Each expectation gives the `level` at the requested company size, the `baselineLevel`, the `variant` that ' +
          'overrides the baseline at that size (or null), the rationale and the citations behind it.',
        params: RoleParams,
        querystring: CompanySizeQuery,
        response: { 200: json(RoleDetail, 'The role and its expectations'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { role } = request.params;
      const size = request.query.companySize ?? null;
      requireKnown(app.kb, [
        ['role', role, 'params.role'],
        ['company size', request.query.companySize, 'querystring.companySize'],
      ]);
      // JSON keeps the baseline (null) apart from a size slugged `null`.
      return app.sendCached(request, reply, `role|${JSON.stringify([role, size])}`, RoleDetail, () => roleDetail(app.kb, role, size));
    },
  );
};

export default roles;
