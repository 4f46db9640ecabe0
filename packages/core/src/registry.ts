import type { z } from 'zod'
import {
  COMPONENT_TYPES,
  type ComponentDefinition,
  type ComponentExample,
  type ComponentRef,
  type ComponentType,
  type PortDefinition,
  parseComponentRef,
} from './component.ts'
import { type ConfigValidation, type IssueLocation, validateComponentConfig } from './config-validation.ts'
import { StudioError } from './errors.ts'
import { type JsonSchema, type JsonSchemaDraft, toJsonSchema } from './json-schema.ts'
import { toUiSchema, type UiSchema } from './ui-schema.ts'

/** What a list or search shows of a component (no schemas). */
export interface ComponentSummary {
  readonly ref: ComponentRef
  readonly type: ComponentType
  readonly name: string
  readonly version: number
  /** True for the highest registered version of this type and name. */
  readonly latest: boolean
  readonly title: string
  readonly description: string
  readonly category: string
  readonly icon: string
  readonly tags: readonly string[]
  readonly inputs: readonly PortDefinition[]
  readonly outputs: readonly PortDefinition[]
}

/** A component with its generated schemas, as the catalog and the detail API give it. */
export interface ComponentDetail extends ComponentSummary {
  readonly docs?: string
  readonly examples: readonly ComponentExample[]
  /** JSON Schema of the config (draft-07 unless asked otherwise). */
  readonly schema: JsonSchema
  /** RJSF uiSchema of the config. */
  readonly uiSchema: UiSchema
}

/** Filters of {@link ComponentRegistry.list}. */
export interface ListComponentsFilter {
  readonly type?: ComponentType | undefined
  readonly category?: string | undefined
  readonly tag?: string | undefined
  /**
   * Include older versions too.
   * @default false
   */
  readonly allVersions?: boolean | undefined
}

/** A sidebar group: a category and its components, in title order. */
export interface ComponentCategory {
  readonly category: string
  readonly components: readonly ComponentSummary[]
}

/** One search hit with its score (higher is better). */
export interface ComponentSearchHit {
  readonly component: ComponentSummary
  readonly score: number
}

/** The whole catalog, for a UI to load once. */
export interface ComponentCatalog {
  readonly draft: JsonSchemaDraft
  readonly components: readonly ComponentDetail[]
}

/** A component definition of any config type, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds components of every config type
export type AnyComponentDefinition = ComponentDefinition<any>

/**
 * The set of components a studio offers: registration, lookup by reference or type/name/version (latest by default),
 * filtered lists, sidebar categories, ranked search, JSON Schemas and uiSchemas, config validation and the catalog.
 *
 * @example
 * ```ts
 * import { createDefaultRegistry } from '@sparkle-studio/core'
 *
 * const registry = createDefaultRegistry()
 * const filter = registry.get('transformer', 'filter')
 * const result = registry.validateConfig('transformer/filter@1', { condition: 'amount > 0' })
 * ```
 */
export class ComponentRegistry {
  readonly #byRef = new Map<string, AnyComponentDefinition>()
  readonly #schemaCache = new Map<string, JsonSchema>()
  readonly #uiCache = new Map<string, UiSchema>()

