// Every component's config form, as a host renders it with stock react-jsonschema-form (@rjsf/core 6,
// validator-ajv8) and nothing registered: no widget, field or template of its own.
import { readFileSync } from 'node:fs'
import Form from '@rjsf/core'
import { getDefaultFormState, type RJSFSchema, type UiSchema } from '@rjsf/utils'
import validator from '@rjsf/validator-ajv8'
import { type ComponentDetail, createDefaultRegistry, secretPaths } from '@sparkle-studio/core'
import { createElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { afterAll, afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest'

type Json = Record<string, unknown>

const registry = createDefaultRegistry()
const catalog = registry.catalog().components
const FORMS_REFERENCE = readFileSync(new URL('../../../docs/reference/forms.md', import.meta.url), 'utf8')

/** What @rjsf/core renders inline, or throws, when a schema or a widget name is not one it supports. */
const RJSF_ERROR_TEXT = ['Unsupported field schema', 'unsupported-field', 'No widget', 'Unsupported widget']

/** Distinct forms rendered (`<ref>` empty, `<ref>#<example>`), and their components. */
const rendered = { forms: new Set<string>(), components: new Set<string>() }
let consoleSpies: MockInstance[] = []

beforeEach(() => {
  consoleSpies = (['error', 'warn'] as const).map((level) => vi.spyOn(console, level))
})

afterEach(() => {
  // RJSF and React report what they cannot render (e.g. an enum default that is not an option) on the console.
  for (const spy of consoleSpies) {
    expect(spy.mock.calls.map((args) => args.map(String).join(' '))).toEqual([])
    spy.mockRestore()
  }
})

afterAll(() => {
  console.info(`rendered ${rendered.forms.size} forms of ${rendered.components.size} components (every version)`)
})

function render(component: ComponentDetail, example?: { readonly title: string; readonly config: unknown }): string {
  const markup = renderToStaticMarkup(
    createElement(Form, {
      schema: component.schema as RJSFSchema,
      uiSchema: component.uiSchema as UiSchema,
      validator,
      formData: example?.config,
    }),
  )
  rendered.forms.add(example ? `${component.ref}#${example.title}` : component.ref)
  rendered.components.add(component.ref)
  return markup
}

function configSchema(ref: string) {
  return registry.require(ref).config
}

/** The `<input>` tags of the secret names (`…_$secret`) in a form's markup. */
function secretInputs(markup: string): string[] {
  return markup.match(/<input id="[^"]*_\$secret"[^>]*>/g) ?? []
}

/** The object schemas of a JSON Schema, each with its uiSchema, reached through properties and array items. */
function* objectLevels(schema: Json, ui: Json, path = ''): Generator<{ path: string; schema: Json; ui: Json }> {
  if (schema['type'] === 'array' && typeof schema['items'] === 'object' && schema['items'] !== null) {
    yield* objectLevels(schema['items'] as Json, (ui['items'] ?? {}) as Json, `${path}/*`)
    return
  }
  if (schema['type'] !== 'object' || typeof schema['properties'] !== 'object') return
  yield { path, schema, ui }
  for (const [key, child] of Object.entries(schema['properties'] as Record<string, Json>)) {
    yield* objectLevels(child, (ui[key] ?? {}) as Json, `${path}/${key}`)
  }
}

/** Required properties under an optional object: their inputs get `required` and block submitting without them. */
function requiredInsideOptional(schema: Json, path = '', chainRequired = true): string[] {
  if (schema['type'] !== 'object' || typeof schema['properties'] !== 'object') return []
  const required = (schema['required'] ?? []) as string[]
  const found = chainRequired ? [] : required.map((key) => `${path}/${key}`)
  return [
    ...found,
    ...Object.entries(schema['properties'] as Record<string, Json>).flatMap(([key, child]) =>
      requiredInsideOptional(child, `${path}/${key}`, chainRequired && required.includes(key)),
    ),
  ]
}

/** Every subschema of a JSON Schema (properties, items, additionalProperties, anyOf and oneOf branches), with its path. */
function* subschemas(schema: Json, path = ''): Generator<{ path: string; schema: Json }> {
  yield { path, schema }
  const children: [string, unknown][] = [
    ...Object.entries((schema['properties'] ?? {}) as Json).map(([k, v]): [string, unknown] => [`/${k}`, v]),
    ['/items', schema['items']],
    ['/additionalProperties', schema['additionalProperties']],
    ...[...((schema['anyOf'] ?? []) as unknown[]), ...((schema['oneOf'] ?? []) as unknown[])].map(
      (v, i): [string, unknown] => [`/(${i})`, v],
    ),
  ]
  for (const [key, child] of children) {
    if (typeof child === 'object' && child !== null && !Array.isArray(child))
      yield* subschemas(child as Json, path + key)
  }
}

/** Every value of a uiSchema key, anywhere in it. */
function uiValues(ui: unknown, key: string): unknown[] {
  if (typeof ui !== 'object' || ui === null) return []
  return Object.entries(ui).flatMap(([k, v]) => (k === key ? [v] : uiValues(v, key)))
}

/** A copy of a config without the optional secrets (top-level and nested objects; not array items). */
function withoutOptionalSecrets(ref: string, schema: Json, config: unknown): { config: unknown; omitted: string[] } {
  const copy = structuredClone(config) as Json
  const omitted: string[] = []
  for (const pointer of secretPaths(configSchema(ref))) {
    const keys = pointer.split('/').slice(1)
    if (keys.includes('*')) throw new Error(`${ref}: a secret in an array item (${pointer}) is not handled here`)
    let parentSchema = schema
    let parent: unknown = copy
    for (const key of keys.slice(0, -1)) {
      parentSchema = (parentSchema['properties'] as Record<string, Json>)[key] ?? {}
      parent = typeof parent === 'object' && parent !== null ? (parent as Json)[key] : undefined
    }
    const last = keys.at(-1) as string
    const optional = !((parentSchema['required'] ?? []) as string[]).includes(last)
    if (optional && typeof parent === 'object' && parent !== null && Object.hasOwn(parent, last)) {
      delete (parent as Json)[last]
      omitted.push(pointer)
    }
  }
  return { config: copy, omitted }
}

it('the default registry has components, in every version', () => {
  expect(catalog.length).toBeGreaterThan(30)
  const refs = new Set(catalog.map((c) => c.ref))
  for (const c of catalog) {
    for (const version of registry.versions(c.type, c.name)) expect(refs).toContain(`${c.type}/${c.name}@${version}`)
  }
})

describe.each(catalog.map((c) => [c.ref, c] as const))('%s', (ref, component) => {
  const schema = component.schema as Json
  const ui = component.uiSchema as Json

  it('renders an empty form with stock RJSF: no unsupported field, no unknown widget, no console error', () => {
    const markup = render(component)
    expect(markup).toContain('<form')
    for (const text of RJSF_ERROR_TEXT) expect(markup).not.toContain(text)
  })

  it('renders every example with stock RJSF', () => {
    for (const example of component.examples) {
      const markup = render(component, example)
      for (const text of RJSF_ERROR_TEXT) expect(markup, example.title).not.toContain(text)
    }
  })

  it('names only stock RJSF widgets and no custom field; Sparkle widgets are in ui:options, listed in the docs', () => {
    expect(uiValues(ui, 'ui:field')).toEqual([])
    for (const widget of uiValues(ui, 'ui:widget')) expect(['textarea', 'password']).toContain(widget)
    for (const options of uiValues(ui, 'ui:options') as Json[]) {
      expect(Object.keys(options).every((k) => ['sparkleWidget', 'sparkleGroup'].includes(k))).toBe(true)
      if (options['sparkleWidget'] !== undefined) expect(FORMS_REFERENCE).toContain(`\`${options['sparkleWidget']}\``)
    }
  })

  it('shows each secret as one password input for its name, labelled, not required', () => {
    const pointers = secretPaths(configSchema(ref)).filter((p) => !p.includes('*'))
    const markup = render(component)
    const inputs = secretInputs(markup)
    expect(inputs).toHaveLength(pointers.length)
    for (const pointer of pointers) {
      const id = `root${pointer.replaceAll('/', '_')}_$secret`
      const input = inputs.find((i) => i.includes(`id="${id}"`))
      expect(input, id).toBeDefined()
      expect(input).toContain('type="password"')
      expect(input).toContain('autoComplete="off"')
      expect(input).not.toContain('required')
      expect(markup).toContain(`<label class="control-label" for="${id}">Secret name</label>`)
    }
    expect(markup).not.toContain('>$secret')
  })

  it('has no required field inside an optional object', () => {
    expect(requiredInsideOptional(schema)).toEqual([])
  })

  it('puts required fields first in every ui:order, and lists every field once', () => {
    for (const level of objectLevels(schema, ui)) {
      const properties = Object.keys(level.schema['properties'] as Json)
      // A one-field object (a secret reference) needs no order.
      const order = (level.ui['ui:order'] ?? (properties.length === 1 ? properties : undefined)) as string[]
      expect(order, level.path).toBeDefined()
      const required = (level.schema['required'] ?? []) as string[]
      expect([...order].sort(), level.path).toEqual([...properties].sort())
      expect([...order.slice(0, required.length)].sort(), level.path).toEqual([...required].sort())
    }
  })

  it("validates every field's default and examples against the field's JSON Schema", () => {
    for (const { path, schema: field } of subschemas(schema)) {
      const values = [
        ...(Object.hasOwn(field, 'default') ? [field['default']] : []),
        ...((field['examples'] ?? []) as []),
      ]
      for (const value of values) expect(validator.isValid(field as RJSFSchema, value, schema), path).toBe(true)
    }
  })

  it('validates every example against the JSON Schema with validator-ajv8, also with optional secrets omitted', () => {
    for (const example of component.examples) {
      expect(validator.validateFormData(example.config, schema as RJSFSchema).errors, example.title).toEqual([])
      const { config } = withoutOptionalSecrets(ref, schema, example.config)
      expect(validator.validateFormData(config, schema as RJSFSchema).errors, example.title).toEqual([])
      expect(registry.validateConfig(ref, config).ok, example.title).toBe(true)
      // What RJSF submits when the secret inputs are left empty: its defaults filled in, nothing for the secrets.
      const submitted = getDefaultFormState(validator, schema as RJSFSchema, config)
      expect(validator.validateFormData(submitted, schema as RJSFSchema).errors, example.title).toEqual([])
      expect(registry.validateConfig(ref, submitted).ok, example.title).toBe(true)
    }
  })
})

it('omits an optional secret from an example: the JDBC connection validates without its password', () => {
  const connection = catalog.find((c) => c.ref === 'connection/jdbc@1')
  const example = connection?.examples[0]
  expect(example).toBeDefined()
  if (!connection || !example) return
  const { config, omitted } = withoutOptionalSecrets(connection.ref, connection.schema, example.config)
  expect(omitted).toEqual(['/password'])
  expect(config).not.toHaveProperty('password')
  expect(validator.validateFormData(config, connection.schema as RJSFSchema).errors).toEqual([])
  // An empty secret name is still refused: an optional secret is either absent or a valid reference.
  const empty = { ...(config as Json), password: {} }
  expect(validator.validateFormData(empty, connection.schema as RJSFSchema).errors).not.toEqual([])
  expect(registry.validateConfig(connection.ref, empty).ok).toBe(false)
  // A name typed and erased: Ajv counts the key and lets it through, the registry refuses it (docs/reference/forms.md).
  const erased = { ...(config as Json), password: { $secret: undefined } }
  expect(validator.validateFormData(erased, connection.schema as RJSFSchema).errors).toEqual([])
  expect(registry.validateConfig(connection.ref, erased)).toMatchObject({
    ok: false,
    issues: [expect.objectContaining({ path: '/password/$secret' })],
  })
})
