import { defineComponent, field, quoteIdent } from '@sparkle-studio/core'
import { z } from 'zod'
import { MASK_METHODS, maskExpression } from './mask-expression.ts'

const ports = {
  inputs: [{ name: 'in', label: 'Rows' }],
  outputs: [{ name: 'out', label: 'Masked rows' }],
} as const

const about = {
  type: 'transformer',
  name: 'mask-pii',
  title: 'Mask personal data',
  category: 'Privacy',
  icon: 'shield-check',
  tags: ['pii', 'gdpr', 'privacy', 'hash', 'sha2', 'mask', 'redact'],
} as const

/**
 * Version 1 of `transformer/mask-pii`: hashes every listed column with one SHA-2 variant. Kept registered so that
 * documents saved with it still validate and compile, and so that `migratePipeline` can upgrade them to version 2.
 */
export const maskPiiV1 = defineComponent({
  ...about,
  ...ports,
  version: 1,
  description: 'Replaces the listed columns by their SHA-2 hash, in place.',
  config: z.strictObject({
    columns: field(z.array(z.string().min(1).max(256)).min(1).max(200), {
      title: 'Columns to hash',
      widget: 'columns',
    }),
    bits: field(z.literal([256, 512]).default(256), { title: 'SHA-2 digest size (bits)' }),
  }),
  compile: (ctx) => {
    const method = ctx.config.bits === 512 ? 'sha512' : 'sha256'
    const sets = ctx.config.columns.map((c) => `${quoteIdent(c)} = ${maskExpression(quoteIdent(c), method, false)}`)
    return { kind: 'relation', sql: `SELECT * FROM ${ctx.input()} |> SET ${sets.join(', ')}` }
  },
})

const maskRule = z.strictObject({
  column: field(z.string().min(1).max(256), { title: 'Column', widget: 'column' }),
  method: field(z.enum(MASK_METHODS).default('sha256'), {
    title: 'Method',
    description: 'sha256 / sha512: a hash (joinable, not reversible); redact: ***; last4: only the last 4 characters.',
  }),
})

/**
 * `transformer/mask-pii@2`: masks personal data column by column before it leaves a pipeline: SHA-2 hashes (still
 * joinable), redaction, or all but the last four characters. Columns are replaced in place and keep their names.
 *
 * @example
 * ```ts
 * import { maskPii } from '@sparkle-studio/example-custom-component'
 * import { createDefaultRegistry } from '@sparkle-studio/core'
 *
 * const registry = createDefaultRegistry().register(maskPii)
 * registry.validateConfig(maskPii.ref, { columns: [{ column: 'email' }, { column: 'card', method: 'last4' }] })
 * ```
 */
export const maskPii = defineComponent({
  ...about,
  ...ports,
  version: 2,
  description: 'Masks personal data column by column: SHA-2 hashes, redaction, or all but the last four characters.',
  docs: [
    'Each listed column is replaced in place; the other columns pass through unchanged, and nulls stay null.',
    '',
    '- `sha256` / `sha512`: the hex SHA-2 digest. Equal values give equal hashes, so masked columns can still be',
    '  joined, grouped and counted. With **Normalize**, values are trimmed and lower-cased first.',
    '- `redact`: the text `***`.',
    '- `last4`: every character but the last four becomes `*`.',
  ].join('\n'),
  config: z
    .strictObject({
      columns: field(z.array(maskRule).min(1).max(200), { title: 'Columns to mask' }),
      normalize: field(z.boolean().default(true), {
        title: 'Normalize before hashing',
        description: 'Trim and lower-case values first, so that " Ann@Example.com" and "ann@example.com" hash alike.',
        group: 'Advanced',
      }),
    })
    .superRefine((config, ctx) => {
      const seen = new Set<string>()
      config.columns.forEach(({ column }, i) => {
        if (seen.has(column)) {
          ctx.addIssue({
            code: 'custom',
            message: `column "${column}" is listed twice`,
            path: ['columns', i, 'column'],
          })
        }
        seen.add(column)
      })
    }),
  examples: [
    {
      title: 'Customer contact details',
      config: {
        columns: [
          { column: 'email', method: 'sha256' },
          { column: 'phone', method: 'last4' },
          { column: 'name', method: 'redact' },
        ],
      },
    },
  ],
  // Version 1 hashed values as they were: keep doing so (normalize: false), so upgraded pipelines write the same hashes.
  upgrade: (previous) => {
    const v1 = maskPiiV1.config.parse(previous)
    const method = v1.bits === 512 ? 'sha512' : 'sha256'
    return { columns: v1.columns.map((column) => ({ column, method })), normalize: false }
  },
  compile: (ctx) => {
    const sets = ctx.config.columns.map(({ column, method }) => {
      const quoted = quoteIdent(column)
      return `${quoted} = ${maskExpression(quoted, method, ctx.config.normalize)}`
    })
    return { kind: 'relation', sql: `SELECT * FROM ${ctx.input()} |> SET ${sets.join(', ')}` }
  },
})
