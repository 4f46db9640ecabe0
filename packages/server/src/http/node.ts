// The node:http adapter, which the Express adapter shares.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { StudioError } from '@sparkle-studio/core'
import type { Studio } from '../studio.ts'
import {
  createStudioHandler,
  errorResponse,
  type HandlerOptions,
  type RequestBody,
  type StudioHandler,
  type StudioResponse,
} from './handler.ts'

/** Options of {@link studioNodeHandler}. */
export interface NodeHandlerOptions extends HandlerOptions {
  /**
   * The path the API is served under; requests elsewhere answer a `NOT_FOUND` envelope.
   * @default '/api/v1'
   */
  readonly basePath?: string | undefined
}

/** Reads a request stream up to `limit` bytes. */
function streamBody(req: IncomingMessage): RequestBody {
  return {
    kind: 'bytes',
    async read(limit) {
      const declared = Number(req.headers['content-length'] ?? 0)
      if (declared > limit) throw tooLarge(limit)
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of req) {
        const buffer = chunk as Buffer
        size += buffer.length
        if (size > limit) throw tooLarge(limit)
        chunks.push(buffer)
      }
      return Buffer.concat(chunks)
    },
    stream: () => req,
  }
}

function tooLarge(limit: number): StudioError {
  return new StudioError('PAYLOAD_TOO_LARGE', `The body is larger than the limit of ${limit} bytes`, { limit })
}

/** Writes a handler response to a node response; streams end when the client leaves. */
export async function writeNodeResponse(res: ServerResponse, response: StudioResponse): Promise<void> {
  res.statusCode = response.status
  for (const [k, v] of Object.entries(response.headers)) res.setHeader(k, v)
  if ('json' in response) {
    res.end(JSON.stringify(response.json))
    return
  }
  if ('empty' in response) {
    res.end()
    return
  }
  if ('bytes' in response) {
    await writeBytes(res, response.bytes)
    return
  }
  res.flushHeaders()
  try {
    for await (const text of response.stream) {
      if (res.destroyed) break
      res.write(text)
    }
  } finally {
    res.end()
  }
}

/** Writes a file's bytes as fast as the client reads them (waiting for `drain`), stopping when it goes away. */
async function writeBytes(res: ServerResponse, bytes: AsyncIterable<Uint8Array>): Promise<void> {
  const iterator = bytes[Symbol.asyncIterator]()
  try {
    for (;;) {
      const next = await iterator.next()
      if (next.done || res.destroyed) break
      if (!res.write(next.value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('drain', go)
            res.off('close', go)
            resolve()
          }
          res.on('drain', go)
          res.on('close', go)
        })
      }
    }
  } finally {
    await iterator.return?.()
    res.end()
  }
}

/** Express's `req.ip`, which follows its `trust proxy` setting (a plain node request has none). */
function expressIp(req: IncomingMessage): string | undefined {
  const ip: unknown = (req as IncomingMessage & { ip?: unknown }).ip
  return typeof ip === 'string' ? ip : undefined
}

/** Serves one node request with `handler`; `url` is the request's URL below the mount point. */
export async function serveNode(
  handler: StudioHandler,
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  body?: RequestBody,
): Promise<void> {
  const controller = new AbortController()
  res.on('close', () => controller.abort())
  const parsed = new URL(url, 'http://localhost')
  const response = await handler({
    method: req.method ?? 'GET',
    path: parsed.pathname,
    query: parsed.searchParams,
    header: (name) => {
      const value = req.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    },
    body: body ?? streamBody(req),
    signal: controller.signal,
    remoteAddress: expressIp(req) ?? req.socket.remoteAddress,
  })
  await writeNodeResponse(res, response)
}

/**
 * The API as a `node:http` request listener, under `basePath`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createStudio, studioNodeHandler } from '@sparkle-studio/server'
 *
 * const studio = await createStudio({ dataDir: '.data' })
 * createServer(studioNodeHandler(studio)).listen(3000, '127.0.0.1')
 * ```
 */
export function studioNodeHandler(
  studio: Studio,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const handler = createStudioHandler(studio, options)
  const base = (options.basePath ?? '/api/v1').replace(/\/$/, '')
  return (req, res) => {
    const url = req.url ?? '/'
    if (!(url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`))) {
      const path = url.split('?')[0] ?? url
      const { status, json } = errorResponse(
        new StudioError('NOT_FOUND', `No route ${req.method} ${path}`),
        '',
        studio.log,
      )
      void writeNodeResponse(res, { status, json, headers: { 'content-type': 'application/json; charset=utf-8' } })
      return
    }
    serveNode(handler, req, res, url.slice(base.length) || '/').catch((error: unknown) => {
      studio.log.error('response failed', { error: error instanceof Error ? error.message : String(error) })
      if (!res.headersSent) res.statusCode = 500
      res.end()
    })
  }
}

/** What Node says of a request it could not parse (the `clientError` event's error). */
type ClientError = Error & { readonly code?: string }

/**
 * Answers the requests Node's HTTP parser refuses before any handler runs in the API's error envelope instead of
 * Node's bodyless default: a request line or headers past `maxHeaderSize` (a long URL included) are
 * `431 HEADERS_TOO_LARGE`, other malformed requests `400 BAD_REQUEST`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { answerClientErrors, createStudio, studioNodeHandler } from '@sparkle-studio/server'
 *
 * const server = createServer(studioNodeHandler(await createStudio({ dataDir: '.data' })))
 * answerClientErrors(server)
 * server.listen(3000, '127.0.0.1')
 * ```
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: ClientError, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const status = tooLarge ? 431 : 400
    const body = JSON.stringify({
      success: false,
      error: tooLarge
        ? { code: 'HEADERS_TOO_LARGE', message: 'The URL and headers are larger than the server accepts' }
        : { code: 'BAD_REQUEST', message: 'The request is not valid HTTP' },
    })
    const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'
    // Read (and drop) what the client still sends, so that closing does not reset the connection before it reads the
    // answer; a client that never stops is cut off after a few seconds.
    socket.on('data', () => {})
    socket.resume()
    const cutOff = setTimeout(() => socket.destroy(), 5_000)
    cutOff.unref()
    socket.once('close', () => clearTimeout(cutOff))
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  })
}
