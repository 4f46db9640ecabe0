// One delivery attempt: a signed POST to the receiver, its answer's status and the start of its body.
import type { AttemptResult, ClaimedDelivery } from './records.ts'
import { webhookHeaders } from './signature.ts'

/** How much of an answer's body is kept in the delivery log. */
export const RESPONSE_EXCERPT_BYTES = 2048

/** The smallest `fetch` a delivery needs (Node's global one by default; tests may pass their own). */
export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>

/** Reads at most `limit` bytes of a body, then stops reading (a receiver may answer with an endless stream). */
async function excerpt(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < limit) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
  const bytes = Buffer.concat(chunks).subarray(0, limit)
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes)
}

/** Why a request got no answer, in a few words (no URL: it may carry a token in its query). */
function reason(error: unknown, timedOut: boolean): string {
  if (timedOut) return 'timed out'
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  if (typeof cause?.code === 'string')
    return `${cause.code}${typeof cause.message === 'string' ? `: ${cause.message}` : ''}`
  return error instanceof Error ? error.message : String(error)
}

/**
 * Sends one attempt of a delivery: `POST` the payload with the Standard Webhooks headers, signed now; redirects are
 * not followed (a 3xx is an answer like any other non-2xx). Never rejects: no answer is an `error`.
 */
export async function sendDelivery(
  delivery: Pick<ClaimedDelivery, 'eventId' | 'payload' | 'url' | 'secret'>,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal | undefined; readonly fetch?: WebhookFetch },
): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
  try {
    const response = await (options.fetch ?? fetch)(delivery.url, {
      method: 'POST',
      headers: webhookHeaders(delivery.secret, delivery.eventId, delivery.payload),
      body: delivery.payload,
      redirect: 'manual',
      signal,
    })
    return { statusCode: response.status, response: await excerpt(response, RESPONSE_EXCERPT_BYTES) }
  } catch (error) {
    return { error: reason(error, timeout.aborted) }
  }
}
