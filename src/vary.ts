import type { FastifyReply } from 'fastify';

/**
 * Whether a Vary value lists the field. Split on commas alone, then trimmed: a pattern that takes the
 * spaces around each comma backtracks quadratically over a long run of spaces.
 */
const listed = (vary: string, field: string) => {
  const name = field.toLowerCase();
  return vary
    .toLowerCase()
    .split(',')
    .some((listedName) => listedName.trim() === name);
};

/** Adds a field to the Vary header once, keeping those already there (`*` already covers all). */
export function varyOn(reply: FastifyReply, field: string): FastifyReply {
  const vary = reply.getHeader('vary');
  if (vary === undefined || vary === '') return reply.header('vary', field);
  const fields = String(vary);
  if (fields === '*' || listed(fields, field)) return reply;
  return reply.header('vary', `${fields}, ${field}`);
}
