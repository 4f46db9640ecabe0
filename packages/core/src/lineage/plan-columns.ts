import type { ExecutionPlan } from '../plan.ts'
import type { LineageColumn } from './types.ts'

/** Splits `text` on `separator` outside of `<>`, `()` and backquotes. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '`') quoted = !quoted
    else if (quoted) continue
    else if (c === '<' || c === '(') depth++
    else if (c === '>' || c === ')') depth--
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts.map((p) => p.trim()).filter((p) => p !== '')
}

/**
 * The columns of a Spark DDL schema string (`id BIGINT, name STRING COMMENT 'x'`): names as written (backquotes
 * removed), types lower-cased as Spark prints them (`bigint`, `decimal(10,2)`), without `NOT NULL` and comments.
 */
export function ddlColumns(ddl: string): LineageColumn[] {
  return splitTopLevel(ddl, ',').flatMap((column) => {
    const m = /^(`(?:[^`]|``)+`|[^\s:]+)\s*:?\s*(.*)$/s.exec(column)
    if (m === null) return []
    const raw = m[1] as string
    const name = raw.startsWith('`') ? raw.slice(1, -1).replaceAll('``', '`') : raw
    const type = (m[2] ?? '')
      .replace(/\s+COMMENT\s+'(?:[^'\\]|\\.)*'\s*$/is, '')
      .replace(/\s+NOT\s+NULL\s*$/i, '')
      .trim()
      .toLowerCase()
      .replace(/\s+/g, ' ')
    return [type === '' ? { name } : { name, type }]
  })
}

/**
 * The source columns a compiled plan knows: for every `read` step with a DDL schema (a CSV or JSON ingestor given
 * its columns), that schema's columns by node id. Give it to `columnLineage` as `sourceColumns` (with the columns of
 * other sources, when known from elsewhere).
 *
 * @example
 * ```ts
 * import { columnLineage, compilePipeline, createDefaultRegistry, planSourceColumns } from '@sparkle-studio/core'
 *
 * const registry = createDefaultRegistry()
 * const plan = compilePipeline(document, registry)
 * const lineage = columnLineage(document, registry, { sourceColumns: planSourceColumns(plan) })
 * ```
 */
export function planSourceColumns(plan: ExecutionPlan): Record<string, LineageColumn[]> {
  const columns: Record<string, LineageColumn[]> = {}
  for (const step of plan.steps) {
    if (step.kind === 'read' && step.source.schema !== undefined) columns[step.nodeId] = ddlColumns(step.source.schema)
  }
  return columns
}
