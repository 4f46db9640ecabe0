import { z } from 'zod'
import { fieldHints } from './field.ts'

/** A JSON Schema document (draft-07 or 2020-12) as plain JSON. */
export type JsonSchema = Record<string, unknown>

/** The JSON Schema dialects the generator writes. */
export type JsonSchemaDraft = 'draft-07' | '2020-12'

/** Options of {@link toJsonSchema}. */
export interface JsonSchemaOptions {
  /**
   * The dialect. draft-07 is what RJSF's and JSON Forms' default Ajv accept.
   * @default 'draft-07'
   */
  readonly draft?: JsonSchemaDraft | undefined
  /**
   * `input` describes what a form may send (defaulted fields optional); `output` what validation returns.
   * @default 'input'
   */
  readonly io?: 'input' | 'output' | undefined
}

/**
 * Generates a JSON Schema from a zod schema with zod 4's native `z.toJSONSchema`, and adds
 * `discriminator: { propertyName }` to discriminated unions (OpenAPI and form renderers use it to pick a branch).
 * Secret fields (see `secretRef`) carry `writeOnly: true`, and their one property is required by `minProperties: 1`
 * (with `additionalProperties: false`, the same rule as `required: ["$secret"]`): form renderers mark a `required`
 * property's input as required, which would block submitting a form that leaves an optional secret empty.
 *
 * @example
 * ```ts
 * import { toJsonSchema } from '@sparkle-studio/core'
 * import { z } from 'zod'
 *
 * const schema = toJsonSchema(z.object({ limit: z.number().int().default(100) }))
 * // { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { limit: … } }
 * ```
 */
export function toJsonSchema(schema: z.ZodType, options: JsonSchemaOptions = {}): JsonSchema {
  return z.toJSONSchema(schema, {
    target: options.draft === '2020-12' ? 'draft-2020-12' : 'draft-07',
    io: options.io ?? 'input',
    unrepresentable: 'any',
    override(ctx) {
      if (fieldHints.get(ctx.zodSchema)?.secret) requireOneProperty(ctx.jsonSchema as Record<string, unknown>)
      const def = ctx.zodSchema._zod.def as { type?: string; discriminator?: unknown }
      if (def.type === 'union' && typeof def.discriminator === 'string') {
        const json = ctx.jsonSchema as Record<string, unknown>
        json['discriminator'] = { propertyName: def.discriminator }
        // OpenAPI's discriminator goes with oneOf; a discriminated union's branches never overlap.
        if (Array.isArray(json['anyOf']) && !json['oneOf']) {
          json['oneOf'] = json['anyOf']
          delete json['anyOf']
        }
      }
    },
  }) as JsonSchema
}

/** `required: [only]` with no other property allowed becomes `minProperties: 1`, which says the same. */
function requireOneProperty(json: Record<string, unknown>): void {
  const required = json['required']
  const properties = json['properties']
  if (
    json['additionalProperties'] === false &&
    Array.isArray(required) &&
    required.length === 1 &&
    typeof properties === 'object' &&
    properties !== null &&
    Object.keys(properties).length === 1 &&
    Object.hasOwn(properties, required[0] as string)
  ) {
    delete json['required']
    json['minProperties'] = 1
  }
}
