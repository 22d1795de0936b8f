import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotFoundError, unknownValue } from '../../errors.js';
import { PROBLEM_TYPES, PROBLEM_TYPES_BY_CODE, type ProblemCode, problemType } from '../../problem-types.js';
import { NoQuery, NotModified, PageQuery } from '../../schemas/common.js';
import { ProblemType, ProblemTypeList, ProblemTypeParams } from '../../schemas/problem-type.js';
import { json, PAGE_LINKS, problems } from '../../schemas/responses.js';

const documentOf = (code: ProblemCode) => ({ type: problemType(code), code, ...PROBLEM_TYPES[code] });
const ALL = (Object.keys(PROBLEM_TYPES) as ProblemCode[]).map(documentOf);

/** The documents that problems' `type` links to: each kind of problem, what it means and what to do. */
const problemTypes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/problems',
    {
      schema: {
        tags: ['meta'],
        operationId: 'listProblemTypes',
        summary: 'Every kind of problem the API answers with',
        description:
          'Each kind by its `code`, with the `type` its problems carry (`/problems/{code}`), its title, its status (null when it ' +
          'varies), and when the API answers with it and what to do.',
        querystring: PageQuery,
        response: { 200: json(ProblemTypeList, 'The problem types', PAGE_LINKS), 304: NotModified, ...problems(400, 412) },
      },
    },
    async (request, reply) => {
      const { limit, offset } = request.query;
      return app.sendCachedPage(request, reply, `problems|${limit}|${offset}`, ProblemTypeList, () => ALL);
    },
  );

  app.get(
    '/problems/:code',
    {
      schema: {
        tags: ['meta'],
        operationId: 'getProblemType',
        summary: "What one kind of problem means: the document a problem's `type` links to",
        description:
          "A problem's `type` is this path, relative to the server, so that any problem met can be looked up; `code` is the " +
          "problem's `code` (e.g. `not-found`); an unknown one is a 404 that suggests the nearest code, and one in capitals a 400 " +
          'that names it in lowercase, as for the slugs of the knowledge base.',
        params: ProblemTypeParams,
        querystring: NoQuery,
        response: { 200: json(ProblemType, 'The problem type'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { code } = request.params;
      if (!PROBLEM_TYPES_BY_CODE.has(code))
        throw new NotFoundError([unknownValue(PROBLEM_TYPES_BY_CODE, 'problem type', code, 'params.code')]);
      return app.sendCached(request, reply, `problem|${code}`, ProblemType, () => documentOf(code as ProblemCode));
    },
  );
};

export default problemTypes;
