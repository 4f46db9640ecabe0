import { MAX_NESTING_DEPTH, tooDeepIssue } from './depth.ts'
import type { ParsedPipelineDocument } from './document.ts'
import { sqlDate, sqlLiteral, sqlTimestamp } from './sql.ts'
import { escapePointer } from './ui-schema.ts'
import { ValidationError, type ValidationIssue } from './validation-issue.ts'

/** A `{{ name }}` placeholder in a config string. */
export const PARAM_PLACEHOLDER: RegExp = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

/** A run parameter's value with its declared type. */
export interface ResolvedParam {
  readonly type: 'string' | 'int' | 'date' | 'timestamp'
  readonly value: string | number
}

/**
 * Every `{{ name }}` placeholder in a config, with the JSON pointer of the string holding it, in document order.
 * Iterative and depth-limited.
 *
 * @throws {@link ValidationError} (`too_deep`) for a value nested deeper than {@link MAX_NESTING_DEPTH}.
 */
export function findParamReferences(
  value: unknown,
  pointer = '',
): { readonly pointer: string; readonly name: string }[] {
  const out: { pointer: string; name: string }[] = []
  const stack: [unknown, string, number][] = [[value, pointer, 1]]
  while (stack.length > 0) {
    const [current, at, depth] = stack.pop() as [unknown, string, number]
    if (typeof current === 'string') {
      for (const m of current.matchAll(PARAM_PLACEHOLDER)) out.push({ pointer: at, name: m[1] as string })
      continue
    }
    if (typeof current !== 'object' || current === null) continue
    if (depth > MAX_NESTING_DEPTH) {
      const issue = tooDeepIssue(at)
      throw new ValidationError(`The value is nested too deeply (${issue.path})`, [issue])
    }
    const entries: [string, unknown][] = Array.isArray(current)
      ? current.map((v, i) => [String(i), v])
      : Object.entries(current).map(([k, v]) => [escapePointer(k), v])
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string, unknown]
      stack.push([child, `${at}/${key}`, depth + 1])
    }
  }
  return out
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/

function validDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false
  const d = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s)
}

/**
 * Checks run parameter values against the document's declared params and fills in defaults.
 *
 * @throws {@link ValidationError} listing unknown params, missing values and values of the wrong type.
 */
export function resolveParams(
  document: Pick<ParsedPipelineDocument, 'params'>,
  values: Readonly<Record<string, unknown>> = {},
): Record<string, ResolvedParam> {
  const issues: ValidationIssue[] = []
  const declared = new Map((document.params ?? []).map((p) => [p.name, p]))
  for (const name of Object.keys(values)) {
    if (!declared.has(name))
      issues.push({ path: `/params/${escapePointer(name)}`, message: `Unknown param "${name}"`, code: 'unknown_param' })
  }
  const out: Record<string, ResolvedParam> = {}
  for (const [name, param] of declared) {
    const path = `/params/${escapePointer(name)}`
    const raw = Object.hasOwn(values, name) ? values[name] : param.default
    if (raw === undefined) {
      issues.push({
        path,
        message: `Param "${name}" (${param.type}) needs a value: it has no default`,
        code: 'missing_param',
      })
      continue
    }
    switch (param.type) {
      case 'string':
        if (typeof raw !== 'string')
          issues.push({ path, message: `Param "${name}" must be a string`, code: 'invalid_param' })
        else out[name] = { type: 'string', value: raw }
        break
      case 'int': {
        const n = typeof raw === 'string' && /^-?\d{1,15}$/.test(raw) ? Number(raw) : raw
        if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
          issues.push({ path, message: `Param "${name}" must be an integer`, code: 'invalid_param' })
        } else out[name] = { type: 'int', value: n }
        break
      }
      case 'date':
        if (typeof raw !== 'string' || !validDate(raw)) {
          issues.push({ path, message: `Param "${name}" must be a date like 2026-11-01`, code: 'invalid_param' })
        } else out[name] = { type: 'date', value: raw }
        break
      case 'timestamp':
        if (typeof raw !== 'string' || !ISO_TIMESTAMP.test(raw) || Number.isNaN(new Date(raw).getTime())) {
          issues.push({
            path,
            message: `Param "${name}" must be an ISO timestamp like 2026-11-01T03:00:00Z`,
            code: 'invalid_param',
          })
        } else out[name] = { type: 'timestamp', value: raw }
        break
    }
  }
  if (issues.length > 0)
    throw new ValidationError(`Invalid run params: ${issues.map((i) => i.message).join('; ')}`, issues)
  return out
}

/** The SQL literal of a resolved param: dates and timestamps typed, strings escaped. */
export function paramLiteral(param: ResolvedParam): string {
  switch (param.type) {
    case 'date':
      return sqlDate(String(param.value))
    case 'timestamp':
      return sqlTimestamp(String(param.value))
    default:
      return sqlLiteral(param.value)
  }
}

/**
 * Replaces `{{ name }}` placeholders in `text`: with SQL literals (`sql: true`), or with the value's text (paths,
 * options; those are checked or escaped later as a whole). For SQL fields the compiler uses `renderSqlTemplate`,
 * which also refuses placeholders inside quotes and placeholders that run into the text beside them.
 */
export function substituteParams(text: string, params: Readonly<Record<string, ResolvedParam>>, sql: boolean): string {
  return text.replace(PARAM_PLACEHOLDER, (whole, name: string) => {
    const p = params[name]
    if (!p) return whole
    return sql ? paramLiteral(p) : String(p.value)
  })
}
