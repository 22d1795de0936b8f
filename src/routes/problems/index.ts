import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotFoundError } from '../../errors.js';
import { PROBLEM_TYPES, type ProblemCode, problemType } from '../../problem-types.js';
import { NoQuery, NotModified, PageQuery } from '../../schemas/common.js';
import { ProblemType, ProblemTypeList, ProblemTypeParams } from '../../schemas/problem-type.js';
import { json, PAGE_LINKS, problems } from '../../schemas/responses.js';

const documentOf = (code: ProblemCode) => ({ type: problemType(code), code, ...PROBLEM_TYPES[code] });
const isCode = (code: string): code is ProblemCode => Object.hasOwn(PROBLEM_TYPES, code);
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
          "problem's `code` (e.g. `not-found`), and an unknown one is a 404.",
        params: ProblemTypeParams,
        querystring: NoQuery,
        response: { 200: json(ProblemType, 'The problem type'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { code } = request.params;
      if (!isCode(code)) throw new NotFoundError([{ what: 'problem type', value: code, field: 'params.code' }]);
      return app.sendCached(request, reply, `problem|${code}`, ProblemType, () => documentOf(code));
    },
  );
};

export default problemTypes;
