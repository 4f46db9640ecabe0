import type { z } from 'zod'
import type { ReadSource, WriteTarget } from './plan.ts'

/** The kinds of component. `connection` components hold shared settings that ingestors and sinks reference. */
export type ComponentType = 'ingestor' | 'transformer' | 'quality' | 'sink' | 'ml' | 'connection'

/** Every component type, in sidebar order. */
export const COMPONENT_TYPES: readonly ComponentType[] = Object.freeze([
  'ingestor',
  'transformer',
  'quality',
  'ml',
  'sink',
  'connection',
])

/** A component reference as stored in documents: `"<type>/<name>@<version>"`, e.g. `"transformer/filter@1"`. */
export type ComponentRef = `${ComponentType}/${string}@${number}`

/** An input or output port of a component. Edges connect an output port to an input port. */
export interface PortDefinition {
  /** Port id, used as the edge's `sourceHandle` / `targetHandle`. */
  readonly name: string
  /** Label shown on the canvas. */
  readonly label?: string
  /**
   * Whether several edges may enter this input port (union, custom SQL).
   * @default false
   */
  readonly multiple?: boolean
  /**
   * Whether the input port may stay unconnected.
   * @default false
   */
  readonly optional?: boolean
}

/** A ready-made config shown in docs and offered by the UI. */
export interface ComponentExample {
  readonly title: string
  readonly config: Readonly<Record<string, unknown>>
}

/** A run parameter's value as compiled into SQL. */
export type ParamValue = string | number | boolean

/** What a component's `compile` gets: its parsed config and helpers that keep the SQL safe. */
export interface CompileContext<Config> {
  /** The node being compiled. */
  readonly nodeId: string
  /**
   * The node's config, parsed by the component's schema (defaults applied), with run parameters put in and every
   * artifact reference (`{ "$artifact": id }`, see `sourcePathField`) replaced by the artifact's path; in a preview,
   * an ingestor's source path is its node's `previewSample` when it has one. A `sourcePathField` is typed as a path or
   * a reference: read it with `pathOf(config.path)`, which returns the string.
   */
  readonly config: Config
  /** `run` or `preview`. */
  readonly mode: 'run' | 'preview'
  /** The quoted view name of the single node connected to input `port` (default: the first input port). */
  input(port?: string): string
  /** The quoted view names of every node connected to input `port`, in edge order. */
  inputs(port?: string): readonly string[]
  /** The ids of the nodes connected to input `port`, in edge order (custom SQL names its inputs by them). */
  inputIds(port?: string): readonly string[]
  /** Validates a user-written SQL expression or query (`path` names its config field) and returns it in parentheses. */
  expr(fragment: string, path: string): string
  /** The SQL literal of run parameter `name` (typed: dates as `DATE'…'`). */
  param(name: string): string
  /** The parsed config of the connection node `ref` (a node id in the same document). */
  connection<T = Record<string, unknown>>(ref: string): T
}

/** What `compile` returns: how the node's result is produced. */
export type CompiledNode =
  /** A query over the inputs; the result becomes the node's view. */
  | { readonly kind: 'relation'; readonly sql: string }
  /** A data source read; the result becomes the node's view. */
  | { readonly kind: 'read'; readonly source: ReadSource }
  /** A quality check over the input: `sql` returns one row with `failed_rows`; the node's view is its input. */
  | { readonly kind: 'check'; readonly sql: string; readonly severity: 'error' | 'warn'; readonly description: string }
  /** A sink: writes its input to `target`. */
  | { readonly kind: 'write'; readonly target: WriteTarget }
  /** Nothing to run (connections). */
  | { readonly kind: 'none' }

/** How a component's config changes from the previous version to this one. */
export type ConfigUpgrade = (previous: Readonly<Record<string, unknown>>) => Record<string, unknown>

/**
 * Everything that defines a component; the input of {@link defineComponent}. `Type`, `Name` and `Version` keep the
 * literals written in the spec, so the definition's `ref` is a literal type that typed authoring
 * (`pipelineAuthoring`) keys configs by.
 */
export interface ComponentSpec<
  Schema extends z.ZodObject,
  Type extends ComponentType = ComponentType,
  Name extends string = string,
  Version extends number = number,
