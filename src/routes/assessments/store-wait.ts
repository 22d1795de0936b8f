import type { Socket } from 'node:net';
import type { FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { RESERVE_BUSY_TIMEOUT_MS } from '../../db/repository.js';
import { LOCK_WAIT_MS } from '../../services/group-commit.js';

/**
 * The shortest idle timeout of a connection while its submission is stored. Node resets a socket that
 * goes the server's timeout (REQUEST_TIMEOUT_MS) without a byte either way, also while its request is
 * answered, and a submission may wait LOCK_WAIT_MS in all (for its row numbers and its commit), a
 * batch RESERVE_BUSY_TIMEOUT_MS more (for row numbers it runs out of while it is scored), while
 * another process holds the write lock: under a shorter setting,
 * its connection was reset although the submission was then stored, so its client could not tell.
 */
const STORING_IDLE_TIMEOUT_MS = RESERVE_BUSY_TIMEOUT_MS + LOCK_WAIT_MS + 2_000;

/**
 * Submissions being stored per connection: HTTP/1.1 pipelining can have several requests of one
 * connection under way at once, and the first to be answered must not shorten the timeout under the
 * others.
 */
const storing = new WeakMap<Socket, number>();
/** The requests that lengthened their connection's timeout, and so count in `storing`. */
const lengthened = new WeakSet<FastifyRequest>();

/** Lengthens the connection's idle timeout to STORING_IDLE_TIMEOUT_MS while the submission is stored. */
const holdOpenWhileStoring: preHandlerHookHandler = (request, _reply, done) => {
  const { socket } = request.raw;
  if (typeof socket?.setTimeout === 'function') {
    const count = storing.get(socket) ?? 0;
    if (count === 0) socket.setTimeout(STORING_IDLE_TIMEOUT_MS);
    storing.set(socket, count + 1);
    lengthened.add(request);
  }
  done();
};

/**
 * Gives the connection the server's idle timeout back before the answer is written, once no other
 * submission of it is still being stored: an answer its client does not read, or a body that stops
 * arriving, is cut off as on any other route.
 */
const idleTimeoutAsBefore: onSendHookHandler = function (request, _reply, payload, done) {
  const { socket } = request.raw;
  if (lengthened.delete(request) && socket) {
    const count = (storing.get(socket) ?? 1) - 1;
    storing.set(socket, count);
    if (count === 0) socket.setTimeout(this.server.timeout);
  }
  done(null, payload);
};

/**
 * The hooks of a route that stores submissions, for a server whose idle timeout (`timeout`, 0 for
 * none) is shorter than STORING_IDLE_TIMEOUT_MS; none otherwise (the default 15 s), so that a POST
 * runs no hook it does not need. `first`, a preHandler of the route's own, runs before them.
 */
export const storingHooks = (timeout: number, first?: preHandlerHookHandler) => {
  const own = first === undefined ? [] : [first];
  if (timeout > 0 && timeout < STORING_IDLE_TIMEOUT_MS) return { preHandler: [...own, holdOpenWhileStoring], onSend: idleTimeoutAsBefore };
  return own.length > 0 ? { preHandler: own } : {};
};
