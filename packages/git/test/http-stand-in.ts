// A tiny HTTP server on 127.0.0.1 for the hosting-provider stand-ins: records requests, answers with a handler.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request the stand-in received. */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingMessage['headers']
  readonly body: unknown
}

/** What a handler answers. */
export interface StandInReply {
  readonly status: number
  readonly body: unknown
}

/** A running stand-in. */
export interface HttpStandIn {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** Every request received, in order. */
  readonly requests: RecordedRequest[]
  /** Every way a request broke the documented contract (the tests expect none). */
  readonly violations: string[]
  close(): Promise<void>
}

/** Starts a stand-in whose `handle` checks a request (pushing contract violations) and answers it. */
export async function startStandIn(
  handle: (request: RecordedRequest, violations: string[]) => StandInReply,
): Promise<HttpStandIn> {
  const requests: RecordedRequest[] = []
  const violations: string[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown = text
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        violations.push('the request body is not JSON')
      }
      const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body }
      requests.push(recorded)
      const reply = handle(recorded, violations)
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(reply.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    violations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Pushes a violation for every key of `body` not in `allowed`, every missing `required` key and every wrong type. */
export function checkFields(
  body: unknown,
  fields: Readonly<Record<string, 'string' | 'boolean' | 'number' | 'number[]'>>,
  required: readonly string[],
  violations: string[],
  what: string,
): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    violations.push(`${what}: the body is not a JSON object`)
    return
  }
  const record = body as Record<string, unknown>
  for (const key of required) if (!(key in record)) violations.push(`${what}: required field "${key}" is missing`)
  for (const [key, value] of Object.entries(record)) {
    const type = fields[key]
    if (!type) violations.push(`${what}: "${key}" is not a documented field`)
    else if (type === 'number[]' ? !Array.isArray(value) : typeof value !== type)
      violations.push(`${what}: "${key}" should be a ${type}, got ${typeof value}`)
  }
}
