import { type ComponentRegistry, createDefaultRegistry } from '@sparkle-studio/core'
import { maskPii, maskPiiV1 } from './mask-pii.ts'

/** Every version of the package's components, oldest first: register them all so that older documents still load. */
export const customComponents = [maskPiiV1, maskPii] as const

/**
 * The built-in components plus this package's: what a host passes wherever core takes a registry (validation, the
 * compiler, migrations, the git store's `validate`).
 *
 * @example
 * ```ts
 * import { createStudioRegistry } from '@sparkle-studio/example-custom-component'
 *
 * const registry = createStudioRegistry()
 * console.log(registry.get('transformer', 'mask-pii')?.version) // 2
 * ```
 */
export function createStudioRegistry(): ComponentRegistry {
  return createDefaultRegistry().register(...customComponents)
}
