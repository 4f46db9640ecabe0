// The smallest valid value of a JSON Schema of the document, for the generated openapi-fetch calls: required members
// only, the first of enums and unions, bounds respected, and strings that must match a pattern taken from the names
// the API gives them (a pipeline name, a git ref, a date).
import type { OpenApiDocument } from '@sparkle-studio/core/contract'

type Schema = Record<string, unknown>

const HEX40 = '0123456789abcdef0123456789abcdef01234567'

/** Values for strings whose pattern or meaning a generic generator cannot guess, by property or parameter name. */
const BY_NAME: Readonly<Record<string, unknown>> = {
  name: 'orders',
  pipeline: 'orders',
  template: 'daily-revenue',
  id: 'r1',
  ref: 'main',
  from: 'main',
  to: 'main',
  head: 'topic',
  base: 'main',
  branch: 'main',
  start: '2026-11-01',
  end: '2026-11-02',
  timezone: 'UTC',
  q: 'filter',
  params: '{"ds":"2026-11-01"}',
  'if-match': `"${HEX40}"`,
  'if-none-match': '*',
  expected: HEX40,
}

/** The smallest valid value of `schema` (a schema of `doc`), `key` being the property or parameter it is for. */
export function sampleValue(doc: OpenApiDocument, schema: Schema, key?: string): unknown {
  const ref = schema['$ref']
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '')
    const components = (doc['components'] as { schemas: Record<string, Schema> }).schemas
    const target = components[name]
    if (!target) throw new Error(`no component ${name}`)
    return sampleValue(doc, target, key)
  }
  if ('const' in schema) return schema['const']
  const enumValues = schema['enum']
  if (Array.isArray(enumValues)) return enumValues[0]
  const alternatives = (schema['anyOf'] ?? (schema['type'] === undefined ? schema['oneOf'] : undefined)) as
    | Schema[]
    | undefined
  if (alternatives?.[0]) return sampleValue(doc, alternatives[0], key)
  switch (schema['type']) {
    case 'object': {
      const properties = (schema['properties'] ?? {}) as Record<string, Schema>
      // A oneOf of `required` lists (one of two members must be given): the first one is.
      const oneOf = (schema['oneOf'] as { required?: string[] }[] | undefined)?.[0]?.required ?? []
      const required = new Set([...((schema['required'] as string[] | undefined) ?? []), ...oneOf])
      const out: Record<string, unknown> = {}
      for (const member of required) {
        const property = properties[member]
        out[member] = property ? sampleValue(doc, property, member) : {}
      }
      return out
    }
    case 'array': {
      const min = (schema['minItems'] as number | undefined) ?? 0
      const items = (schema['items'] ?? {}) as Schema
      return min > 0 ? [sampleValue(doc, items, key)] : []
    }
    case 'integer':
    case 'number':
      return (schema['minimum'] as number | undefined) ?? 1
    case 'boolean':
      return true
    case 'string': {
      // The schema's own example first: it fits its pattern (an artifact's UUID), which a value by name may not.
      const example = (schema['examples'] as unknown[] | undefined)?.[0]
      if (typeof example === 'string') return example
      if (key !== undefined && key in BY_NAME) return BY_NAME[key]
      if (schema['format'] === 'date-time') return '2030-01-01T00:00:00Z'
      return 'x'.repeat(Math.max(1, (schema['minLength'] as number | undefined) ?? 1))
    }
    default:
      return {}
  }
}
