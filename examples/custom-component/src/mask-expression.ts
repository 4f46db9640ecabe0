import { sqlString } from '@sparkle-studio/core'

/** The ways a column can be masked. */
export const MASK_METHODS = ['sha256', 'sha512', 'redact', 'last4'] as const

/** One of {@link MASK_METHODS}. */
export type MaskMethod = (typeof MASK_METHODS)[number]

/** What a redacted value becomes. */
export const REDACTED = '***'

/**
 * The Spark SQL expression that masks one column. `column` is an identifier that is already quoted (`quoteIdent`).
 * Nulls stay null whatever the method, so a masked column never claims a value that was not there.
 *
 * - `sha256`, `sha512`: the hex SHA-2 digest of the value as text (the same input always gives the same hash, so
 *   masked columns can still be joined and counted); with `normalize`, trimmed and lower-cased first.
 * - `redact`: the constant {@link REDACTED}.
 * - `last4`: every character but the last four replaced by `*` (card numbers, phone numbers).
 */
export function maskExpression(column: string, method: MaskMethod, normalize: boolean): string {
  const text = `CAST(${column} AS STRING)`
  switch (method) {
    case 'sha256':
    case 'sha512':
      return `sha2(${normalize ? `lower(trim(${text}))` : text}, ${method === 'sha256' ? 256 : 512})`
    case 'redact':
      return `CASE WHEN ${column} IS NULL THEN NULL ELSE ${sqlString(REDACTED)} END`
    case 'last4':
      return `concat(repeat('*', greatest(length(${text}) - 4, 0)), right(${text}, 4))`
  }
}
