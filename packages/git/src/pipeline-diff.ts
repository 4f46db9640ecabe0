import { pointer } from './stable-json.ts'

/** One changed value, addressed by a JSON pointer. */
export interface ValueChange {
  /** JSON pointer (RFC 6901), relative to what is compared (the document, or a node's config). */
  readonly path: string
  /** Whether the value appeared, disappeared or changed. */
  readonly kind: 'added' | 'removed' | 'changed'
  /** The value before (absent when added). */
  readonly before?: unknown
  /** The value after (absent when removed). */
  readonly after?: unknown
}

/** A {@link ValueChange} inside one node. */
export interface NodeValueChange extends ValueChange {
  /** The node it belongs to. */
  readonly nodeId: string
}

/** A node as listed among added or removed nodes. */
export interface NodeSummary {
  /** Node id. */
  readonly id: string
  /** Its component reference, e.g. `transformer/filter@1`. */
  readonly component?: string
  /** Its label. */
  readonly label?: string
}

/** A node whose canvas position changed. */
export interface NodeMove {
  /** Node id. */
  readonly id: string
  /** Position before. */
  readonly from: { readonly x: number; readonly y: number }
  /** Position after. */
  readonly to: { readonly x: number; readonly y: number }
}

/** A node whose label or component reference changed. */
export interface NodeTextChange {
  /** Node id. */
  readonly id: string
  /** Value before (absent when there was none). */
  readonly before?: string
  /** Value after (absent when removed). */
  readonly after?: string
}

/** An edge, as compared. */
export interface EdgeSnapshot {
  /** Edge id (or, for an edge without one, `source->target`). */
  readonly id: string
  /** Upstream node id. */
  readonly source: string
  /** Downstream node id. */
  readonly target: string
  /** Upstream port. */
  readonly sourceHandle?: string
  /** Downstream port. */
  readonly targetHandle?: string
}

/** An edge whose endpoints changed while its id stayed. */
export interface EdgeChange {
  /** Edge id. */
  readonly id: string
  /** The edge before. */
  readonly before: EdgeSnapshot
  /** The edge after. */
  readonly after: EdgeSnapshot
}

/**
 * What changed between two pipeline documents, in terms of the canvas: nodes added, removed, moved, relabelled or
 * switched to another component version, config fields changed (JSON pointers into each node's config, with before and
 * after values), edges added, removed or re-pointed, and every other top-level field.
 */
export interface PipelineChanges {
  /** True when the two documents are the same. */
  readonly identical: boolean
  /** Changes outside `nodes` and `edges` (`/description`, `/schedule/cron`, ...). */
  readonly fields: readonly ValueChange[]
  /** Node changes. */
  readonly nodes: {
    readonly added: readonly NodeSummary[]
    readonly removed: readonly NodeSummary[]
    readonly moved: readonly NodeMove[]
    readonly relabelled: readonly NodeTextChange[]
    /** Component reference changes (a version bump from a migration, a swapped component). */
    readonly component: readonly NodeTextChange[]
    /** Config field changes; paths are relative to the node's `data.config`. */
    readonly config: readonly NodeValueChange[]
    /** Any other node field (paths relative to the node, e.g. `/width`). */
    readonly other: readonly NodeValueChange[]
  }
  /** Edge changes. */
  readonly edges: {
    readonly added: readonly EdgeSnapshot[]
    readonly removed: readonly EdgeSnapshot[]
    readonly changed: readonly EdgeChange[]
  }
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const asObject = (v: unknown): Json => (isObject(v) ? v : {})
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** Structural equality of JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]))
  }
  return false
}

/**
 * Leaf-level changes between two JSON values: objects are compared key by key, arrays of the same length item by
 * item, anything else (including arrays whose length changed) as one value.
 */
export function diffJson(before: unknown, after: unknown, path = '', out: ValueChange[] = []): ValueChange[] {
  if (jsonEqual(before, after)) return out
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    for (const k of keys) diffJson(before[k], after[k], pointer(path, k), out)
  } else if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    for (const [i, v] of before.entries()) diffJson(v, after[i], pointer(path, i), out)
  } else if (before === undefined) out.push({ path, kind: 'added', after })
  else if (after === undefined) out.push({ path, kind: 'removed', before })
  else out.push({ path, kind: 'changed', before, after })
  return out
}

function nodeSummary(node: Json): NodeSummary {
  const data = asObject(node['data'])
  const component = str(data['component'])
  const label = str(data['label'])
  return {
    id: String(node['id']),
    ...(component === undefined ? {} : { component }),
    ...(label === undefined ? {} : { label }),
  }
}

