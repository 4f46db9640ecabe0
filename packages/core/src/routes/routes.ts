import type { HttpMethod, Role, RouteInfo } from './route-info.ts'

interface RouteDeclaration {
  readonly method: HttpMethod
  readonly path: string
  readonly role: Role
  /** Only for a POST that may be retried; GET, PUT and DELETE always may. */
  readonly idempotent?: true
  readonly stream?: 'sse'
  /** Answers anonymous callers too (see {@link RouteInfo.public}). */
  readonly public?: true
  /** The body is a file (see {@link RouteInfo.upload}). */
  readonly upload?: true
  /** The answer is a file's bytes (see {@link RouteInfo.download}). */
  readonly download?: true
}

function defineRoutes<const T extends Record<string, RouteDeclaration>>(
  table: T,
): {
  readonly [K in keyof T & string]: RouteInfo<K, T[K]['method'], T[K]['path']> &
    (T[K]['stream'] extends 'sse' ? { readonly stream: 'sse' } : unknown) &
    (T[K]['public'] extends true ? { readonly public: true } : unknown) &
    (T[K]['upload'] extends true ? { readonly upload: true } : unknown) &
    (T[K]['download'] extends true ? { readonly download: true } : unknown)
} {
  const out: Record<string, RouteInfo> = {}
  for (const [name, { method, path, role, idempotent, stream, public: isPublic, upload, download }] of Object.entries(
    table,
  )) {
    out[name] = Object.freeze({
      name,
      method,
      path,
      role,
      idempotent: idempotent ?? method !== 'POST',
      ...(stream ? { stream } : {}),
      ...(isPublic ? { public: true as const } : {}),
      ...(upload ? { upload: true as const } : {}),
      ...(download ? { download: true as const } : {}),
    })
  }
  return Object.freeze(out) as never
}

/**
 * Every route of the Sparkle Studio HTTP API by name: method, path (under `/api/v1`), role, whether it may be retried,
 * whether it streams and whether it answers anonymous callers. The one home of these facts: the zod contract
 * (`@sparkle-studio/core/contract`) builds each route on its entry here, the client calls them, a server checks roles
 * against them. Imports no zod.
 *
 * @example
 * ```ts
 * import { routes } from '@sparkle-studio/core/routes'
 *
 * for (const route of Object.values(routes)) console.log(route.method, route.path, route.role)
 * ```
 */
