/**
 * The events a webhook subscription may ask for: a run that ended (one type per final status), a backfill whose
 * runs all ended, and a pipeline saved (created or updated) or deleted in git.
 */
export const WEBHOOK_EVENT_TYPES = Object.freeze([
  'run.succeeded',
  'run.failed',
  'run.cancelled',
  'backfill.completed',
  'pipeline.saved',
  'pipeline.deleted',
] as const)

/** One kind of webhook event (see {@link WEBHOOK_EVENT_TYPES}). */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

/** The longest receiver URL a subscription may have. */
export const WEBHOOK_URL_MAX_LENGTH = 2048

/**
 * Why a receiver URL is refused, or `undefined` when it is accepted: it must be an absolute `http:` or `https:` URL
 * without credentials (a user name or password in the URL would be stored and shown as is; a receiver that needs
 * one checks the signature instead). The server calls the URL itself, so only admins create subscriptions.
 */
export function webhookUrlProblem(url: string): string | undefined {
  if (url.length > WEBHOOK_URL_MAX_LENGTH) return `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'must be an absolute URL'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http: or https: URL'
  if (parsed.username !== '' || parsed.password !== '') return 'may not hold a user name or password'
  if (parsed.hash !== '') return 'may not hold a #fragment'
  return undefined
}
