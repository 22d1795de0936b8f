import type { FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { RESERVE_BUSY_TIMEOUT_MS } from '../../db/repository.js';
import { LOCK_WAIT_MS } from '../../services/group-commit.js';

/**
 * The shortest idle timeout of a connection while its submission is stored. Node resets a socket that
 * goes the server's timeout (REQUEST_TIMEOUT_MS) without a byte either way, also while its request is
 * answered, and a submission may wait up to RESERVE_BUSY_TIMEOUT_MS (for its row numbers) and then
 * LOCK_WAIT_MS (for its commit) while another process holds the write lock: under a shorter setting,
 * its connection was reset although the submission was then stored, so its client could not tell.
 */
export const STORING_IDLE_TIMEOUT_MS = RESERVE_BUSY_TIMEOUT_MS + LOCK_WAIT_MS + 2_000;

/** Sets the idle timeout of the request's connection, when it has a socket (an injected request has none to set). */
function setIdleTimeout(request: FastifyRequest, ms: number): void {
  const { socket } = request.raw;
  if (typeof socket?.setTimeout === 'function') socket.setTimeout(ms);
}

/** Lengthens the connection's idle timeout to STORING_IDLE_TIMEOUT_MS while the submission is stored, when the server's is shorter. */
export const holdOpenWhileStoring: preHandlerHookHandler = function (request, _reply, done) {
  const { timeout } = this.server;
  if (timeout > 0 && timeout < STORING_IDLE_TIMEOUT_MS) setIdleTimeout(request, STORING_IDLE_TIMEOUT_MS);
  done();
};

/**
 * Gives the connection the server's idle timeout back before the answer is written: an answer its
 * client does not read, or a body that stops arriving, is cut off as on any other route.
 */
export const idleTimeoutAsBefore: onSendHookHandler = function (request, _reply, payload, done) {
  const { timeout } = this.server;
  if (timeout > 0 && timeout < STORING_IDLE_TIMEOUT_MS) setIdleTimeout(request, timeout);
  done(null, payload);
};
