import { errorCodes, type FastifyRequest, type preHandlerHookHandler } from 'fastify';
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { type FastifyPluginAsyncZod, validatorCompiler } from 'fastify-type-provider-zod';
import { failsIfMatch, matchesAny } from '../../conditional.js';
import { UUID_V4 } from '../../db/assessment-ids.js';
import { earlierInstrument, instrument } from '../../domain/catalog.js';
import { MIN_ANSWERS } from '../../domain/scoring.js';
import { ApiError, ErasedError, NotFoundError, problemBody, unknownValue } from '../../errors.js';
import {
  Assessment,
  AssessmentParams,
  AssessmentPreview,
  BatchRequest,
  BatchResponse,
  IdempotencyHeaders,
  Instrument,
  InstrumentQuery,
  MAX_BATCH_ITEMS,
  Submission,
} from '../../schemas/assessment.js';
import { Erased, ExistsNotModified, NoQuery, NotModified } from '../../schemas/common.js';
import { CONTENT_ENCODING, json, problems, REPLAYABLE } from '../../schemas/responses.js';
import { AssessmentService } from '../../services/assessments.js';
import { RecentAssessments } from '../../services/recent-assessments.js';
import { type StorageLimits, StorageRoom } from '../../services/storage-room.js';
import { BatchPlaces } from './batch-places.js';
import { sendBatch, sendGzipped, sendJson, sendNotModified, sendStored } from './replies.js';
import { storingHooks } from './store-wait.js';

/**
 * Bodies are checked by the service, which lists malformed (400) and unscorable (422) problems
 * together, and a batch's envelope before its items; the body schema is still declared so that it
 * is documented.
 */
const checkBodyInHandler = <S>(route: FastifyRouteSchemaDef<S>) =>
  // Fastify types a route's compiler by the route's whole schema object, the zod compiler by one part's
  // zod schema: the same value at run time, two types that do not meet.
  route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route as never);

/**
 * The body of a route that checks it in its handler, as it arrived: Fastify types it by the
 * documented schema, which it has not been checked against. A request that sent no body and no
 * Content-Type reaches the handler with a null body, as one that sent the JSON `null` does: it is
 * told what an empty JSON body is told, not that its body is null.
 */
const uncheckedBody = (request: { body: unknown; headers: FastifyRequest['headers'] }): unknown => {
  if (request.body === null && request.headers['content-type'] === undefined) throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY();
  return request.body;
};

export type AssessmentRouteOptions = {
  batchBodyLimit: number;
  /** Batches scored and stored at once; one more is refused 503. */
  maxConcurrentBatches: number;
  /** Bytes of recently stored assessments kept in memory for reads. */
  recentAssessmentsBytes: number;
  /** The room new assessments may take: the database's size, and the disk space kept free. */
  storageLimits: StorageLimits;
};

const STORED_PREFIX = '/v1/assessments/';

/**
 * A POST here makes something new (or, for a preview, keeps nothing): its target has no current
 * representation, so no If-Match holds (RFC 9110, 13.1.1), `*` included, and the request is refused
 * before its submission is checked, scored or stored. It runs once the request's media type, size,
 * JSON, headers and query have passed: a request those refuse gets that answer, not a 412 (RFC
 * 9110, 13.2.1). `detail` says why, in the route's terms.
 */
const refuseIfMatch =
  (detail: string): preHandlerHookHandler =>
  (request, _reply, done) => {
    done(request.headers['if-match'] === undefined ? undefined : new ApiError('precondition-failed', detail));
  };

