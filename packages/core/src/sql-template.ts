// Run parameters in config fields, by the kind of field (ParamKind): never pasted as raw text where it could change
// what the text means.
import type { ParamKind } from './field.ts'
import { PARAM_PLACEHOLDER, paramLiteral, type ResolvedParam, substituteParams } from './params.ts'
import { lexSparkSql, type SparkToken } from './sql-lexer.ts'

/** Why a template could not take its run parameters. */
export interface TemplateProblem {
  /**
   * `param_in_quotes` (a placeholder inside a string, quoted identifier or comment), `param_not_separated` (its value
   * would join the text next to it), `invalid_param_value` (a value this kind of field cannot hold), `unknown_param`,
   * or a lexing problem of the template (`unterminated_quote`, `unterminated_comment`, `unrecognized_character`).
   */
  readonly code: string
  /** A human-readable sentence, with a fix. */
  readonly message: string
}

/** A rendered template, or why it could not be rendered. */
export type TemplateResult = { readonly text: string } | { readonly problem: TemplateProblem }

const inQuotes = (name: string, where: string): TemplateProblem => ({
  code: 'param_in_quotes',
  message: `{{${name}}} is inside ${where}, where its value would be pasted as text. Fix: write {{${name}}} without quotes; it becomes a typed literal (for a pattern: concat('%', {{${name}}}, '%'))`,
})

const unknownParam = (name: string): TemplateProblem => ({
  code: 'unknown_param',
  message: `Unknown param "{{${name}}}": declare it in the document's params`,
})

/** A param's Spark SQL literal inside a template: negative numbers in parentheses, so `a-{{n}}` is never `a--5`. */
function templateLiteral(param: ResolvedParam): string {
  const literal = paramLiteral(param)
  return literal.startsWith('-') ? `(${literal})` : literal
}

function tokenAt(tokens: readonly SparkToken[], offset: number): SparkToken | undefined {
  let lo = 0
  let hi = tokens.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const t = tokens[mid] as SparkToken
    if (offset < t.start) hi = mid - 1
    else if (offset >= t.end) lo = mid + 1
    else return t
  }
  return undefined
}

/**
 * Puts run parameters into a Spark SQL template (a filter condition, a derived column, a custom query): each
 * `{{ name }}` becomes its typed literal (`DATE'2026-11-01'`, `'O\'Brien'`, `42`). Refused: a placeholder inside a
 * string, quoted identifier or comment (`'{{ds}}'` would paste the value's text), and a placeholder whose literal
 * would run into the text beside it (`x{{p}}`, `{{n}}5`): after substitution, Spark's lexer must see each literal as
 * tokens of its own.
 *
 * @example
 * ```ts
 * import { renderSqlTemplate } from '@sparkle-studio/core'
 *
 * renderSqlTemplate('order_date = {{ds}}', { ds: { type: 'date', value: '2026-11-01' } })
 * // => { text: "order_date = DATE'2026-11-01'" }
 * ```
 */
export function renderSqlTemplate(template: string, params: Readonly<Record<string, ResolvedParam>>): TemplateResult {
  if (!template.includes('{{')) return { text: template }
  const lexed = lexSparkSql(template, { placeholders: true })
  if (lexed.problem) return { problem: { code: lexed.problem.code, message: lexed.problem.message } }
  for (const m of template.matchAll(PARAM_PLACEHOLDER)) {
    const token = tokenAt(lexed.tokens, m.index)
    if (token && token.kind !== 'placeholder') {
      const where =
        token.kind === 'string' ? 'a string' : token.kind === 'quoted-identifier' ? 'a quoted identifier' : 'a comment'
      return { problem: inQuotes(m[1] as string, where) }
    }
  }
  let text = ''
  const inserted: { name: string; start: number; end: number }[] = []
  for (const token of lexed.tokens) {
    if (token.kind !== 'placeholder') {
      text += token.text
      continue
    }
    const name = (/[A-Za-z_][A-Za-z0-9_]*/.exec(token.text) as RegExpExecArray)[0]
    const param = Object.hasOwn(params, name) ? params[name] : undefined
    if (!param) return { problem: unknownParam(name) }
    const start = text.length
    text += templateLiteral(param)
    inserted.push({ name, start, end: text.length })
  }
  const relexed = lexSparkSql(text)
  const starts = new Set(relexed.tokens.map((t) => t.start))
  const ends = new Set(relexed.tokens.map((t) => t.end))
  for (const { name, start, end } of inserted) {
    const reached = relexed.problem === undefined || relexed.problem.at >= end
    if (!reached || !starts.has(start) || !ends.has(end)) {
      return {
        problem: {
          code: 'param_not_separated',
          message: `{{${name}}} runs into the text next to it, so its value would not stay one literal. Fix: put a space or an operator between {{${name}}} and its neighbours`,
        },
      }
    }
  }
  return { text }
}

