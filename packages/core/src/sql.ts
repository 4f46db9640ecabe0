import { ValidationError } from './validation-issue.ts'

/**
 * Quotes a Spark SQL identifier with backticks, doubling any backtick inside, so that any string is a
 * single identifier and never more.
 *
 * @example
 * ```ts
 * import { quoteIdent } from '@sparkle-studio/core'
 *
 * quoteIdent('order date') // => '`order date`'
 * ```
 */
export function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``
}

/** Quotes a possibly qualified name (`db.table`) part by part. */
export function quoteQualified(parts: readonly string[]): string {
  return parts.map(quoteIdent).join('.')
}

/**
 * Escapes a string as a Spark SQL string literal. The one helper every literal goes through (paths, params,
 * values): backslashes and quotes are escaped, control and non-ASCII line characters are written as `\uXXXX`,
 * so the literal always ends where it should, whatever the input.
 *
 * @example
 * ```ts
 * import { sqlString } from '@sparkle-studio/core'
 *
 * sqlString("it's") // => "'it\\'s'"
 * ```
 */
export function sqlString(value: string): string {
  let out = "'"
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0
    if (ch === '\\') out += '\\\\'
    else if (ch === "'") out += "\\'"
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) {
      out += `\\u${code.toString(16).padStart(4, '0')}`
    } else out += ch
  }
  return `${out}'`
}

/** A value that {@link sqlLiteral} can write. */
export type SqlValue = string | number | boolean | null | bigint

/**
 * Writes a value as a Spark SQL literal: strings through {@link sqlString}, finite numbers as numbers,
 * booleans as `TRUE`/`FALSE`, null as `NULL`.
 *
 * @throws {@link ValidationError} for non-finite numbers.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL'
  switch (typeof value) {
    case 'string':
      return sqlString(value)
    case 'boolean':
      return value ? 'TRUE' : 'FALSE'
    case 'bigint':
      return value.toString()
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ValidationError(`${value} is not a finite number`, [
          { path: '', message: `${value} is not a finite number`, code: 'invalid_literal' },
        ])
      }
      return Number.isInteger(value) ? value.toString() : value.toString()
  }
}

/** Typed date literal `DATE'yyyy-mm-dd'` from a validated ISO date. */
export function sqlDate(isoDate: string): string {
  return `DATE${sqlString(isoDate)}`
}

/** Typed timestamp literal `TIMESTAMP'…'` from a validated ISO timestamp. */
export function sqlTimestamp(isoTimestamp: string): string {
  return `TIMESTAMP${sqlString(isoTimestamp)}`
}

/** Why a user-written SQL fragment was rejected. */
export interface SqlFragmentProblem {
  /** A stable code: `empty`, `statement_separator`, `comment`, `unbalanced_parentheses`, `unterminated_quote`. */
  readonly code: string
  /** A human-readable sentence. */
  readonly message: string
}

/**
 * Checks a user-written SQL expression (a filter condition, a derived column) or query (custom SQL) so that,
 * wrapped in parentheses by the compiler, it cannot break out of them: no `;`, no comments, quotes closed,
 * parentheses balanced and never closing more than they opened. Returns the first problem, or undefined.
 */
export function checkSqlFragment(fragment: string): SqlFragmentProblem | undefined {
  if (fragment.trim() === '') return { code: 'empty', message: 'must not be empty' }
  let depth = 0
  let i = 0
  const n = fragment.length
  while (i < n) {
    const ch = fragment[i] as string
    const next = fragment[i + 1]
    if (ch === "'" || ch === '"' || ch === '`') {
      // Spark: backslash escapes inside '…' and "…"; a doubled quote also stands for itself.
      const quote = ch
      // A raw string (r'…' / R'…', Spark 4) takes backslashes literally.
      const raw = quote !== '`' && /[rR]/.test(fragment[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(fragment[i - 2] ?? '')
      i++
      let closed = false
      while (i < n) {
        const c = fragment[i]
        if (c === '\\' && quote !== '`' && !raw) {
          i += 2
          continue
        }
        if (c === quote) {
          if (fragment[i + 1] === quote) {
            i += 2
            continue
          }
          closed = true
          i++
          break
        }
        i++
      }
      if (!closed) return { code: 'unterminated_quote', message: `has an unterminated ${quote} quote` }
      continue
    }
    if (ch === ';') return { code: 'statement_separator', message: 'must be a single expression: ";" is not allowed' }
    if ((ch === '-' && next === '-') || (ch === '/' && next === '*') || (ch === '*' && next === '/')) {
      return { code: 'comment', message: 'must not contain SQL comments' }
    }
    if (ch === '(') depth++
    else if (ch === ')') {
      depth--
      if (depth < 0) return { code: 'unbalanced_parentheses', message: 'closes a parenthesis it did not open' }
    }
    i++
  }
  if (depth !== 0) return { code: 'unbalanced_parentheses', message: 'has unbalanced parentheses' }
  return undefined
}
