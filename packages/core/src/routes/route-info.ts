/**
 * The roles, from least to most powerful: each includes the ones before it. `viewer` reads; `editor` saves, runs and
 * reads run logs; `admin` pushes, opens pull requests, manages API keys and reads the audit log.
 *
 * @example
 * ```ts
 * import { ROLES, type Role } from '@sparkle-studio/core/routes'
 *
 * const atLeast = (held: Role, needed: Role) => ROLES.indexOf(held) >= ROLES.indexOf(needed)
 * ```
 */
export const ROLES = Object.freeze(['viewer', 'editor', 'admin'] as const)

/** Who may call a route (see {@link ROLES}, least powerful first). */
export type Role = (typeof ROLES)[number]

/** HTTP methods used by the API. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

/** The path every route is under: route paths are relative to it. */
export const API_BASE_PATH = '/api/v1'

/**
 * What a route is on the wire, without its schemas: enough for a client to call it, for a server to check its role,
 * and for the zod contract to build on (the contract takes these fields from here, so they cannot disagree).
 *
 * @example
 * ```ts
 * import { buildPath, routes } from '@sparkle-studio/core/routes'
 *
 * const { method, path } = routes.getPipeline // 'GET', '/pipelines/{name}'
 * const url = `/api/v1${buildPath(path, { name: 'orders' })}`
 * ```
 */
export interface RouteInfo<
  Name extends string = string,
  Method extends HttpMethod = HttpMethod,
  Path extends string = string,
> {
  /** The route's name, its key in {@link routes} and the client's method name (the OpenAPI `operationId`). */
  readonly name: Name
  readonly method: Method
  /** Path under {@link API_BASE_PATH}, OpenAPI style: `/pipelines/{name}`. */
  readonly path: Path
  /** The least role that may call it. */
  readonly role: Role
  /**
   * Whether calling it twice does what calling it once does, so a client may retry it after a network failure or a
   * 5xx. GET, PUT and DELETE are; a POST only when it says so.
   */
  readonly idempotent: boolean
  /** `'sse'` when the route answers a stream of Server-Sent Events instead of JSON. */
  readonly stream?: 'sse'
  /**
   * `true` when the request body is a file, sent as it is (its own content type) or as the `file` part of a
   * `multipart/form-data` form, and streamed by the server instead of parsed as JSON.
   */
  readonly upload?: true
  /** `true` when the route answers the bytes of a file (byte ranges allowed) instead of a JSON envelope. */
  readonly download?: true
  /**
   * `true` when the route also answers callers without credentials (only `health`, which tells them no more than that
   * the server is up). Every other route refuses them with `UNAUTHORIZED`; a credential that is sent is always checked.
   */
  readonly public?: true
}

/** The names in `{name}` segments of a route path, e.g. `'type' | 'name'` for `/components/{type}/{name}`. */
export type PathParamNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PathParamNames<Rest>
  : never

/** The values {@link buildPath} needs for a path: one per `{name}` segment, or any record for a non-literal path. */
export type PathParams<Path extends string> = string extends Path
  ? Readonly<Record<string, unknown>> | undefined
  : { readonly [K in PathParamNames<Path>]: string | number }

/**
 * Fills the `{name}` segments of a route path with URL-encoded values.
 *
 * @throws TypeError when a segment has no value.
 * @example
 * ```ts
 * import { buildPath, routes } from '@sparkle-studio/core/routes'
 *
 * buildPath(routes.pipelineDiff.path, { name: 'daily revenue' }) // '/pipelines/daily%20revenue/diff'
 * ```
 */
export function buildPath<Path extends string>(
  path: Path,
  ...[params]: [PathParamNames<Path>] extends [never] ? [params?: PathParams<Path>] : [params: PathParams<Path>]
): string {
  const values = params as Readonly<Record<string, unknown>> | undefined
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, key: string) => {
    const value = values?.[key]
    if (value === undefined || value === null) throw new TypeError(`missing path parameter "${key}"`)
    return encodeURIComponent(String(value))
  })
}

/** True when a client may retry the route after a network failure or a 5xx (see {@link RouteInfo.idempotent}). */
export function isIdempotent(route: Pick<RouteInfo, 'idempotent'>): boolean {
  return route.idempotent
}
