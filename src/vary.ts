import type { FastifyReply } from 'fastify';

/** Adds a field to the Vary header, keeping those already there (CORS varies on Origin first). */
export function varyOn(reply: FastifyReply, field: string): FastifyReply {
  const vary = reply.getHeader('vary');
  return reply.header('vary', vary ? `${vary}, ${field}` : field);
}
