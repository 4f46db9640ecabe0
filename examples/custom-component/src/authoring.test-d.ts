// Type tests: checked by `tsc -p tsconfig.json` (the typecheck script), not run.
import { pipelineNode as builtinNode } from '@sparkle-studio/core'
import { expectTypeOf } from 'vitest'
import { studioAuthoring } from './authoring.ts'

const { pipelineNode } = studioAuthoring

// The custom component's config is its zod schema's input: `method` and `normalize` have defaults.
const mask = pipelineNode('mask', 'transformer/mask-pii@2', { columns: [{ column: 'email' }] })
expectTypeOf(mask.data.config.columns[0]?.method).toEqualTypeOf<'sha256' | 'sha512' | 'redact' | 'last4' | undefined>()
pipelineNode('mask', 'transformer/mask-pii@2', { columns: [{ column: 'card', method: 'last4' }], normalize: false })
// The built-ins stay available beside it.
pipelineNode('out', 'sink/parquet@1', { path: '/out' })

// @ts-expect-error a method the component does not have
pipelineNode('mask', 'transformer/mask-pii@2', { columns: [{ column: 'email', method: 'rot13' }] })
// @ts-expect-error a field the component does not have
pipelineNode('mask', 'transformer/mask-pii@2', { columns: [{ column: 'email' }], salt: 'x' })
// @ts-expect-error version 1 is registered for stored documents, not offered to new ones
pipelineNode('mask', 'transformer/mask-pii@1', { columns: ['email'] })
// @ts-expect-error core's own pipelineNode only knows the built-ins
builtinNode('mask', 'transformer/mask-pii@2', { columns: [{ column: 'email' }] })
