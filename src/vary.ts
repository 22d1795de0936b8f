import type { FastifyReply } from 'fastify';

const listed = (vary: string, field: string) =>
  vary
    .toLowerCase()
    .split(/\s*,\s*/)
    .includes(field.toLowerCase());

/** Adds a field to the Vary header once, keeping those already there (`*` already covers all). */
export function varyOn(reply: FastifyReply, field: string): FastifyReply {
  const vary = reply.getHeader('vary');
  if (vary === undefined || vary === '') return reply.header('vary', field);
  const fields = String(vary);
  if (fields === '*' || listed(fields, field)) return reply;
  return reply.header('vary', `${fields}, ${field}`);
}
