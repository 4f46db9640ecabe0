import { isHiddenToken, lexSparkSql, type SparkToken } from './sql-lexer.ts'
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
 * values): backslashes and quotes are escaped; control and non-ASCII line characters, and `$` (Spark substitutes
 * `${…}` in the text of a statement before it parses it), are written as `\uXXXX`, so the literal always ends where it
 * should and holds exactly the value, whatever the input.
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
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029 || ch === '$') {
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
  /**
   * A stable code: `empty`, `variable_substitution`, `statement_separator`, `unbalanced_parentheses`,
   * `unterminated_quote`, `unterminated_comment`, `unrecognized_character`, `not_one_expression`.
   */
  readonly code: string
  /** A human-readable sentence, with a fix. */
  readonly message: string
}

/** Options of {@link checkSqlFragment}. */
export interface CheckSqlFragmentOptions {
  /**
   * `expression` (a condition, a derived column): the fragment must also be exactly one expression, so that in the
   * compiler's parentheses it does not become a list (`a, b`), a subquery (`SELECT …`) or a query with clauses
   * after it (`(SELECT …) UNION …`). `query` (custom SQL): one query.
   * @default 'query'
   */
  readonly kind?: 'expression' | 'query' | undefined
}

// Spark's variable substitution (spark.sql.variable.substitute), written so that no linter takes it for a template.
const SUBSTITUTION = '\u0024{'

// Words that, at the top of a fragment, make the compiler's parentheses a subquery rather than an expression.
const QUERY_START = new Set(['SELECT', 'WITH', 'VALUES', 'FROM', 'TABLE', 'MAP', 'REDUCE'])
// Words that continue a parenthesized query: `(SELECT …) UNION …`, `(SELECT …) LIMIT 1`.
const QUERY_TAIL = new Set([
  'UNION',
  'INTERSECT',
  'EXCEPT',
  'MINUS',
  'ORDER',
  'SORT',
  'CLUSTER',
  'DISTRIBUTE',
  'LIMIT',
  'OFFSET',
  'WINDOW',
])

/**
 * Checks a user-written SQL expression (a filter condition, a derived column) or query (custom SQL) so that, wrapped in
 * parentheses by the compiler, it cannot break out of them. The fragment is read with Spark's own lexing rules
 * ({@link lexSparkSql}): strings with their escapes and raw prefixes, quoted identifiers, nested comments and hints.
 * Refused: no tokens at all, `${` anywhere (Spark substitutes `${…}` with configuration and environment values before
 * it parses), `;`, unterminated strings or comments (a `--` comment must end with a line break), characters Spark does
 * not read outside quotes, and parentheses that are unbalanced or close more than they opened; for an expression,
 * anything that would make it more than one expression (see {@link CheckSqlFragmentOptions.kind}). Returns the first
 * problem, or undefined.
 *
 * @example
 * ```ts
 * import { checkSqlFragment } from '@sparkle-studio/core'
 *
 * checkSqlFragment("status = 'paid'", { kind: 'expression' }) // => undefined
 * checkSqlFragment("1=1) OR (1=1") // => { code: 'unbalanced_parentheses', ... }
 * ```
 */
export function checkSqlFragment(
  fragment: string,
  options: CheckSqlFragmentOptions = {},
): SqlFragmentProblem | undefined {
  if (fragment.trim() === '') return { code: 'empty', message: 'must not be empty' }
  if (fragment.includes(SUBSTITUTION)) {
    return {
      code: 'variable_substitution',
      message: `must not contain "${SUBSTITUTION}": Spark replaces ${SUBSTITUTION}…} with configuration and environment values before it parses. Fix: write the "$" and "{" apart, e.g. concat('$', '{')`,
    }
  }
  const expression = options.kind === 'expression'
  const notOne = (why: string): SqlFragmentProblem => ({
    code: 'not_one_expression',
    message: `must be one expression: ${why}`,
  })
  // The first problem in reading order: tokens come up to the lexer's problem, if there is one.
  const lexed = lexSparkSql(fragment)
  const problem = lexed.problem
  const tokens = lexed.tokens.filter((t) => !isHiddenToken(t))
  let depth = 0
  let previous: SparkToken | undefined
  for (const [i, token] of tokens.entries()) {
    const first = previous === undefined
    const after = previous
    previous = token
    const word = token.kind === 'word' ? token.text.toUpperCase() : undefined
    if (expression && depth === 0 && word !== undefined) {
      // map(…) is a function; MAP … USING is a query.
      const call = tokens[i + 1]?.kind === 'symbol' && tokens[i + 1]?.text === '('
      if (first && QUERY_START.has(word) && !(call && (word === 'MAP' || word === 'REDUCE'))) {
        return notOne(
          `it starts a query (${token.text}). Fix: put a subquery in parentheses, e.g. (SELECT max(x) FROM t)`,
        )
      }
      if (QUERY_TAIL.has(word) && after?.kind === 'symbol' && after.text === ')') {
        return notOne(
          `${token.text} after a parenthesized query continues the query. Fix: keep the whole subquery in its parentheses`,
        )
      }
    }
    if (token.kind !== 'symbol') continue
    if (token.text === ';') {
      return {
        code: 'statement_separator',
        message: 'must be a single expression or query: ";" is not allowed outside quotes. Fix: remove it',
      }
    }
    if (expression && depth === 0) {
      if (token.text === ',')
        return notOne('a "," outside parentheses makes a list. Fix: remove it, or put the list in a function call')
      if (token.text === '>' && after?.text === '|' && after.end === token.start) {
        return notOne('the pipe operator |> continues a query. Fix: keep it inside a parenthesized subquery')
      }
    }
    if (token.text === '(') depth++
    else if (token.text === ')' && --depth < 0) {
      return {
        code: 'unbalanced_parentheses',
        message: `closes a parenthesis it did not open (position ${token.start}). Fix: balance the parentheses`,
      }
    }
  }
  if (problem) return { code: problem.code, message: problem.message }
  if (previous === undefined) return { code: 'empty', message: 'must not be empty (it holds only comments)' }
  if (depth !== 0) {
    return {
      code: 'unbalanced_parentheses',
      message: `has unbalanced parentheses (${depth} not closed). Fix: close every parenthesis it opens`,
    }
  }
  return undefined
}