> {
  readonly type: Type
  /** Name, unique within its type: lower-case letters, digits and `-`. */
  readonly name: Name
  /** Integer version, from 1. A new version is a new component; documents name the version they use. */
  readonly version: Version
  readonly title: string
  readonly description: string
  /** Sidebar group, e.g. `Sources`, `Combine`, `Clean`. */
  readonly category: string
  /** Icon name (Lucide names by convention), e.g. `filter`. */
  readonly icon: string
  readonly tags?: readonly string[]
  /** Longer documentation in Markdown. */
  readonly docs?: string
  /** Input ports; none for ingestors and connections. */
  readonly inputs: readonly PortDefinition[]
  /** Output ports; none for sinks and connections. */
  readonly outputs: readonly PortDefinition[]
  /** The config schema (a zod object), annotated with {@link field} hints. */
  readonly config: Schema
  readonly examples?: readonly ComponentExample[]
  /** Upgrades a config of version `version - 1` of this component to this version. */
  readonly upgrade?: ConfigUpgrade
  /**
   * Turns a parsed config into Spark SQL. Must be pure: the same input gives the same output. A source that reads
   * files declares its path with `sourcePathField` (a path, or an uploaded artifact the compiler resolves to its
   * path) and reads it with `pathOf(ctx.config.path)`; sinks keep plain path strings.
   */
  compile(ctx: CompileContext<z.output<Schema>>): CompiledNode
}

/** A defined component: its spec, frozen, with its {@link ComponentRef} (a literal type when the spec's are literals). */
export interface ComponentDefinition<Schema extends z.ZodObject = z.ZodObject, Ref extends ComponentRef = ComponentRef>
  extends ComponentSpec<Schema> {
  readonly ref: Ref
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/

/**
 * Defines a component. The result is frozen and can be registered in a {@link ComponentRegistry}.
 *
 * @example
 * ```ts
 * import { defineComponent, field } from '@sparkle-studio/core'
 * import { z } from 'zod'
 *
 * export const positiveAmounts = defineComponent({
 *   type: 'transformer', name: 'positive-amounts', version: 1,
 *   title: 'Positive amounts', description: 'Keeps rows whose amount is above a threshold.',
 *   category: 'Clean', icon: 'filter',
 *   inputs: [{ name: 'in' }], outputs: [{ name: 'out' }],
 *   config: z.object({ threshold: field(z.number().default(0), { title: 'Threshold' }) }),
 *   compile: (ctx) => ({ kind: 'relation', sql: `SELECT * FROM ${ctx.input()} WHERE amount > ${ctx.config.threshold}` }),
 * })
 * ```
 */
export function defineComponent<
  Schema extends z.ZodObject,
  const Type extends ComponentType,
  const Name extends string,
  const Version extends number,
>(spec: ComponentSpec<Schema, Type, Name, Version>): ComponentDefinition<Schema, `${Type}/${Name}@${Version}`> {
  if (!NAME.test(spec.name)) {
    throw new TypeError(`component name "${spec.name}" must be lower-case letters, digits and "-" (max 63)`)
  }
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new TypeError(`component ${spec.name}: version must be an integer >= 1`)
  }
  const ports = [...spec.inputs, ...spec.outputs].map((p) => p.name)
  if (new Set(spec.inputs.map((p) => p.name)).size !== spec.inputs.length) {
    throw new TypeError(`component ${spec.name}: duplicate input port names`)
  }
  if (new Set(spec.outputs.map((p) => p.name)).size !== spec.outputs.length || ports.some((p) => !p)) {
    throw new TypeError(`component ${spec.name}: output ports need unique, non-empty names`)
  }
  const ref: `${Type}/${Name}@${Version}` = `${spec.type}/${spec.name}@${spec.version}`
  return Object.freeze({ ...spec, ref })
}

/** Parses a {@link ComponentRef}; undefined when it is malformed. */
export function parseComponentRef(
  ref: string,
): { readonly type: ComponentType; readonly name: string; readonly version: number } | undefined {
  const m = /^([a-z]+)\/([a-z][a-z0-9-]{0,62})@([1-9]\d{0,5})$/.exec(ref)
  if (!m?.[1] || !m[2] || !m[3]) return undefined
  if (!(COMPONENT_TYPES as readonly string[]).includes(m[1])) return undefined
  return { type: m[1] as ComponentType, name: m[2], version: Number(m[3]) }
}