  /** Registers components. A reference that is already registered is rejected (`CONFLICT`). */
  register(...components: readonly AnyComponentDefinition[]): this {
    for (const c of components) {
      if (this.#byRef.has(c.ref))
        throw new StudioError('CONFLICT', `component ${c.ref} is already registered`, { ref: c.ref })
    }
    for (const c of components) this.#byRef.set(c.ref, c)
    return this
  }

  /** Number of registered components (every version counts). */
  get size(): number {
    return this.#byRef.size
  }

  /** The component of a type and name, at `version` or the latest version. */
  get(type: ComponentType, name: string, version?: number): AnyComponentDefinition | undefined {
    if (version !== undefined) return this.#byRef.get(`${type}/${name}@${version}`)
    let best: AnyComponentDefinition | undefined
    for (const c of this.#byRef.values()) {
      if (c.type === type && c.name === name && (!best || c.version > best.version)) best = c
    }
    return best
  }

  /** The component a reference names, or undefined (also for a malformed reference). */
  resolve(ref: string): AnyComponentDefinition | undefined {
    return this.#byRef.get(ref)
  }

  /**
   * The component a reference names.
   * @throws {@link StudioError} `NOT_FOUND` (or `BAD_REQUEST` for a malformed reference).
   */
  require(ref: string): AnyComponentDefinition {
    const found = this.#byRef.get(ref)
    if (found) return found
    if (!parseComponentRef(ref)) {
      throw new StudioError('BAD_REQUEST', `"${ref}" is not a component reference like "transformer/filter@1"`, { ref })
    }
    throw new StudioError('NOT_FOUND', `component ${ref} is not registered`, { ref })
  }

  /** Every version registered for a type and name, ascending. */
  versions(type: ComponentType, name: string): number[] {
    return [...this.#byRef.values()]
      .filter((c) => c.type === type && c.name === name)
      .map((c) => c.version)
      .sort((a, b) => a - b)
  }

  /** Summaries of the components matching `filter`, ordered by type, category and title. */
  list(filter: ListComponentsFilter = {}): ComponentSummary[] {
    return [...this.#byRef.values()]
      .filter((c) => (filter.type ? c.type === filter.type : true))
      .filter((c) => (filter.category ? c.category === filter.category : true))
      .filter((c) => (filter.tag ? (c.tags ?? []).includes(filter.tag) : true))
      .map((c) => this.#summary(c))
      .filter((s) => filter.allVersions || s.latest)
      .sort(compareSummaries)
  }

  /** Latest components grouped by category for a sidebar, categories in order of type then name. */
  categories(): ComponentCategory[] {
    const groups = new Map<string, ComponentSummary[]>()
    for (const s of this.list()) {
      const list = groups.get(s.category) ?? []
      list.push(s)
      groups.set(s.category, list)
    }
    return [...groups.entries()].map(([category, components]) => ({ category, components }))
  }

  /**
   * Ranked fuzzy search over name, title, tags and description of the latest versions. Every word of the query
   * must match somewhere; exact and prefix matches on name and title rank first, then tags, then description,
   * then in-order letter matches (`aggr` finds `aggregate`, `dedup` finds `deduplicate`).
   */
  search(query: string, options: { readonly limit?: number } = {}): ComponentSearchHit[] {
    const words = query
      .toLowerCase()
      .split(/[\s,]+/)
      .filter(Boolean)
    if (words.length === 0) return []
    const hits: ComponentSearchHit[] = []
    for (const s of this.list()) {
      let total = 0
      let all = true
      for (const w of words) {
        const score = scoreWord(w, s)
        if (score === 0) {
          all = false
          break
        }
        total += score
      }
      if (all) hits.push({ component: s, score: total })
    }
    hits.sort((a, b) => b.score - a.score || compareSummaries(a.component, b.component))
    return hits.slice(0, options.limit ?? 20)
  }

  /** The JSON Schema of a component's config (cached). */
  jsonSchema(ref: string, options: { readonly draft?: JsonSchemaDraft } = {}): JsonSchema {
    const c = this.require(ref)
    const draft = options.draft ?? 'draft-07'
    const key = `${c.ref}|${draft}`
    let schema = this.#schemaCache.get(key)
    if (!schema) {
      schema = toJsonSchema(c.config, { draft })
      this.#schemaCache.set(key, schema)
    }
    return schema
  }

  /** The RJSF uiSchema of a component's config (cached). */
  uiSchema(ref: string): UiSchema {
    const c = this.require(ref)
    let ui = this.#uiCache.get(c.ref)
    if (!ui) {
      ui = toUiSchema(c.config)
      this.#uiCache.set(c.ref, ui)
    }
    return ui
  }

  /** Validates a config for a component: defaults applied, every issue with a JSON pointer and code. */
  validateConfig(ref: string, config: unknown, where: IssueLocation = {}): ConfigValidation<Record<string, unknown>> {
    return validateComponentConfig(
      this.require(ref) as ComponentDefinition<z.ZodObject>,
      config,
      where,
    ) as ConfigValidation<Record<string, unknown>>
  }

  /** A component's summary, docs, examples, JSON Schema and uiSchema. */
  detail(ref: string, options: { readonly draft?: JsonSchemaDraft } = {}): ComponentDetail {
    const c = this.require(ref)
    const detail: ComponentDetail = {
      ...this.#summary(c),
      examples: c.examples ?? [],
      schema: this.jsonSchema(ref, options),
      uiSchema: this.uiSchema(ref),
    }
    return c.docs === undefined ? detail : { ...detail, docs: c.docs }
  }

  /** Every component (every version) with its schemas, for a UI to load once. */
  catalog(options: { readonly draft?: JsonSchemaDraft } = {}): ComponentCatalog {
    return {
      draft: options.draft ?? 'draft-07',
      components: this.list({ allVersions: true }).map((s) => this.detail(s.ref, options)),
    }
  }

  #summary(c: AnyComponentDefinition): ComponentSummary {
    const latest = this.get(c.type, c.name)?.version === c.version
    return {
      ref: c.ref,
      type: c.type,
      name: c.name,
      version: c.version,
      latest,
      title: c.title,
      description: c.description,
      category: c.category,
      icon: c.icon,
      tags: c.tags ?? [],
      inputs: c.inputs,
      outputs: c.outputs,
    }
  }
}

function compareSummaries(a: ComponentSummary, b: ComponentSummary): number {
  return (
    COMPONENT_TYPES.indexOf(a.type) - COMPONENT_TYPES.indexOf(b.type) ||
    a.category.localeCompare(b.category) ||
    a.title.localeCompare(b.title) ||
    a.version - b.version
  )
}

function isSubsequence(needle: string, hay: string): boolean {
  let i = 0
  for (const ch of hay) if (ch === needle[i]) i++
  return i === needle.length
}

function scoreWord(w: string, s: ComponentSummary): number {
  const name = s.name.toLowerCase()
  const title = s.title.toLowerCase()
  const titleWords = title.split(/[^a-z0-9]+/)
  const nameWords = name.split('-')
  const tags = s.tags.map((t) => t.toLowerCase())
  if (name === w) return 100
  if (title === w) return 95
  if (nameWords.includes(w) || titleWords.includes(w)) return 80
  if (name.startsWith(w) || nameWords.some((p) => p.startsWith(w)) || titleWords.some((p) => p.startsWith(w))) return 60
  if (tags.includes(w)) return 50
  if (tags.some((t) => t.startsWith(w))) return 40
  if (name.includes(w) || title.includes(w)) return 30
  if (s.description.toLowerCase().includes(w) || s.category.toLowerCase().includes(w)) return 20
  if (w.length >= 3 && (isSubsequence(w, name) || isSubsequence(w, title))) return 10
  return 0
}