export const routes = defineRoutes({
  // The one public route: anonymous callers learn only that the server is up.
  health: { method: 'GET', path: '/health', role: 'viewer', public: true },
  // Roots and limits name the server's folders: for those who author and run pipelines.
  getPolicy: { method: 'GET', path: '/policy', role: 'editor' },

  listComponents: { method: 'GET', path: '/components', role: 'viewer' },
  componentCategories: { method: 'GET', path: '/components/categories', role: 'viewer' },
  searchComponents: { method: 'GET', path: '/components/search', role: 'viewer' },
  getComponent: { method: 'GET', path: '/components/{type}/{name}', role: 'viewer' },
  validateComponentConfig: {
    method: 'POST',
    path: '/components/{type}/{name}/validate',
    role: 'viewer',
    idempotent: true,
  },

  listTemplates: { method: 'GET', path: '/templates', role: 'viewer' },
  listPipelines: { method: 'GET', path: '/pipelines', role: 'viewer' },
  createPipeline: { method: 'POST', path: '/pipelines', role: 'editor' },
  getPipeline: { method: 'GET', path: '/pipelines/{name}', role: 'viewer' },
  savePipeline: { method: 'PUT', path: '/pipelines/{name}', role: 'editor' },
  deletePipeline: { method: 'DELETE', path: '/pipelines/{name}', role: 'editor' },
  exportPipeline: { method: 'POST', path: '/pipelines/{name}/export', role: 'admin' },
  pipelineHistory: { method: 'GET', path: '/pipelines/{name}/history', role: 'viewer' },
  pipelineDiff: { method: 'GET', path: '/pipelines/{name}/diff', role: 'viewer' },
  validatePipeline: { method: 'POST', path: '/pipelines/{name}/validate', role: 'viewer', idempotent: true },
  pipelinePlan: { method: 'GET', path: '/pipelines/{name}/plan', role: 'viewer' },
  pipelineUsage: { method: 'GET', path: '/pipelines/{name}/usage', role: 'viewer' },

  dryRun: { method: 'POST', path: '/execute/dry-run', role: 'editor', idempotent: true },
  run: { method: 'POST', path: '/execute/run', role: 'editor' },
  backfill: { method: 'POST', path: '/execute/backfill', role: 'editor' },
  listExecutions: { method: 'GET', path: '/executions', role: 'viewer' },
  getExecution: { method: 'GET', path: '/executions/{id}', role: 'viewer' },
  // Driver logs name paths and hosts: not for viewers.
  executionLogs: { method: 'GET', path: '/executions/{id}/logs', role: 'editor' },
  executionEvents: { method: 'GET', path: '/executions/{id}/events', role: 'viewer', stream: 'sse' },
  executionSteps: { method: 'GET', path: '/executions/{id}/steps', role: 'viewer' },
  cancelExecution: { method: 'POST', path: '/executions/{id}/cancel', role: 'editor', idempotent: true },
  retryExecution: { method: 'POST', path: '/executions/{id}/retry', role: 'editor' },
  getBackfill: { method: 'GET', path: '/backfills/{id}', role: 'viewer' },

  // Schedules live in the pipelines' documents: pausing or resuming one is a commit (and repeating it changes nothing).
  listSchedules: { method: 'GET', path: '/schedules', role: 'viewer' },
  pauseSchedule: { method: 'POST', path: '/schedules/{name}/pause', role: 'editor', idempotent: true },
  resumeSchedule: { method: 'POST', path: '/schedules/{name}/resume', role: 'editor', idempotent: true },

  gitStatus: { method: 'GET', path: '/git/status', role: 'viewer' },
  listBranches: { method: 'GET', path: '/git/branches', role: 'viewer' },
  createBranch: { method: 'POST', path: '/git/branches', role: 'editor' },
  commit: { method: 'POST', path: '/git/commit', role: 'editor' },
  pull: { method: 'POST', path: '/git/pull', role: 'editor' },
  push: { method: 'POST', path: '/git/push', role: 'admin' },
  createPullRequest: { method: 'POST', path: '/git/create-pr', role: 'admin' },

  // Data artifacts: files uploaded to preview pipelines on. The upload's body is the file (or a multipart form), the
  // download's answer the file's bytes.
  uploadArtifact: { method: 'POST', path: '/artifacts', role: 'editor', upload: true },
  listArtifacts: { method: 'GET', path: '/artifacts', role: 'viewer' },
  getArtifact: { method: 'GET', path: '/artifacts/{id}', role: 'viewer' },
  artifactSample: { method: 'GET', path: '/artifacts/{id}/sample', role: 'viewer' },
  downloadArtifact: { method: 'GET', path: '/artifacts/{id}/download', role: 'viewer', download: true },
  deleteArtifact: { method: 'DELETE', path: '/artifacts/{id}', role: 'editor' },

  createKey: { method: 'POST', path: '/keys', role: 'admin' },
  listKeys: { method: 'GET', path: '/keys', role: 'admin' },
  revokeKey: { method: 'DELETE', path: '/keys/{id}', role: 'admin' },
  listAudit: { method: 'GET', path: '/audit', role: 'admin' },

  // Webhooks: the server POSTs signed events to the receiver URLs admins subscribe.
  createWebhook: { method: 'POST', path: '/webhooks', role: 'admin' },
  listWebhooks: { method: 'GET', path: '/webhooks', role: 'admin' },
  deleteWebhook: { method: 'DELETE', path: '/webhooks/{id}', role: 'admin' },
  listWebhookDeliveries: { method: 'GET', path: '/webhooks/{id}/deliveries', role: 'admin' },
})

/** The route table's type: route name to {@link RouteInfo}, with literal methods and paths. */
export type Routes = typeof routes

/** The name of a route of the API. */
export type RouteName = keyof Routes

/** Every route name, in the table's order. */
export const ROUTE_NAMES: readonly RouteName[] = Object.freeze(Object.keys(routes) as RouteName[])
