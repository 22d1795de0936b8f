import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

export type ProtectionOptions = {
  rateLimit: { enabled: boolean; max: number; windowMs: number };
  maxEventLoopDelayMs: number;
};

/** Seconds a client is asked to wait when the server sheds load. */
export const OVERLOAD_RETRY_AFTER_S = 5;

/**
 * Load shedding and rate limiting. Under event-loop pressure every route but the probes (which set
 * `config.pressureHandler` to let requests through) answers 503 with Retry-After instead of queueing;
 * /ready then reports not ready. Write routes opt into the per-client rate limit through their
 * `config.rateLimit`.
 */
export default fp<ProtectionOptions>(
  async (app, options) => {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      retryAfter: OVERLOAD_RETRY_AFTER_S,
    });

    if (options.rateLimit.enabled) {
      await app.register(rateLimit, {
        global: false,
        max: options.rateLimit.max,
        timeWindow: options.rateLimit.windowMs,
        // The client address comes from request.ip, which honours X-Forwarded-For only under trustProxy.
        keyGenerator: (request) => request.ip,
        errorResponseBuilder: (_request, context) =>
          new ApiError(
            429,
            'rate-limited',
            'Too Many Requests',
            `At most ${context.max} write requests per ${Math.round(context.ttl / 1000) || 1} s window. Retry after ${context.after}.`,
          ),
      });
    }
  },
  { name: 'protection' },
);
