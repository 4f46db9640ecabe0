import type { z } from 'zod'
import { fieldHints, type ParamKind, type UiHints } from './field.ts'

/** An RJSF `uiSchema` (keys `ui:*` for the object itself, property names for its fields). */
export type UiSchema = { [key: string]: unknown }

type Def = {
  type: string
  innerType?: z.ZodType
  element?: z.ZodType
  shape?: Record<string, z.ZodType>
  in?: z.ZodType
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema
  for (;;) {
    const def = current._zod.def as Def
    if (
      (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') &&
      def.innerType
    ) {
      current = def.innerType
    } else if (def.type === 'pipe' && def.in) {
      current = def.in
    } else return current
  }
}

function hintsOf(schema: z.ZodType) {
  // Hints may sit on the outer schema (field(z.string().optional())) or on an inner one (field(z.string()).optional()).
  let current: z.ZodType | undefined = schema
  while (current) {
    const hints = fieldHints.get(current)
    if (hints) return hints
    const def: Def = current._zod.def as Def
    current = def.innerType ?? (def.type === 'pipe' ? def.in : undefined)
  }
  return undefined
}

/**
 * Builds an RJSF `uiSchema` from the {@link field} hints of a zod object: `ui:widget`, `ui:placeholder`,
 * `ui:order` (by group, then order, then declaration), `ui:options.group`, and `ui:field: 'secretRef'` for secrets.
 * Nested objects and arrays of objects get nested uiSchemas (`items` for arrays).
 */
export function toUiSchema(schema: z.ZodType): UiSchema {
  const inner = unwrap(schema)
  const def = inner._zod.def as Def
  if (def.type === 'array' && def.element) {
    const items = toUiSchema(def.element)
    return Object.keys(items).length > 0 ? { items } : {}
  }
  if (def.type !== 'object' || !def.shape) return {}
  const ui: UiSchema = {}
  const entries = Object.entries(def.shape)
  const ordered = entries
    .map(([key, child], index) => ({ key, index, hints: hintsOf(child) }))
    .sort((a, b) => {
      const ga = a.hints?.group ?? ''
      const gb = b.hints?.group ?? ''
      if (ga !== gb) {
        // Ungrouped fields first, then groups in order of first appearance.
        if (!ga) return -1
        if (!gb) return 1
        return firstIndex(entries, ga) - firstIndex(entries, gb)
      }
      const oa = a.hints?.order ?? Number.MAX_SAFE_INTEGER
      const ob = b.hints?.order ?? Number.MAX_SAFE_INTEGER
      return oa !== ob ? oa - ob : a.index - b.index
    })
  ui['ui:order'] = ordered.map((o) => o.key)
  for (const [key, child] of entries) {
    const hints = hintsOf(child)
    const fieldUi: UiSchema = hints?.secret ? {} : { ...toUiSchema(child) }
    if (hints?.secret) {
      fieldUi['ui:field'] = 'secretRef'
    } else if (hints?.widget) {
      fieldUi['ui:widget'] = hints.widget
    }
    if (hints?.placeholder) fieldUi['ui:placeholder'] = hints.placeholder
    if (hints?.group) fieldUi['ui:options'] = { group: hints.group }
    if (Object.keys(fieldUi).length > 0) ui[key] = fieldUi
  }
  return ui
}

function firstIndex(entries: readonly [string, z.ZodType][], group: string): number {
  return entries.findIndex(([, child]) => hintsOf(child)?.group === group)
}

/**
 * The JSON pointers (RFC 6901) of every field of a config schema whose UI hints match `predicate`,
 * array items marked with `*`.
 */
export function hintedPaths(schema: z.ZodType, predicate: (hints: UiHints) => boolean, prefix = ''): string[] {
  const hints = hintsOf(schema)
  if (hints && predicate(hints)) return [prefix]
  const inner = unwrap(schema)
  const def = inner._zod.def as Def & { options?: z.ZodType[] }
  if (def.type === 'array' && def.element) return hintedPaths(def.element, predicate, `${prefix}/*`)
  if (def.type === 'union' && def.options) {
    return [...new Set(def.options.flatMap((o) => hintedPaths(o, predicate, prefix)))]
  }
  if (def.type !== 'object' || !def.shape) return []
  return Object.entries(def.shape).flatMap(([key, child]) =>
    hintedPaths(child, predicate, `${prefix}/${escapePointer(key)}`),
  )
}

/** The JSON pointers of every secret field in a config schema (see {@link hintedPaths}). */
export function secretPaths(schema: z.ZodType): string[] {
  return hintedPaths(schema, (h) => h.secret === true)
}

/** The JSON pointers of every field holding user-written SQL (widgets `sql-expression` and `sql`). */
export function sqlPaths(schema: z.ZodType): string[] {
  return hintedPaths(schema, (h) => h.widget === 'sql-expression' || h.widget === 'sql')
}

/** The JSON pointers of the fields holding one SQL expression (widget `sql-expression`), not a query. */
export function sqlExpressionPaths(schema: z.ZodType): string[] {
  return hintedPaths(schema, (h) => h.widget === 'sql-expression')
}

/** How run parameters enter a field with these hints: its `params` hint, else what its widget implies. */
export function paramKindOf(hints: UiHints): ParamKind {
  if (hints.params !== undefined) return hints.params
  if (hints.widget === 'sql-expression' || hints.widget === 'sql') return 'sql'
  if (hints.widget === 'path') return 'path'
  return 'text'
}

/** The JSON pointer patterns (see {@link hintedPaths}) of every field whose run parameters are not plain `text`. */
export function paramKindPaths(schema: z.ZodType): { readonly pattern: string; readonly kind: ParamKind }[] {
  return hintedPaths(schema, (h) => paramKindOf(h) !== 'text').map((pattern) => {
    const kinds = (['sql', 'remote-sql', 'path', 'remote-identifier'] as const).filter((k) =>
      hintedPaths(schema, (h) => paramKindOf(h) === k).includes(pattern),
    )
    return { pattern, kind: kinds[0] ?? 'text' }
  })
}

/** The values at a pointer pattern from {@link hintedPaths} (with `*` for array items), each with its real pointer. */
export function valuesAtPattern(
  value: unknown,
  pattern: string,
): { readonly pointer: string; readonly value: unknown }[] {
  const out: { pointer: string; value: unknown }[] = []
  const walk = (current: unknown, pointer: string, segments: readonly string[]) => {
    if (segments.length === 0) {
      out.push({ pointer, value: current })
      return
    }
    const [head, ...rest] = segments as [string, ...string[]]
    if (typeof current !== 'object' || current === null) return
    if (head === '*') {
      if (Array.isArray(current)) {
        current.forEach((v, i) => {
          walk(v, `${pointer}/${i}`, rest)
        })
      }
      return
    }
    const key = head.replaceAll('~1', '/').replaceAll('~0', '~')
    if (!Object.hasOwn(current, key)) return
    walk((current as Record<string, unknown>)[key], `${pointer}/${head}`, rest)
  }
  walk(value, '', pattern === '' ? [] : pattern.split('/').slice(1))
  return out
}

/** Escapes one JSON pointer segment (`~` and `/`). */
export function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}
