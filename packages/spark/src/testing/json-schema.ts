// A validator for the part of JSON Schema that runner/events.schema.json uses, for this package's tests (the package
// has no JSON Schema dependency). The runner's own test (runner/tests/test_events_schema.py) has its twin in Python.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { runnerScriptPath } from '../runtime.ts'

/** A JSON Schema, as far as the validator reads it. */
export interface JsonSchema {
  readonly $ref?: string
  readonly $defs?: Readonly<Record<string, JsonSchema>>
  readonly type?: string | readonly string[]
  readonly required?: readonly string[]
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly additionalProperties?: boolean | JsonSchema
  readonly enum?: readonly unknown[]
  readonly const?: unknown
  readonly oneOf?: readonly JsonSchema[]
  readonly anyOf?: readonly JsonSchema[]
  readonly items?: JsonSchema
}

const SUPPORTED = new Set([
  '$schema',
  '$id',
  '$defs',
  '$ref',
  'title',
  'description',
  'type',
  'required',
  'properties',
  'additionalProperties',
  'enum',
  'const',
  'oneOf',
  'anyOf',
  'items',
])

/** Path of the runner's event protocol schema, shipped next to the runner. */
export const EVENTS_SCHEMA_PATH = join(dirname(runnerScriptPath()), 'events.schema.json')

/** The runner's event protocol schema (`runner/events.schema.json`). */
export function loadEventsSchema(): JsonSchema {
  return JSON.parse(readFileSync(EVENTS_SCHEMA_PATH, 'utf8')) as JsonSchema
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null
    case 'boolean':
      return typeof value === 'boolean'
    case 'integer':
      return Number.isInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'string':
      return typeof value === 'string'
    case 'array':
      return Array.isArray(value)
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
    default:
      throw new Error(`the test validator does not support type ${type}`)
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** The definition `name` of `root` (`#/$defs/name`). */
export function definition(root: JsonSchema, name: string): JsonSchema {
  const found = root.$defs?.[name]
  if (!found) throw new Error(`the schema has no $defs/${name}`)
  return found
}

/** The errors of `value` against `schema` (resolving `$ref`s in `root`); empty when it is valid. */
export function validateJson(value: unknown, schema: JsonSchema, root: JsonSchema = schema, path = '$'): string[] {
  const unknown = Object.keys(schema).filter((k) => !SUPPORTED.has(k))
  if (unknown.length > 0) throw new Error(`the test validator does not support ${unknown.join(', ')}`)
  if (schema.$ref !== undefined) {
    const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref)
    if (!m?.[1]) throw new Error(`unsupported $ref ${schema.$ref}`)
    return validateJson(value, definition(root, m[1]), root, path)
  }
  const errors: string[] = []
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type
    if (!types.some((t) => isType(value, t))) {
      return [`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)?.slice(0, 80)}`]
    }
  }
  if ('const' in schema && !same(value, schema.const)) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`)
  if (schema.enum && !schema.enum.some((e) => same(value, e))) {
    errors.push(`${path}: expected one of ${JSON.stringify(schema.enum)}`)
  }
  if (isType(value, 'object')) {
    const object = value as Record<string, unknown>
    for (const key of schema.required ?? []) if (!(key in object)) errors.push(`${path}: missing ${key}`)
    for (const [key, item] of Object.entries(object)) {
      const property = schema.properties?.[key]
      if (property) errors.push(...validateJson(item, property, root, `${path}.${key}`))
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property ${key}`)
      else if (typeof schema.additionalProperties === 'object') {
        errors.push(...validateJson(item, schema.additionalProperties, root, `${path}.${key}`))
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    const items = schema.items
    value.forEach((item, i) => {
      errors.push(...validateJson(item, items, root, `${path}[${i}]`))
    })
  }
  for (const keyword of ['oneOf', 'anyOf'] as const) {
    const options = schema[keyword]
    if (!options) continue
    const results = options.map((o) => validateJson(value, o, root, path))
    const matches = results.filter((r) => r.length === 0).length
    if (matches === 0 || (keyword === 'oneOf' && matches > 1)) {
      const why =
        matches === 0 ? results.reduce((a, b) => (b.length < a.length ? b : a)) : [`matches ${matches} options`]
      errors.push(`${path}: no single ${keyword} option matches (${why.join('; ')})`)
    }
  }
  return errors
}

/** The `type` constants of the options of a `oneOf` definition of the events schema (`runnerEvent`, `serveMessage`). */
export function schemaTypes(root: JsonSchema, name: string): string[] {
  return (definition(root, name).oneOf ?? []).map((option) => {
    const ref = option.$ref?.replace('#/$defs/', '') ?? ''
    return definition(root, ref).properties?.['type']?.const as string
  })
}
