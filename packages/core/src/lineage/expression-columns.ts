import { isHiddenToken, lexSparkSql, type SparkToken } from '../sql-lexer.ts'

/** Functions whose result does not reveal their argument's values (OpenLineage's `masking`). */
const MASKING_FUNCTIONS: ReadonlySet<string> = new Set([
  'md5',
  'sha',
  'sha1',
  'sha2',
  'crc32',
  'hash',
  'xxhash64',
  'mask',
])

/** The column references of a SQL expression, and what it does with them. */
export interface ExpressionColumns {
  /** Referenced input columns, each once, in order of first use; `qualifier` is the `l.`/`r.` style prefix, if any. */
  readonly columns: readonly { readonly name: string; readonly qualifier?: string | undefined }[]
  /** True when the expression is nothing but one column reference (its value passes as it is). */
  readonly identity: boolean
  /** True when it calls a hashing or masking function. */
  readonly masking: boolean
}

function identText(token: SparkToken): string {
  return token.kind === 'quoted-identifier' ? token.text.slice(1, -1).replaceAll('``', '`') : token.text
}

const isIdent = (t: SparkToken | undefined): t is SparkToken =>
  t !== undefined && (t.kind === 'word' || t.kind === 'quoted-identifier') && !/^[0-9.]/.test(t.text)

/**
 * Finds the input columns a Spark SQL expression reads, with core's Spark SQL lexer: identifiers (plain or
 * backquoted) that name one of `available` (case-insensitively, as Spark resolves them), not called as functions, not
 * after `AS`. `a.b` counts as column `a` (a struct field), unless `a` is one of `qualifiers` (a relation alias such as a
 * join's `l` and `r`), then as column `b` of that relation. `{{param}}` placeholders are skipped.
 */
export function expressionColumns(
  expression: string,
  available: (name: string, qualifier?: string) => string | undefined,
  qualifiers: readonly string[] = [],
): ExpressionColumns {
  const tokens = lexSparkSql(expression, { placeholders: true }).tokens.filter((t) => !isHiddenToken(t))
  const found = new Map<string, { name: string; qualifier?: string }>()
  let masking = false
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as SparkToken
    if (!isIdent(t)) continue
    const prev = tokens[i - 1]
    const next = tokens[i + 1]
    if (next?.text === '(') {
      if (t.kind === 'word' && MASKING_FUNCTIONS.has(t.text.toLowerCase())) masking = true
      continue
    }
    if (prev?.text === '.' || prev?.text.toLowerCase() === 'as') continue
    const text = identText(t)
    let qualifier: string | undefined
    let name = text
    if (next?.text === '.' && qualifiers.includes(text.toLowerCase())) {
      const field = tokens[i + 2]
      if (!isIdent(field)) continue
      qualifier = text.toLowerCase()
      name = identText(field)
      i += 2
    }
    const resolved = available(name, qualifier)
    if (resolved === undefined) continue
    const key = `${qualifier ?? ''}.${resolved}`
    if (!found.has(key)) found.set(key, qualifier === undefined ? { name: resolved } : { name: resolved, qualifier })
  }
  const columns = [...found.values()]
  const identity =
    columns.length === 1 &&
    (tokens.length === 1 || (tokens.length === 3 && tokens[1]?.text === '.' && columns[0]?.qualifier !== undefined))
  return { columns, identity, masking }
}
