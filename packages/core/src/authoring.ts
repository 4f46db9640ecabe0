// Typed authoring: pipelines written in TypeScript, with each node's config checked against its component at compile
// time. Types only come from zod (`import type`); the runtime part builds a plain PipelineDocument.
import type { z } from 'zod'
import type { ArtifactRef } from './artifacts.ts'
import type { ComponentDefinition, ComponentRef } from './component.ts'
import type { BuiltinComponent } from './components/index.ts'
import { CURRENT_SCHEMA_VERSION, type PipelineDocument, type PipelineEdge, type PipelineNode } from './document.ts'

/** A component definition of any config schema and reference: what typed authoring accepts. */
// biome-ignore lint/suspicious/noExplicitAny: any config schema; each member keeps its own through `D['config']`
export type AuthoringComponent = ComponentDefinition<any, ComponentRef>

/**
 * The configs a document may hold, by component reference, for a union of component definitions: each is the input
 * type of the component's zod schema (fields with defaults are optional, strict objects refuse unknown fields).
 *
 * @example
 * ```ts
 * import type { BuiltinComponent, ComponentConfigs } from '@sparkle-studio/core'
 *
 * type FilterConfig = ComponentConfigs<BuiltinComponent>['transformer/filter@1'] // { condition: string }
 * const config: FilterConfig = { condition: 'amount > 0' }
 * ```
 */
export type ComponentConfigs<C extends AuthoringComponent> = { [D in C as D['ref']]: z.input<D['config']> }

/**
 * The configs of the built-in components, by reference.
 *
 * @example
 * ```ts
 * import type { BuiltinComponentConfigs } from '@sparkle-studio/core'
 *
 * const sink: BuiltinComponentConfigs['sink/parquet@1'] = { path: '/data/out', mode: 'overwrite' }
 * ```
 */
export type BuiltinComponentConfigs = ComponentConfigs<BuiltinComponent>

/** Where a node sits on the canvas. */
export interface NodePosition {
  readonly x: number
  readonly y: number
}

/** The optional parts of a node written with `pipelineNode`. */
export interface NodeOptions {
  /** The label shown on the canvas. */
  readonly label?: string | undefined
  /**
   * Where the node sits on the canvas.
   * @default `definePipeline` places nodes without a position left to right, in order
   */
  readonly position?: NodePosition | undefined
  /** React Flow's node type (the renderer), not used by Spark. */
  readonly type?: string | undefined
  /** An uploaded file previews read instead of the node's path (ingestors that read a path only). */
  readonly previewSample?: ArtifactRef | undefined
}

/** A node written with `pipelineNode`: a document node whose id, reference and config keep their types. */
export interface AuthoredNode<Id extends string = string, Ref extends string = string, Config = unknown> {
  readonly id: Id
  readonly type?: string
  readonly position?: NodePosition
  readonly data: {
    readonly component: Ref
    readonly label?: string
    readonly config: Config
    readonly previewSample?: ArtifactRef
  }
}

/** An edge between two nodes of the same `definePipeline` call; an id is generated (`e1`, `e2`, ...) when absent. */
export interface AuthoredEdge<Id extends string = string> {
  readonly id?: string | undefined
  /** The node the rows come from. */
  readonly source: Id
  /** The node they go to. */
  readonly target: Id
  /** The output port of `source` (its only one by default). */
  readonly sourceHandle?: string | undefined
  /** The input port of `target` (its first by default), e.g. `left` / `right` of a join. */
  readonly targetHandle?: string | undefined
}

/** What `definePipeline` takes: a document without `schemaVersion`, with typed nodes and edges between them. */
export interface PipelineSpec<Nodes extends readonly AuthoredNode[]>
  extends Omit<PipelineDocument, 'schemaVersion' | 'nodes' | 'edges'> {
  readonly nodes: Nodes
  /** Edges may only name nodes of `nodes`. */
  readonly edges?: readonly AuthoredEdge<NoInfer<Nodes[number]['id']>>[] | undefined
}

