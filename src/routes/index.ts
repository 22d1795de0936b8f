import type { FastifyPluginAsync } from 'fastify';
import assessments, { type AssessmentRouteOptions } from './assessments/index.js';
import companySizes from './company-sizes/index.js';
import comparisons from './comparisons/index.js';
import competencies from './competencies/index.js';
import exports from './exports/index.js';
import health from './health/index.js';
import meta from './meta/index.js';
import problemTypes from './problems/index.js';
import roles from './roles/index.js';
import sources from './sources/index.js';

/** Every resource's routes, registered explicitly. */
const routes: FastifyPluginAsync<{ apiVersion: string } & AssessmentRouteOptions> = async (app, options) => {
  await app.register(health);
  await app.register(meta, { apiVersion: options.apiVersion });
  await app.register(problemTypes);
  await app.register(roles);
  await app.register(competencies);
  await app.register(companySizes);
  await app.register(sources);
  await app.register(comparisons);
  await app.register(exports);
  await app.register(assessments, {
    batchBodyLimit: options.batchBodyLimit,
    maxConcurrentBatches: options.maxConcurrentBatches,
    recentAssessmentsBytes: options.recentAssessmentsBytes,
    storageLimits: options.storageLimits,
  });
};

export default routes;