const assessments: FastifyPluginAsyncZod<AssessmentRouteOptions> = async (app, options) => {
  const { maxDatabaseBytes, diskReserveBytes } = options.storageLimits;
  const room = new StorageRoom(
    options.storageLimits,
    () => app.repository.storageUse(),
    // Room runs out when one more submission no longer fits beside what is stored.
    (shortage, { storedBytes, freeDiskBytes }) => {
      if (shortage === 'database-limit') {
        app.log.warn(
          { storedBytes, maxDatabaseBytes },
          'the database has no room under DATABASE_MAX_MB for another submission: new assessments are refused (507) until there is room',
        );
      } else if (shortage === 'disk-reserve') {
        app.log.warn(
          { freeDiskBytes, diskReserveBytes },
          'the disk under the database has no room above DISK_RESERVE_MB for another submission: new assessments are refused (507) until there is room',
        );
      } else {
        app.log.info({ storedBytes, freeDiskBytes }, 'there is room for new assessments again');
      }
    },
  );
  // A limit already passed (a DISK_RESERVE_MB above the disk's free space) is logged now, not at the first refusal.
  room.check();
  const service = new AssessmentService(app.kb, app.repository, new RecentAssessments(options.recentAssessmentsBytes), room);

  /** Why an id finds no stored assessment: it was erased (410), or never stored here (404). */
  const missing = (id: string, asSent: string) =>
    service.isErased(id) ? new ErasedError() : new NotFoundError([{ what: 'assessment', value: asSent, field: 'params.id' }]);

  // Later reads of stored JSON are answered before routing. Only a lowercase version-4 id (every id
  // the API hands out) without a query: the params schema accepts each of them, and the GET route
  // below answers each stored one the same way; anything else goes to the route, as does a read
  // that fails (the route answers it 500 with its request id; thrown here, it would end the process).
  const keepReadHeaders = app.cachedFront.serveReads(
    STORED_PREFIX,
    (id) => {
      if (!UUID_V4.test(id)) return undefined;
      try {
        const found = service.peek(id);
        return found?.gzip === undefined ? found?.json : undefined;
      } catch {
        return undefined;
      }
    },
    (body) => service.hold(body),
  );

  app.get(
    '/v1/assessment/questions',
    {
      schema: {
        tags: ['assessments'],
        operationId: 'getInstrument',
        summary: 'The self-assessment: answer scale and questions in order',
        description:
          'Answer a question with a `value` from 1 (strongly disagree) to 5 (strongly agree), as its `prompt` reads: the server ' +
          `itself reverses a \`keyed: minus\` one (6 - value). Send at least \`minAnswers\` (${MIN_ANSWERS}) answers, each question ` +
          'at most once, to `POST /v1/assessments` (or its `/preview`, or in a `/batch`). With `version`, the questions of that ' +
          "instrument version (a stored result's `versions.instrument`) as they were, with `current: false` for any version but " +
          "the current release's: for reading the answers of results scored with them (the scale and `minAnswers` are today's); " +
          'an unknown version is a 404 naming those there are.',
        querystring: InstrumentQuery,
        response: { 200: json(Instrument, 'The instrument'), 304: NotModified, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const { version } = request.query;
      if (version === undefined || version === app.kb.release.instrumentVersion) {
        return app.sendCached(request, reply, 'instrument', Instrument, () => instrument(app.kb));
      }
      const bank = app.questionBanks.get(version);
      if (bank === undefined)
        throw new NotFoundError([unknownValue(app.questionBanks, 'instrument version', version, 'querystring.version')]);
      return app.sendCached(request, reply, `instrument|${version}`, Instrument, () => earlierInstrument(bank));
    },
  );

  app.post(
    '/v1/assessments',
    {
      validatorCompiler: checkBodyInHandler,
      config: { writeLimit: true },
      ...storingHooks(
        app.server.timeout,
        refuseIfMatch('A submission makes a new assessment, which no If-Match can match: send it without one.'),
      ),
      schema: {
        tags: ['assessments'],
        operationId: 'createAssessment',
        summary: 'Score and store a submission',
        description:
          'Answers 201 with the stored assessment and a Location header. With an `Idempotency-Key`, a retry with the same ' +
          'body replays the first response (same id, `Idempotent-Replayed: true`), or a 410 once that assessment has been erased ' +
          '(whatever its JSON body then); the same key with another body is a 422. A 507 `insufficient-storage` says the server ' +
          'has no room to store it (its database at `DATABASE_MAX_MB`, or its disk at `DISK_RESERVE_MB`): nothing was stored.',
        headers: IdempotencyHeaders,
        querystring: NoQuery,
        body: Submission,
        response: {
          201: json(Assessment, 'Scored and stored', {
            location: {
              type: 'string',
              required: true,
              description: 'Where the stored assessment is read: the path `/v1/assessments/{id}`, relative to the URL the POST went to',
            },
            ...REPLAYABLE,
          }),
          ...problems(400, 410, 412, 413, 415, 422, 429, 507),
        },
      },
    },
    async (request, reply) => sendStored(reply, await service.create(uncheckedBody(request), request.headers['idempotency-key'])),
  );

  app.post(
    '/v1/assessments/preview',
    {
      validatorCompiler: checkBodyInHandler,
      config: { writeLimit: true },
      preHandler: refuseIfMatch('A preview stores nothing, so no If-Match can match it: send it without one.'),
      schema: {
        tags: ['assessments'],
        operationId: 'previewAssessment',
        summary: 'Score a submission without storing it',
        description:
          'Takes the same body as `POST /v1/assessments`, with the same checks (400, 422) and the same scoring, but stores nothing: ' +
          'the answer has no `id` or Location, and an `Idempotency-Key` is ignored. Its `answers`, `companySize` and `respondent` ' +
          'can be sent to `POST /v1/assessments` as they are; it counts against the write rate limit as every POST does.',
        querystring: NoQuery,
        body: Submission,
        response: { 200: json(AssessmentPreview, 'Scored, nothing stored'), ...problems(400, 412, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => sendJson(reply, JSON.stringify(service.preview(uncheckedBody(request)))),
  );

  const batchPlaces = new BatchPlaces(options.maxConcurrentBatches);

  app.post(
    '/v1/assessments/batch',
    {
      validatorCompiler: checkBodyInHandler,
      // Parsed only once it holds a place: batches beyond the limit under way are refused unparsed.
      config: { writeLimit: true, parsesItsBody: true },
      onRequest: batchPlaces.refuseWhenFull,
      preValidation: [batchPlaces.take, app.parseJsonBody],
      ...storingHooks(
        app.server.timeout,
        refuseIfMatch('A batch makes new assessments, which no If-Match can match: send it without one.'),
      ),
      bodyLimit: options.batchBodyLimit,
      schema: {
        tags: ['assessments'],
        operationId: 'createAssessmentBatch',
        summary: `Score and store up to ${MAX_BATCH_ITEMS} submissions`,
        description:
          'Each item is checked, scored and stored on its own: the response lists, in input order, `{ status: 201, location, assessment }` ' +
          'or `{ status: 400|422, problem }`. A bad item never loses the good ones (a body past the JSON limits the README ' +
          'lists is refused whole: one of 16 KiB or more with an object of more than 16 members, for instance, or one that gives a ' +
          'member twice in an object). With an `Idempotency-Key`, a retried batch ' +
          'stores nothing twice and replays the first response (a 410 once one of its assessments has been erased). A response of 16 KiB or more is sent gzip-compressed to a ' +
          'client whose `Accept-Encoding` accepts gzip at least as much as identity. The server scores a few batches at once (`MAX_CONCURRENT_BATCHES`, 2 by ' +
          'default), and one client holds all of those places but one (the only place when the limit is 1). One more is ' +
          'answered 503 `overloaded` with Retry-After, or 429 `too-many-batches` when its client already holds its share, ' +
          'before its body is read when they are already under way. A batch that would store anything (an assessment, or under an ' +
          '`Idempotency-Key` its answer) while the server has no room for it (see `POST /v1/assessments`) is a 507 ' +
          '`insufficient-storage` as a whole: nothing of it is stored.',
        headers: IdempotencyHeaders,
        querystring: NoQuery,
        body: BatchRequest,
        response: {
          200: json(BatchResponse, 'One outcome per item', {
            ...REPLAYABLE,
            ...CONTENT_ENCODING(['gzip'], 'the answer is 16 KiB or more and the request accepts gzip at least as much as identity'),
          }),
          ...problems(400, 410, 412, 413, 415, 422, 429, 507),
        },
      },
    },
    async (request, reply) => {
      // The place goes back once this has ended and the answer has been written out.
      const ended = batchPlaces.claim(request);
      try {
        // The same problem a single submission would get, in the item's place.
        const response = await service.createBatch(uncheckedBody(request), request.headers['idempotency-key'], (error) =>
          problemBody(request, error),
        );
        return await sendBatch(request, reply, response);
      } finally {
        ended();
      }
    },
  );

  app.get(
    '/v1/assessments/:id',
    {
      schema: {
        tags: ['assessments'],
        operationId: 'getAssessment',
        summary: 'A stored assessment, exactly as it was scored',
        description: 'Later releases of the knowledge base, the questions or the formula never change a stored result.',
        params: AssessmentParams,
        querystring: NoQuery,
        response: {
          200: json(Assessment, 'The stored assessment', {
            'cache-control': {
              type: 'string',
              required: true,
              description:
                '`private, max-age=86400, immutable`: a stored assessment never changes (an erased one is a 410 from then on, but a copy cached before may be used until it expires)',
            },
            ...CONTENT_ENCODING(
              ['gzip'],
              'an assessment an earlier version stored compressed, to a request that accepts gzip at least as much as identity',
            ),
          }),
          304: ExistsNotModified,
          ...problems(400, 404, 410, 412),
        },
      },
    },
    async (request, reply) => {
      // UUIDs are read in either case (RFC 9562); ids are given out, and kept, in lowercase.
      const id = request.params.id.toLowerCase();
      const found = service.find(id);
      if (found === undefined) throw missing(id, request.params.id);
      if (failsIfMatch(request.headers['if-match'], undefined)) {
        throw new ApiError('precondition-failed', 'A stored assessment carries no entity tag: only If-Match: * matches it.');
      }
      reply.header('cache-control', 'private, max-age=86400, immutable');
      // It carries no entity tag, so only `*` can match it, which it does by existing (RFC 9110, 13.1.2).
      if (matchesAny(request.headers['if-none-match'])) return sendNotModified(request, reply, found);
      if (found.gzip !== undefined) return sendGzipped(request, reply, found.gzip);
      reply.type('application/json; charset=utf-8');
      keepReadHeaders(request.raw, reply);
      return reply.send(found.json);
    },
  );

  const ifMatchFailed = () =>
    new ApiError('precondition-failed', 'If-Match: * matches a stored assessment only, and no other If-Match can match it.');

  app.delete(
    '/v1/assessments/:id',
    {
      config: { writeLimit: true, readsNoBody: true },
      // It may wait for a lock another process holds, as a submission's commit does.
      ...storingHooks(app.server.timeout),
      schema: {
        tags: ['assessments'],
        operationId: 'eraseAssessment',
        summary: 'Erase a stored assessment',
        description:
          'Deletes the assessment, its answers and its result: a later read of the id is a 410, and a replay of the ' +
          'Idempotency-Key that stored it (a single one or a batch), whatever its JSON body, is a 410 (one that is not JSON is a 400). ' +
          'Kept: the id and when it was erased, and until the key is purged (48 hours) the record of that Idempotency-Key ' +
          '(the key and the id, no hash of the request). It takes no body: an empty one sent as JSON is taken as none, and ' +
          'any other is a 400 (a 415 for a media type other than JSON), nothing erased. ' +
          'Erasing it again answers 204 as the first time did; an id never stored is a 404, with or without If-Match. ' +
          'Copies made before by `npm run db:backup`, and by a client that cached a read, keep it. Counts against the ' +
          'write rate limit as a POST does.',
        params: AssessmentParams,
        querystring: NoQuery,
        response: { 204: Erased, ...problems(400, 404, 412, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const id = request.params.id.toLowerCase();
      const ifMatch = request.headers['if-match'];
      const ifNoneMatchAny = matchesAny(request.headers['if-none-match']);
      if (ifMatch !== undefined || ifNoneMatchAny) {
        // A precondition is weighed only where the request would otherwise succeed (RFC 9110, 13.2.1):
        // an id never stored is a 404 with one or without. The assessment carries no entity tag, so
        // only `*` means anything: If-Match: * holds while it is stored, and a DELETE whose
        // If-None-Match: * holds is refused (13.1.2).
        // peek: whether it is stored is all that counts, so one kept in memory is not copied.
        const stored = service.peek(id) !== undefined;
        if (!stored && !service.isErased(id)) throw missing(id, request.params.id);
        if (ifNoneMatchAny && stored) {
          throw new ApiError('precondition-failed', 'If-None-Match: * holds while the assessment is stored: nothing was erased.');
        }
        if (ifMatch !== undefined && (!stored || failsIfMatch(ifMatch, undefined))) throw ifMatchFailed();
      }
      const erasure = await service.erase(id);
      if (erasure === 'not-found') throw missing(id, request.params.id);
      // Erased meanwhile (by another request, or another server whose erasure this one had not yet heard of).
      if (ifMatch !== undefined && erasure === 'erased-before') throw ifMatchFailed();
      return reply.code(204).send();
    },
  );
};

export default assessments;