function edgeSnapshot(edge: Json): EdgeSnapshot {
  const source = String(edge['source'])
  const target = String(edge['target'])
  const sourceHandle = str(edge['sourceHandle'])
  const targetHandle = str(edge['targetHandle'])
  return {
    id: str(edge['id']) ?? `${source}->${target}`,
    source,
    target,
    ...(sourceHandle === undefined ? {} : { sourceHandle }),
    ...(targetHandle === undefined ? {} : { targetHandle }),
  }
}

function byId<T extends { id: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((i) => [i.id, i]))
}

function textChange(id: string, before: string | undefined, after: string | undefined): NodeTextChange {
  return { id, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }
}

/** Node fields reported on their own; the rest of a node is compared as "other". */
function nodeRest(node: Json): Json {
  const { id: _id, position: _position, data, ...rest } = node
  const { component: _component, label: _label, config: _config, ...dataRest } = asObject(data)
  return Object.keys(dataRest).length > 0 ? { ...rest, data: dataRest } : rest
}

/**
 * Compares two pipeline documents as the canvas shows them. A missing document (`undefined` or `null`) compares as an
 * empty pipeline, so a created pipeline shows all its nodes as added.
 *
 * @example
 * ```ts
 * import { diffPipelineDocuments } from '@sparkle-studio/git'
 *
 * const changes = diffPipelineDocuments(before, after)
 * for (const c of changes.nodes.config) console.log(c.nodeId, c.path, c.before, '->', c.after)
 * ```
 */
export function diffPipelineDocuments(before: unknown, after: unknown): PipelineChanges {
  const a = asObject(before)
  const b = asObject(after)
  const { nodes: aNodesRaw, edges: aEdgesRaw, ...aTop } = a
  const { nodes: bNodesRaw, edges: bEdgesRaw, ...bTop } = b
  const fields = diffJson(aTop, bTop)

  const aNodes = byId(
    asArray(aNodesRaw)
      .filter(isObject)
      .map((n) => ({ id: String(n['id']), node: n })),
  )
  const bNodes = byId(
    asArray(bNodesRaw)
      .filter(isObject)
      .map((n) => ({ id: String(n['id']), node: n })),
  )
  const added: NodeSummary[] = []
  const removed: NodeSummary[] = []
  const moved: NodeMove[] = []
  const relabelled: NodeTextChange[] = []
  const component: NodeTextChange[] = []
  const config: NodeValueChange[] = []
  const other: NodeValueChange[] = []
  for (const [id, { node }] of aNodes) if (!bNodes.has(id)) removed.push(nodeSummary(node))
  for (const [id, { node: after }] of bNodes) {
    const found = aNodes.get(id)
    if (!found) {
      added.push(nodeSummary(after))
      continue
    }
    const before = found.node
    const pa = asObject(before['position'])
    const pb = asObject(after['position'])
    if (!jsonEqual(pa['x'], pb['x']) || !jsonEqual(pa['y'], pb['y']))
      moved.push({
        id,
        from: { x: Number(pa['x']), y: Number(pa['y']) },
        to: { x: Number(pb['x']), y: Number(pb['y']) },
      })
    const da = asObject(before['data'])
    const db = asObject(after['data'])
    if (str(da['label']) !== str(db['label'])) relabelled.push(textChange(id, str(da['label']), str(db['label'])))
    if (str(da['component']) !== str(db['component']))
      component.push(textChange(id, str(da['component']), str(db['component'])))
    for (const c of diffJson(da['config'] ?? {}, db['config'] ?? {})) config.push({ nodeId: id, ...c })
    for (const c of diffJson(nodeRest(before), nodeRest(after))) other.push({ nodeId: id, ...c })
  }

  const aEdges = byId(asArray(aEdgesRaw).filter(isObject).map(edgeSnapshot))
  const bEdges = byId(asArray(bEdgesRaw).filter(isObject).map(edgeSnapshot))
  const edgesAdded = [...bEdges.values()].filter((e) => !aEdges.has(e.id))
  const edgesRemoved = [...aEdges.values()].filter((e) => !bEdges.has(e.id))
  const edgesChanged: EdgeChange[] = []
  for (const [id, after] of bEdges) {
    const before = aEdges.get(id)
    if (before && !jsonEqual(before, after)) edgesChanged.push({ id, before, after })
  }

  const identical =
    fields.length +
      added.length +
      removed.length +
      moved.length +
      relabelled.length +
      component.length +
      config.length +
      other.length +
      edgesAdded.length +
      edgesRemoved.length +
      edgesChanged.length ===
    0
  return {
    identical,
    fields,
    nodes: { added, removed, moved, relabelled, component, config, other },
    edges: { added: edgesAdded, removed: edgesRemoved, changed: edgesChanged },
  }
}
