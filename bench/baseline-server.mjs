// The practical limit of the machine for the benchmark (E0): a bare fastify server answering a
// constant small JSON, started and measured in the same run as the API.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
// The same server sending a constant body as large as a role or a comparison: how far bytes alone
// bring a bare server down on this machine (a reference row, not a target).
const large = JSON.stringify({ filler: 'x'.repeat(13_000) });
app.get('/large', (_request, reply) => reply.type('application/json; charset=utf-8').send(large));
// A POST that only parses its JSON body (Fastify's own parser) and answers 201 with a constant body
// as large as a stored assessment: what HTTP, the framework and those bytes leave of E0 for a POST,
// before any checking, scoring or storing (a reference row beside the API's POST).
const stored = JSON.stringify({ filler: 'x'.repeat(9_980) });
app.post('/stored', (request, reply) => {
  const answers = request.body?.answers;
  reply
    .code(Array.isArray(answers) ? 201 : 400)
    .type('application/json; charset=utf-8')
    .send(stored);
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
