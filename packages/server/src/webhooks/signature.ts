// Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over "{id}.{timestamp}.{body}".
import { createHmac, randomBytes } from 'node:crypto'
import { StudioError } from '@sparkle-studio/core'

/** The prefix of a signing secret, as the Standard Webhooks specification writes them. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_'

/** A new signing secret: `whsec_` and the base64 of 32 random bytes (the specification asks for 24 to 64). */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`
}

/** The HMAC key of a secret: the bytes its base64 part (after `whsec_`) decodes to. */
function secretKey(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new StudioError('INTERNAL', 'a webhook signing secret must start with whsec_')
  }
  return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64')
}

/**
 * The `webhook-signature` header of one delivery attempt: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
 * keyed with the secret's decoded bytes.
 *
 * @param timestamp seconds since the epoch, as sent in `webhook-timestamp`
 */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')
  return `v1,${mac}`
}

/** The headers of one delivery attempt: id, timestamp (seconds), signature and the JSON content type. */
export function webhookHeaders(
  secret: string,
  id: string,
  body: string,
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000)
  return {
    'content-type': 'application/json',
    'user-agent': 'sparkle-studio-webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': webhookSignature(secret, id, timestamp, body),
  }
}
