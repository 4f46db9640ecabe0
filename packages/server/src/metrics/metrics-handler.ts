// GET /metrics for Prometheus: the studio's registry in the text format, for callers with a credential only.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { StudioError } from '@sparkle-studio/core'
import { bearerToken } from '../auth/authenticate.ts'
import { errorResponse } from '../http/handler.ts'
import type { Studio } from '../studio.ts'

/** Options of {@link studioMetricsHandler}. */
export interface MetricsHandlerOptions {
  /**
   * A bearer token that may scrape, besides API keys and JWTs (`SPARKLE_METRICS_TOKEN` in the example server): give it
   * to Prometheus instead of an API key. It opens `/metrics` only, never the API.
   */
  readonly token?: string | undefined
}

const digest = (text: string) => createHash('sha256').update(text).digest()

/** True when `given` is `expected`, compared in constant time (over digests, so lengths leak nothing either). */
function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

function answer(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.statusCode = status
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  res.end(body)
}

function answerError(res: ServerResponse, studio: Pick<Studio, 'log'>, error: unknown, headers = {}): void {
  const { status, json } = errorResponse(error, '', studio.log)
  answer(res, status, { ...headers, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(json))
}

/**
 * The studio's Prometheus metrics as a `node:http` request listener (Express takes it as it is): `GET` (or `HEAD`)
 * answers the studio's registry in the Prometheus text format (`text/plain; version=0.0.4`). Never anonymous: the
 * caller sends `Authorization: Bearer` with the `token` of the options, or with anything `studio.authenticate`
 * accepts (an API key or a JWT of any role: a viewer may already read every pipeline and run the figures count);
 * anyone else gets `401 UNAUTHORIZED`. It answers whatever path it is mounted at.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createStudio, studioMetricsHandler } from '@sparkle-studio/server'
 *
 * const studio = await createStudio({ dataDir: '.data' })
 * const app = express()
 * app.all('/metrics', studioMetricsHandler(studio, { token: process.env['SPARKLE_METRICS_TOKEN'] }))
 * app.listen(3000, '127.0.0.1')
 * ```
 */
export function studioMetricsHandler(
  studio: Pick<Studio, 'metrics' | 'authenticate' | 'log'>,
  options: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const token = options.token || undefined
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET'
    if (method !== 'GET' && method !== 'HEAD') {
      answerError(res, studio, new StudioError('METHOD_NOT_ALLOWED', `${method} is not allowed on the metrics`), {
        allow: 'GET, HEAD',
      })
      return
    }
    const header = (name: string) => {
      const value = req.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    }
    const bearer = bearerToken({ header })
    let allowed = token !== undefined && bearer !== undefined && sameToken(bearer, token)
    if (!allowed) {
      try {
        allowed = (await studio.authenticate({ method, path: (req.url ?? '/').split('?')[0] ?? '/', header })) !== null
      } catch (error) {
        answerError(res, studio, error, { 'www-authenticate': 'Bearer' })
        return
      }
    }
    if (!allowed) {
      const refused = new StudioError(
        'UNAUTHORIZED',
        'Authentication required: send Authorization: Bearer <metrics token, API key or token>',
      )
      answerError(res, studio, refused, { 'www-authenticate': 'Bearer' })
      return
    }
    const { contentType, text } = await studio.metrics.scrape()
    answer(
      res,
      200,
      { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
      method === 'HEAD' ? '' : text,
    )
  }
  return (req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (res.headersSent) res.end()
      else answerError(res, studio, error)
    })
  }
}