/** The rest of `pipelineNode`'s arguments: the config may be left out when every field of it has a default. */
export type NodeConfigArgs<Config> =
  Partial<Config> extends Config ? [config?: Config, options?: NodeOptions] : [config: Config, options?: NodeOptions]

/** Typed `pipelineNode` and `definePipeline` for a set of components (configs by reference, see {@link ComponentConfigs}). */
export interface PipelineAuthoring<Configs> {
  /**
   * A node using component `component`, whose `config` must be what that component accepts.
   * @param id - the node id (letters, digits, `_` and `-`), unique in the pipeline
   */
  pipelineNode<const Id extends string, Ref extends keyof Configs & string>(
    id: Id,
    component: Ref,
    ...rest: NodeConfigArgs<Configs[Ref]>
  ): AuthoredNode<Id, Ref, Configs[Ref]>
  /** A pipeline document (current `schemaVersion`) from typed nodes and edges between them. */
  definePipeline<const Nodes extends readonly AuthoredNode<string, keyof Configs & string>[]>(
    spec: PipelineSpec<Nodes>,
  ): PipelineDocument
}

/** Horizontal distance between nodes placed by `definePipeline`. */
const COLUMN_WIDTH = 260

function buildNode(id: string, component: string, config?: unknown, options: NodeOptions = {}): AuthoredNode {
  return {
    id,
    ...(options.type !== undefined ? { type: options.type } : {}),
    ...(options.position !== undefined ? { position: { x: options.position.x, y: options.position.y } } : {}),
    data: {
      component,
      ...(options.label !== undefined ? { label: options.label } : {}),
      config: config === undefined ? {} : structuredClone(config),
      ...(options.previewSample !== undefined ? { previewSample: { $artifact: options.previewSample.$artifact } } : {}),
    },
  }
}

function buildPipeline(spec: PipelineSpec<readonly AuthoredNode[]>): PipelineDocument {
  const { nodes, edges = [], ...rest } = spec
  const taken = new Set(edges.flatMap((e) => (e.id === undefined ? [] : [e.id])))
  let counter = 0
  const nextEdgeId = (): string => {
    let id: string
    do id = `e${++counter}`
    while (taken.has(id))
    return id
  }
  const documentNodes: PipelineNode[] = nodes.map((node, index) => ({
    id: node.id,
    ...(node.type !== undefined ? { type: node.type } : {}),
    position: node.position ? { x: node.position.x, y: node.position.y } : { x: index * COLUMN_WIDTH, y: 0 },
    data: {
      component: node.data.component,
      ...(node.data.label !== undefined ? { label: node.data.label } : {}),
      config: structuredClone(node.data.config ?? {}) as Record<string, unknown>,
      ...(node.data.previewSample !== undefined
        ? { previewSample: { $artifact: node.data.previewSample.$artifact } }
        : {}),
    },
  }))
  const documentEdges: PipelineEdge[] = edges.map((edge) => ({
    id: edge.id ?? nextEdgeId(),
    source: edge.source,
    target: edge.target,
    ...(edge.sourceHandle !== undefined ? { sourceHandle: edge.sourceHandle } : {}),
    ...(edge.targetHandle !== undefined ? { targetHandle: edge.targetHandle } : {}),
  }))
  return { schemaVersion: CURRENT_SCHEMA_VERSION, ...rest, nodes: documentNodes, edges: documentEdges }
}

const runtime = Object.freeze({ pipelineNode: buildNode, definePipeline: buildPipeline })

/** The runtime functions are the same for every set of components: only their types differ. */
function authoringFor<Configs>(): PipelineAuthoring<Configs> {
  return runtime as unknown as PipelineAuthoring<Configs>
}

