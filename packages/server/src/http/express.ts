// The Express adapter: a middleware to mount under a path. It imports nothing from Express.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Studio } from '../studio.ts'
import { createStudioHandler, type HandlerOptions } from './handler.ts'
import { serveNode } from './node.ts'

/**
 * An Express request as the adapter reads it: a node request whose `url` is below the mount point (Express rewrites
 * it for mounted middleware), with the `body` a body parser in front of the API (`express.json()`) may have parsed.
 */
export type ExpressLikeRequest = IncomingMessage & { body?: unknown }

/** An Express (or Connect) middleware. */
export type ExpressLikeMiddleware = (
  req: ExpressLikeRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/**
 * The API as Express 5 middleware: mount it under the path of your choice. It parses its own JSON bodies (with the
 * limit in `options`), and also takes a body that `express.json()` in front of it already parsed.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createStudio, studioRouter } from '@sparkle-studio/server'
 *
 * const app = express()
 * app.use('/api/v1', studioRouter(await createStudio({ dataDir: '.data' })))
 * app.listen(3000, '127.0.0.1')
 * ```
 */
export function studioRouter(studio: Studio, options: HandlerOptions = {}): ExpressLikeMiddleware {
  const handler = createStudioHandler(studio, options)
  return (req, res, next) => {
    // body-parser marks a request whose body it consumed with `_body`.
    const parsed = (req as { _body?: unknown })._body === true
    serveNode(handler, req, res, req.url ?? '/', parsed ? { kind: 'parsed', value: req.body } : undefined).catch(next)
  }
}
