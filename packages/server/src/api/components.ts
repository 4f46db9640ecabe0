import { type ComponentType, type ListComponentsFilter, StudioError } from '@sparkle-studio/core'
import type { StudioParts } from '../parts.ts'
import type { UseCases } from './types.ts'

type ComponentCases = Pick<
  UseCases,
  'listComponents' | 'componentCategories' | 'searchComponents' | 'getComponent' | 'validateComponentConfig'
>

/** The component catalog: list, categories, search, detail (JSON Schema and uiSchema), config validation. */
export function componentUseCases({ registry }: Pick<StudioParts, 'registry'>): ComponentCases {
  const find = (type: string, name: string, version: number | undefined) => {
    const c = registry.get(type as ComponentType, name, version)
    if (!c) {
      throw new StudioError('NOT_FOUND', `component ${type}/${name}${version ? `@${version}` : ''} is not registered`)
    }
    return c
  }
  return {
    listComponents: async ({ query }) => registry.list(query as ListComponentsFilter) as never,
    componentCategories: async () => registry.categories() as never,
    searchComponents: async ({ query }) => registry.search(query.q, query.limit ? { limit: query.limit } : {}) as never,
    getComponent: async ({ params, query }) => {
      const c = find(params.type, params.name, query.version)
      return registry.detail(c.ref, query.draft ? { draft: query.draft } : {}) as never
    },
    validateComponentConfig: async ({ params, query, body }) => {
      const c = find(params.type, params.name, query.version)
      const result = registry.validateConfig(c.ref, body.config)
      return result.ok
        ? { valid: true, config: result.config, issues: [] }
        : { valid: false, issues: [...result.issues] }
    },
  }
}
