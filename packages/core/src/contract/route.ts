import { z } from 'zod'
import type { ErrorCode } from '../errors.ts'
import type { RouteInfo } from '../routes/route-info.ts'

/**
 * What a route documents and answers besides its {@link RouteInfo} (which comes from `@sparkle-studio/core/routes`):
 * summary, OpenAPI tag, response schema, success status and errors.
 */
export interface RouteDocs<Response extends z.ZodType = z.ZodType> {
  readonly summary: string
  readonly description?: string
  /** OpenAPI tag (group in the docs page). */
  readonly tag: string
  /** The `data` of the success envelope. */
  readonly response: Response
  /**
   * Success status.
   * @default 200
   */
  readonly status?: 200 | 201 | 202
  /**
   * Error codes the route may answer besides those any route may (`BAD_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`,
   * `MISDIRECTED_REQUEST`, `RATE_LIMITED`, `PAYLOAD_TOO_LARGE`, `INTERNAL`, and `UNSUPPORTED_MEDIA_TYPE` with a body).
   */
  readonly errors: readonly ErrorCode[]
  /**
   * The answer's `blob` is its entity tag: the server sends it as `ETag: "<blob>"`, and on a GET an `If-None-Match`
   * that names it answers `304 Not Modified` without a body.
   * @default false
   */
  readonly etag?: boolean
}

/** What every route declares, whatever its inputs: its wire facts (method, path, role, ...) and its docs. */
export type RouteBase<Response extends z.ZodType = z.ZodType> = RouteInfo & RouteDocs<Response>

/** A route field that is present (and required) when its schema is given, absent otherwise. */
export type RouteField<K extends string, T> = [T] extends [undefined]
  ? { readonly [P in K]?: undefined }
  : { readonly [P in K]: T }

/**
 * One route of the API: method, path, inputs and output as zod schemas, the role it needs and the errors it gives.
 * `params` are path parameters, `query` query parameters (strings on the wire; schemas coerce; unknown ones are
 * rejected), `headers` the request headers the route reads (lower-case names, e.g. `if-match`), `body` the JSON body
 * (unknown fields are rejected).
 */
export type RouteSpec<
  Params extends z.ZodObject | undefined = z.ZodObject | undefined,
  Query extends z.ZodObject | undefined = z.ZodObject | undefined,
  Body extends z.ZodType | undefined = z.ZodType | undefined,
  Headers extends z.ZodObject | undefined = z.ZodObject | undefined,
  Response extends z.ZodType = z.ZodType,
> = RouteBase<Response> &
  RouteField<'params', Params> &
  RouteField<'query', Query> &
  RouteField<'body', Body> &
  RouteField<'headers', Headers>

/**
 * Defines a route of the contract on its entry in the zod-free route table: method, path, role, idempotency and
 * streaming come from `info`, so the contract and the table cannot disagree; `spec` adds the docs and the schemas.
 *
 * @example
 * ```ts
 * import { defineRoute } from '@sparkle-studio/core/contract'
 * import { routes } from '@sparkle-studio/core/routes'
 * import { z } from 'zod'
 *
 * const health = defineRoute(routes.health, {
 *   summary: 'Health',
 *   tag: 'system',
 *   response: z.object({ status: z.string() }),
 *   errors: [],
 * })
 * ```
 */
export function defineRoute<
  Info extends RouteInfo,
  Response extends z.ZodType,
  Params extends z.ZodObject | undefined = undefined,
  Query extends z.ZodObject | undefined = undefined,
  Body extends z.ZodType | undefined = undefined,
  Headers extends z.ZodObject | undefined = undefined,
>(
  info: Info,
  spec: RouteDocs<Response> & {
    readonly params?: Params
    readonly query?: Query
    readonly body?: Body
    readonly headers?: Headers
  },
): Info & RouteSpec<Params, Query, Body, Headers, Response> {
  return Object.freeze({ ...spec, ...info }) as Info & RouteSpec<Params, Query, Body, Headers, Response>
}

/** Any route. */
export type AnyRoute = RouteBase & {
  readonly params?: z.ZodObject | undefined
  readonly query?: z.ZodObject | undefined
  readonly body?: z.ZodType | undefined
  readonly headers?: z.ZodObject | undefined
}

/** The input type of a schema, or never. */
export type InputOf<S> = S extends z.ZodType ? z.input<S> : never
/** The `body` member of a route input: optional when the body schema accepts undefined. */
export type BodyInput<B> = B extends z.ZodType
  ? undefined extends z.input<B>
    ? { readonly body?: z.input<B> }
    : { readonly body: z.input<B> }
  : unknown

/** What a caller passes to a route: `params`, `query`, `headers` and `body`, each present only when the route has it. */
export type RouteInput<R extends AnyRoute> = (R['params'] extends z.ZodObject
  ? { readonly params: InputOf<R['params']> }
  : unknown) &
  (R['query'] extends z.ZodObject ? { readonly query?: InputOf<R['query']> } : unknown) &
  (R['headers'] extends z.ZodObject ? { readonly headers?: InputOf<R['headers']> } : unknown) &
  BodyInput<R['body']>

/** What a route answers in the `data` of its success envelope. */
export type RouteOutput<R extends AnyRoute> = z.output<R['response']>

/** The error body every route answers with on failure. */
export const ErrorBodySchema = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().meta({ description: 'Stable error code, e.g. VALIDATION_FAILED, NOT_FOUND, CONFLICT' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
    requestId: z.string().optional(),
  })
  .meta({ id: 'ErrorBody', title: 'Error' })

/** The success envelope around a route's `data`. */
export function successEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ success: z.literal(true), data, message: z.string().optional() })
}

/** The error body type. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>
