import type { HttpMethod, RouteName } from '@sparkle-studio/core/contract'

/** Method, path and whether a call may be retried, per route: the only runtime part of the contract the client needs. */
export type RouteTable = { readonly [K in RouteName]: readonly [method: HttpMethod, path: string, idempotent: boolean] }

/**
 * The route table. Kept apart from the zod contract so that browser bundles carry no schemas; a test checks it
 * against the contract, and the type makes sure every route is here.
 */
export const routeTable: RouteTable = {
  health: ['GET', '/health', true],
  listComponents: ['GET', '/components', true],
  componentCategories: ['GET', '/components/categories', true],
  searchComponents: ['GET', '/components/search', true],
  getComponent: ['GET', '/components/{type}/{name}', true],
  validateComponentConfig: ['POST', '/components/{type}/{name}/validate', true],
  listTemplates: ['GET', '/templates', true],
  listPipelines: ['GET', '/pipelines', true],
  createPipeline: ['POST', '/pipelines', false],
  getPipeline: ['GET', '/pipelines/{name}', true],
  savePipeline: ['PUT', '/pipelines/{name}', true],
  deletePipeline: ['DELETE', '/pipelines/{name}', true],
  exportPipeline: ['POST', '/pipelines/{name}/export', false],
  pipelineHistory: ['GET', '/pipelines/{name}/history', true],
  pipelineDiff: ['GET', '/pipelines/{name}/diff', true],
  validatePipeline: ['POST', '/pipelines/{name}/validate', true],
  pipelinePlan: ['GET', '/pipelines/{name}/plan', true],
  dryRun: ['POST', '/execute/dry-run', true],
  run: ['POST', '/execute/run', false],
  backfill: ['POST', '/execute/backfill', false],
  listExecutions: ['GET', '/executions', true],
  getExecution: ['GET', '/executions/{id}', true],
  executionLogs: ['GET', '/executions/{id}/logs', true],
  executionEvents: ['GET', '/executions/{id}/events', true],
  cancelExecution: ['POST', '/executions/{id}/cancel', true],
  retryExecution: ['POST', '/executions/{id}/retry', false],
  getBackfill: ['GET', '/backfills/{id}', true],
  gitStatus: ['GET', '/git/status', true],
  listBranches: ['GET', '/git/branches', true],
  createBranch: ['POST', '/git/branches', false],
  commit: ['POST', '/git/commit', false],
  pull: ['POST', '/git/pull', false],
  push: ['POST', '/git/push', false],
  createPullRequest: ['POST', '/git/create-pr', false],
}
