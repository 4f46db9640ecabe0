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

function hintsOf(schema: z.ZodType): UiHints | undefined {
  // Hints may sit on the outer schema (field(z.string().optional())), on an inner one (field(z.string()).optional()),
  // or on both (field(sqlExpression(...).optional(), { title })): the outer ones override, the rest is kept.
  let merged: UiHints | undefined
  let current: z.ZodType | undefined = schema
  while (current) {
    const hints = fieldHints.get(current)
    if (hints) merged = { ...hints, ...merged }
    const def: Def = current._zod.def as Def
    current = def.innerType ?? (def.type === 'pipe' ? def.in : undefined)
  }
  return merged
}

/**
 * The widgets of stock react-jsonschema-form (`@rjsf/core`, nothing registered) by JSON type: a {@link field} widget
 * hint in this table goes into `ui:widget`; any other name goes into `ui:options.sparkleWidget`, which RJSF ignores.
 */
const STOCK_WIDGETS: Readonly<Record<string, readonly string[]>> = {
  string: ['text', 'textarea', 'password', 'email', 'uri', 'date', 'datetime', 'time', 'color', 'select', 'radio'],
  number: ['text', 'updown', 'range', 'select', 'radio'],
  boolean: ['checkbox', 'radio', 'select'],
  array: ['select', 'checkboxes'],
}

/** The stock widget that stands in for a Sparkle widget when nothing richer is registered. */
const STOCK_FALLBACK: Readonly<Record<string, string>> = { sql: 'textarea' }

/**
 * Builds an RJSF `uiSchema` from the {@link field} hints of a zod object, for a form that renders with stock
 * react-jsonschema-form and nothing registered:
 *
 * - `ui:order`: required fields first, then optional fields without a group, then each group's fields together
 *   (groups in order of first appearance); within each part by the `order` hint, then declaration.
 * - `ui:widget` only names stock RJSF widgets (`textarea` for SQL queries, `password` for secret names); every Sparkle
 *   widget hint (`sql-expression`, `column`, `path`, ...) goes into `ui:options.sparkleWidget` and the group into
 *   `ui:options.sparkleGroup`, where a canvas with richer widgets finds them and RJSF ignores them.
 * - `ui:placeholder` from the `placeholder` hint.
 * - A secret reference (`{ "$secret": "NAME" }`, see {@link secretRef}) is a fieldset with one masked input for the
 *   secret's name (`sparkleWidget: 'secret'` on the fieldset).
 *
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
  const groups = [...new Set(entries.map(([, child]) => hintsOf(child)?.group).filter((g) => g !== undefined))]
  const rank = (child: z.ZodType): number => {
    if (isRequired(child)) return 0
    const group = hintsOf(child)?.group
    return group === undefined ? 1 : 2 + groups.indexOf(group)
  }
  const ordered = entries
    .map(([key, child], index) => ({ key, index, rank: rank(child), order: hintsOf(child)?.order }))
    .sort(
      (a, b) =>
        a.rank - b.rank ||
        (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER) ||
        a.index - b.index,
    )
  ui['ui:order'] = ordered.map((o) => o.key)
  for (const [key, child] of entries) {
    const fieldUi = fieldUiSchema(child)
    if (Object.keys(fieldUi).length > 0) ui[key] = fieldUi
  }
  return ui
}

function fieldUiSchema(child: z.ZodType): UiSchema {
  const hints = hintsOf(child)
  if (hints?.secret) return secretUiSchema(hints)
  const fieldUi: UiSchema = { ...toUiSchema(child) }
  const options: Record<string, unknown> = {}
  const widget = hints?.widget
  if (widget !== undefined) {
    if (STOCK_WIDGETS[jsonTypeOf(child)]?.includes(widget)) {
      fieldUi['ui:widget'] = widget
    } else {
      const fallback = STOCK_FALLBACK[widget]
      if (fallback !== undefined) fieldUi['ui:widget'] = fallback
      options['sparkleWidget'] = widget
    }
  }
  if (hints?.group !== undefined) options['sparkleGroup'] = hints.group
  if (hints?.placeholder !== undefined) fieldUi['ui:placeholder'] = hints.placeholder
  if (Object.keys(options).length > 0) fieldUi['ui:options'] = options
  return fieldUi
}

/**
 * A secret reference is stored as `{ "$secret": "NAME" }`: the form edits the name, never the secret's value. Its one
 * input is a password input, because what people type there is often the secret itself and masking keeps a pasted
 * value off the screen (validation then refuses it: not a secret name); `autocomplete: off` keeps browsers from
 * filling in a saved password. The JSON Schema labels the input "Secret name" (see `secretRef`).
 */
function secretUiSchema(hints: UiHints): UiSchema {
  const options: Record<string, unknown> = { sparkleWidget: 'secret' }
  if (hints.group !== undefined) options['sparkleGroup'] = hints.group
  const name: UiSchema = { 'ui:widget': 'password', 'ui:autocomplete': 'off' }
  if (hints.placeholder !== undefined) name['ui:placeholder'] = hints.placeholder
  return { 'ui:options': options, $secret: name }
}

/** Whether a form must fill the field: neither optional nor defaulted (the JSON Schema's `required`, `io: 'input'`). */
function isRequired(schema: z.ZodType): boolean {
  return schema._zod.optin === undefined
}

function jsonTypeOf(schema: z.ZodType): string {
  const type = (unwrap(schema)._zod.def as Def).type
  return type === 'number' || type === 'int' || type === 'bigint' ? 'number' : type
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