// Remote SQL is another database's dialect. A placeholder must sit outside quotes and comments both as standard SQL
// reads them (no backslash escapes, nested comments, $$ quoting) and as MySQL does (backslash escapes, # comments).
function remoteQuoted(template: string, at: number, mysql: boolean): string | undefined {
  let i = 0
  while (i < at) {
    const ch = template[i] as string
    const next = template[i + 1]
    let end: number
    let where: string
    if (ch === "'" || ch === '"' || ch === '`' || (ch === '[' && !mysql)) {
      const close = ch === '[' ? ']' : ch
      let j = i + 1
      while (j < template.length) {
        if (mysql && template[j] === '\\') j += 2
        else if (template[j] === close) {
          if (template[j + 1] === close && ch !== '[') j += 2
          else break
        } else j++
      }
      end = j + 1
      where = ch === "'" ? 'a string' : 'a quoted identifier'
    } else if ((ch === '-' && next === '-') || (mysql && ch === '#')) {
      const nl = template.indexOf('\n', i)
      end = nl === -1 ? template.length : nl + 1
      where = 'a comment'
    } else if (ch === '/' && next === '*') {
      let depth = 1
      let j = i + 2
      while (j < template.length && depth > 0) {
        if (template[j] === '*' && template[j + 1] === '/') {
          depth--
          j += 2
        } else if (!mysql && template[j] === '/' && template[j + 1] === '*') {
          depth++
          j += 2
        } else j++
      }
      end = j
      where = 'a comment'
    } else if (ch === '$' && !mysql) {
      const tag = /^\$[A-Za-z_]*\$/.exec(template.slice(i))
      if (!tag) {
        i++
        continue
      }
      const close = template.indexOf(tag[0], i + tag[0].length)
      end = close === -1 ? template.length : close + tag[0].length
      where = 'a dollar-quoted string'
    } else {
      i++
      continue
    }
    if (at < end) return where
    i = end
  }
  return undefined
}

function remoteLiteral(name: string, param: ResolvedParam): string | TemplateProblem {
  if (param.type === 'int') return (param.value as number) < 0 ? `(${param.value})` : String(param.value)
  const value = String(param.value)
  // No backslash (MySQL escapes with it), no $ (dollar quoting), no control characters.
  if ([...value].some((c) => c === '\\' || c === '$' || c < ' ' || c === '\u007f')) {
    return {
      code: 'invalid_param_value',
      message: `{{${name}}} goes into SQL run by the database, and its value holds a backslash, "$" or a control character, which databases read differently. Fix: give a value without them`,
    }
  }
  return `'${value.replaceAll("'", "''")}'`
}

/**
 * Puts run parameters into SQL that a database runs over JDBC (the `query` of a JDBC source): each `{{ name }}`
 * becomes a literal every common dialect reads the same way (`'it''s'`, `42`, dates and timestamps as quoted ISO
 * text). Refused: placeholders inside quotes or comments (as standard SQL or MySQL reads them), placeholders next to
 * a letter, digit, quote or `$`, and string values with a backslash, `$` or a control character.
 */
export function renderRemoteSqlTemplate(
  template: string,
  params: Readonly<Record<string, ResolvedParam>>,
): TemplateResult {
  let text = ''
  let last = 0
  for (const m of template.matchAll(PARAM_PLACEHOLDER)) {
    const name = m[1] as string
    const where = remoteQuoted(template, m.index, false) ?? remoteQuoted(template, m.index, true)
    if (where) return { problem: inQuotes(name, where) }
    const before = template[m.index - 1] ?? ' '
    const after = template[m.index + m[0].length] ?? ' '
    if (/[\p{L}\p{N}_'"`$\\[\]{}]/u.test(before) || /[\p{L}\p{N}_'"`$\\[\]{}]/u.test(after)) {
      return {
        problem: {
          code: 'param_not_separated',
          message: `{{${name}}} runs into the text next to it. Fix: put a space or an operator between {{${name}}} and its neighbours`,
        },
      }
    }
    const param = Object.hasOwn(params, name) ? params[name] : undefined
    if (!param) return { problem: unknownParam(name) }
    const literal = remoteLiteral(name, param)
    if (typeof literal !== 'string') return { problem: literal }
    text += template.slice(last, m.index) + literal
    last = m.index + m[0].length
  }
  return { text: text + template.slice(last) }
}

/** Puts run parameters into a table name sent to a database: each value must be letters, digits and `_`. */
export function renderRemoteIdentifierTemplate(
  template: string,
  params: Readonly<Record<string, ResolvedParam>>,
): TemplateResult {
  let problem: TemplateProblem | undefined
  const text = template.replace(PARAM_PLACEHOLDER, (whole, name: string) => {
    const param = Object.hasOwn(params, name) ? params[name] : undefined
    if (!param) {
      problem ??= unknownParam(name)
      return whole
    }
    const value = String(param.value)
    if (!/^[A-Za-z0-9_]+$/.test(value)) {
      problem ??= {
        code: 'invalid_param_value',
        message: `{{${name}}} is part of a table name, and its value "${value.slice(0, 80)}" is not only letters, digits and _. Fix: give such a value (declare a string param for a formatted date)`,
      }
    }
    return value
  })
  return problem ? { problem } : { text }
}

/** Puts run parameters into a field of the given {@link ParamKind} (`path` and `text`: the values' text). */
export function renderTemplate(
  kind: ParamKind,
  template: string,
  params: Readonly<Record<string, ResolvedParam>>,
): TemplateResult {
  switch (kind) {
    case 'sql':
      return renderSqlTemplate(template, params)
    case 'remote-sql':
      return renderRemoteSqlTemplate(template, params)
    case 'remote-identifier':
      return renderRemoteIdentifierTemplate(template, params)
    default:
      return { text: substituteParams(template, params, false) }
  }
}

/** Stand-in values of each param type, to check templates before run values are known. */
export function sampleParams(types: ReadonlyMap<string, ResolvedParam['type']>): Record<string, ResolvedParam> {
  const samples: Record<ResolvedParam['type'], ResolvedParam> = {
    string: { type: 'string', value: 'x' },
    int: { type: 'int', value: 1 },
    date: { type: 'date', value: '2000-01-01' },
    timestamp: { type: 'timestamp', value: '2000-01-01T00:00:00Z' },
  }
  return Object.fromEntries([...types].map(([name, type]) => [name, samples[type]]))
}
