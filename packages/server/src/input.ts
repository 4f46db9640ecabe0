// The parsed inputs of a route, and parsing raw request parts against the route's zod schemas.
import { StudioError } from '@sparkle-studio/core'
import type { AnyRoute } from '@sparkle-studio/core/contract'
import type { z } from 'zod'

/**
 * What a use case receives for a route: the outputs of the route's `params`, `query`, `headers` and `body` schemas,
 * each member present only when the route has that schema.
 */
export type RouteCallInput<R extends AnyRoute> = (R['params'] extends z.ZodObject
  ? { readonly params: z.output<R['params']> }
  : unknown) &
  (R['query'] extends z.ZodObject ? { readonly query: z.output<R['query']> } : unknown) &
  (R['headers'] extends z.ZodObject ? { readonly headers: z.output<R['headers']> } : unknown) &
  (R['body'] extends z.ZodType ? { readonly body: z.output<R['body']> } : unknown)

/** The parts of a request before parsing: strings from HTTP, or the typed values a host passes. */
export interface RawRouteInput {
  readonly params: Readonly<Record<string, unknown>>
  readonly query: Readonly<Record<string, unknown>>
  /** The headers the route declares, by lower-case name. */
  readonly headers: Readonly<Record<string, unknown>>
  readonly body: unknown
}

function parsePart(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map((i) => ({
    path: `/${where}${i.path.map((p) => `/${String(p)}`).join('')}`,
    message: i.message,
    code: i.code === 'unrecognized_keys' ? 'unknown_field' : i.code,
  }))
  throw new StudioError('BAD_REQUEST', `Invalid ${where}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, {
    issues,
  })
}

/**
 * Parses a request's parts against a route's schemas.
 * @throws `BAD_REQUEST` naming every invalid field, or when a route without a query gets query parameters.
 */
export function parseRouteInput<R extends AnyRoute>(route: R, raw: RawRouteInput): RouteCallInput<R> {
  if (!route.query && Object.keys(raw.query).length > 0) {
    throw new StudioError('BAD_REQUEST', 'This route takes no query parameters')
  }
  const input: Record<string, unknown> = {}
  if (route.params) input['params'] = parsePart(route.params, raw.params, 'params')
  if (route.query) input['query'] = parsePart(route.query, raw.query, 'query')
  if (route.headers) input['headers'] = parsePart(route.headers, raw.headers, 'headers')
  if (route.body) input['body'] = parsePart(route.body, raw.body, 'body')
  return input as RouteCallInput<R>
}