/**
 * Typed authoring over the built-in components plus `components` (your `defineComponent` results): the returned
 * `pipelineNode` and `definePipeline` check each node's config against its component at compile time. Nothing is
 * validated at run time: validate the document with `validatePipeline` before saving it.
 *
 * @throws TypeError when an argument is not a defined component (it has no `ref`).
 * @example
 * ```ts
 * import { defineComponent, pipelineAuthoring } from '@sparkle-studio/core'
 * import { z } from 'zod'
 *
 * const discount = defineComponent({
 *   type: 'transformer', name: 'discount', version: 1,
 *   title: 'Discount', description: 'Applies a discount rate.', category: 'Custom', icon: 'percent',
 *   inputs: [{ name: 'in' }], outputs: [{ name: 'out' }],
 *   config: z.strictObject({ rate: z.number().min(0).max(1) }),
 *   compile: (ctx) => ({ kind: 'relation', sql: `SELECT *, amount * ${1 - ctx.config.rate} AS net FROM ${ctx.input()}` }),
 * })
 *
 * const { definePipeline, pipelineNode } = pipelineAuthoring(discount)
 * const document = definePipeline({
 *   name: 'discounted',
 *   nodes: [
 *     pipelineNode('orders', 'ingestor/parquet@1', { path: '/data/orders' }),
 *     pipelineNode('net', 'transformer/discount@1', { rate: 0.1 }),
 *     pipelineNode('out', 'sink/parquet@1', { path: '/data/net', mode: 'overwrite' }),
 *   ],
 *   edges: [
 *     { source: 'orders', target: 'net' },
 *     { source: 'net', target: 'out' },
 *   ],
 * })
 * ```
 */
export function pipelineAuthoring<const Extra extends readonly AuthoringComponent[] = []>(
  ...components: Extra
): PipelineAuthoring<ComponentConfigs<BuiltinComponent | Extra[number]>> {
  for (const component of components) {
    if (typeof component?.ref !== 'string')
      throw new TypeError('pipelineAuthoring takes components made by defineComponent')
  }
  return authoringFor()
}

const builtin = authoringFor<BuiltinComponentConfigs>()

/**
 * A node of a built-in component, its config checked against that component at compile time (the input type of its
 * zod schema: fields with defaults are optional). For your own components, see {@link pipelineAuthoring}.
 *
 * @example
 * ```ts
 * import { pipelineNode } from '@sparkle-studio/core'
 *
 * const paid = pipelineNode('paid', 'transformer/filter@1', { condition: "status = 'paid'" }, { label: 'Paid' })
 * // pipelineNode('paid', 'transformer/filter@1', { condtion: '...' }) does not compile
 * ```
 */
export const pipelineNode: PipelineAuthoring<BuiltinComponentConfigs>['pipelineNode'] = builtin.pipelineNode

/**
 * A pipeline document of the current `schemaVersion` from nodes written with {@link pipelineNode}: edges may only
 * name those nodes (a typo is a compile error), edge ids are generated when absent, and nodes without a position
 * are placed left to right. The result is a plain `PipelineDocument`: validate it with `validatePipeline`.
 *
 * @example
 * ```ts
 * import { createDefaultRegistry, definePipeline, pipelineNode, validatePipeline } from '@sparkle-studio/core'
 *
 * const document = definePipeline({
 *   name: 'paid-orders',
 *   params: [{ name: 'ds', type: 'date' }],
 *   nodes: [
 *     pipelineNode('orders', 'ingestor/csv@1', { path: '/data/orders/{{ds}}.csv' }),
 *     pipelineNode('paid', 'transformer/filter@1', { condition: "status = 'paid'" }),
 *     pipelineNode('out', 'sink/parquet@1', { path: '/data/paid/ds={{ds}}', mode: 'overwrite' }),
 *   ],
 *   edges: [
 *     { source: 'orders', target: 'paid' },
 *     { source: 'paid', target: 'out' },
 *   ],
 * })
 * console.log(validatePipeline(document, createDefaultRegistry()).ok) // true
 * ```
 */
export const definePipeline: PipelineAuthoring<BuiltinComponentConfigs>['definePipeline'] = builtin.definePipeline
