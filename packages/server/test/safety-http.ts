// Helpers of the safety tests: raw HTTP requests (any Host, any content type) and the test's authenticator.
import { Agent, type IncomingHttpHeaders, request } from 'node:http'
import type { Principal } from '../src/index.ts'

/** One connection per request, closed after the answer: a test counts connections, not a pool's reuse. */
export const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })

/** A raw answer: status, headers and the parsed JSON envelope (if the body was JSON). */
export interface RawAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly json: { success?: boolean; error?: { code: string; message: string; details?: unknown } } | undefined
}

/** Sends one request to `base` (`http://127.0.0.1:port`) with exactly the headers given (plus Host unless set). */
export function send(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: init.method ?? 'GET',
        headers: {
          ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: RawAnswer['json']
          try {
            json = text ? (JSON.parse(text) as RawAnswer['json']) : undefined
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json })
        })
      },
    )
    req.on('error', reject)
    req.end(init.body)
  })
}

/**
 * The tests' authenticator: `x-test-caller` names the principal (its id), `x-test-role` its role (admin by
 * default); `x-test-caller: none` is anonymous.
 */
export function testPrincipal(header: (name: string) => string | undefined): Principal | null {
  const caller = header('x-test-caller') ?? 'tester'
  if (caller === 'none') return null
  const role = header('x-test-role')
  const r = role === 'viewer' || role === 'editor' ? role : 'admin'
  return { id: caller, name: `test ${caller}`, role: r, via: 'host' }
}
