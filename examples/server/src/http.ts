// Mounting contract routes on Express: input validation, the response envelope, and errors as typed envelopes.
import { randomUUID } from 'node:crypto'
import { errorStatus, isStudioError, StudioError } from '@sparkle-studio/core'
import type { AnyRoute, RouteOutput } from '@sparkle-studio/core/contract'
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express'
import type { z } from 'zod'
import type { Logger } from './logger.ts'

/** The parsed inputs a handler gets (outputs of the route's schemas). */
export interface ParsedInput<R extends AnyRoute> {
  readonly params: R['params'] extends z.ZodObject ? z.output<R['params']> : Record<string, never>
  readonly query: R['query'] extends z.ZodObject ? z.output<R['query']> : Record<string, never>
  readonly headers: R['headers'] extends z.ZodObject ? z.output<R['headers']> : Record<string, never>
  readonly body: R['body'] extends z.ZodType ? z.output<R['body']> : undefined
}

/** What a handler gets besides its inputs. */
export interface HandlerContext {
  readonly req: Request
  readonly res: Response
  readonly requestId: string
  readonly log: Logger
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
}

/** A route handler: returns the `data` of the envelope (or handles the response itself for streams). */
export type Handler<R extends AnyRoute> = (
  input: ParsedInput<R>,
  ctx: HandlerContext,
) => Promise<RouteOutput<R> | undefined>

function issuesOf(error: z.ZodError, where: string) {
  return error.issues.map((i) => ({
    path: `/${where}${i.path.map((p) => `/${String(p)}`).join('')}`,
    message: i.message,
    code: i.code === 'unrecognized_keys' ? 'unknown_field' : i.code,
  }))
}

function parse<S extends z.ZodType | undefined>(schema: S, value: unknown, where: string): unknown {
  if (!schema) return where === 'body' ? undefined : {}
  const result = schema.safeParse(value)
  if (!result.success) {
    const issues = issuesOf(result.error, where)
    throw new StudioError(
      'BAD_REQUEST',
      `Invalid ${where}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      { issues },
    )
  }
  return result.data
}

/** Express path from an OpenAPI path: `/pipelines/{name}` -> `/pipelines/:name`. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1')
}

/** Request id and a child logger per request; the id comes back in `x-request-id`. */
export function requestContext(log: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id')
    const id = incoming && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID()
    res.locals['requestId'] = id
    res.locals['log'] = log.child({ requestId: id })
    res.setHeader('x-request-id', id)
    const started = performance.now()
    res.on('finish', () => {
      ;(res.locals['log'] as Logger).info('request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      })
    })
    next()
  }
}

/** Mounts one contract route with its handler on a router. */
export function mount<R extends AnyRoute>(router: Router, route: R, handler: Handler<R>): void {
  const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'
  router[method](expressPath(route.path), async (req: Request, res: Response, next: NextFunction) => {
    const controller = new AbortController()
    res.on('close', () => controller.abort())
    try {
      const hasQuery = Object.keys(req.query as object).length > 0
      if (!route.query && hasQuery) throw new StudioError('BAD_REQUEST', 'This route takes no query parameters')
      const headers: Record<string, string> = {}
      for (const key of Object.keys(route.headers?.shape ?? {})) {
        const value = req.get(key)
        if (value !== undefined) headers[key] = value
      }
      const body =
        req.body === undefined ||
        (typeof req.body === 'object' &&
          req.body !== null &&
          Object.keys(req.body).length === 0 &&
          !req.get('content-length'))
          ? undefined
          : req.body
      const input = {
        params: parse(route.params, req.params, 'params'),
        query: parse(route.query, req.query, 'query'),
        headers: parse(route.headers, headers, 'headers'),
        body: route.body ? parse(route.body, body, 'body') : undefined,
      } as ParsedInput<R>
      const ctx: HandlerContext = {
        req,
        res,
        requestId: String(res.locals['requestId']),
        log: res.locals['log'] as Logger,
        signal: controller.signal,
      }
      const data = await handler(input, ctx)
      if (route.stream === 'sse' || res.headersSent) return
      res.status(route.status ?? 200).json({ success: true, data })
    } catch (error) {
      next(error)
    }
  })
}

/** Turns any error into the `{ success: false, error }` envelope with the right status. Never leaks internals. */
export function errorHandler(): (error: unknown, req: Request, res: Response, next: NextFunction) => void {
  return (error, _req, res, _next) => {
    const log = (res.locals['log'] as Logger | undefined) ?? undefined
    const requestId = res.locals['requestId'] as string | undefined
    let status: number
    let body: { code: string; message: string; details?: unknown }
    const parserError = error as { type?: string; status?: number; limit?: number }
    if (isStudioError(error)) {
      status = errorStatus[error.code]
      body = error.toJSON()
    } else if (parserError.type === 'entity.too.large') {
      status = 413
      body = { code: 'PAYLOAD_TOO_LARGE', message: `The body is larger than the limit of ${parserError.limit} bytes` }
    } else if (parserError.type === 'entity.parse.failed') {
      status = 400
      body = { code: 'BAD_REQUEST', message: 'The body is not valid JSON' }
    } else if (parserError.type && typeof parserError.status === 'number' && parserError.status < 500) {
      status = parserError.status
      body = { code: 'BAD_REQUEST', message: `The request could not be read (${parserError.type})` }
    } else if (error instanceof URIError) {
      status = 400
      body = { code: 'BAD_REQUEST', message: 'The URL is not valid' }
    } else {
      status = 500
      body = { code: 'INTERNAL', message: 'Internal error; the server log has the details (quote the request id)' }
      log?.error('unhandled error', {
        error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
      })
    }
    if (res.headersSent) {
      res.end()
      return
    }
    res.status(status).json({ success: false, error: body, ...(requestId ? { requestId } : {}) })
  }
}
