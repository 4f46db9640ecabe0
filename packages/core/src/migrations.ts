import { parseComponentRef } from './component.ts'
import { assertNotTooDeep } from './depth.ts'
import { CURRENT_SCHEMA_VERSION, type PipelineDocument } from './document.ts'
import type { ComponentRegistry } from './registry.ts'
import { ValidationError } from './validation-issue.ts'

/** One change a migration made, for the change summary of a save or a bulk migration. */
export interface MigrationChange {
  /**
   * `document`: the document's schema version; `component`: a node's component version and config; `custom`: one of
   * your {@link PipelineChange}s.
   */
  readonly kind: 'document' | 'component' | 'custom'
  /** JSON pointer of what changed in the new document. */
  readonly path: string
  /** A human-readable sentence. */
  readonly message: string
  /** The node, for component changes and custom changes of one node. */
  readonly nodeId?: string
}

/**
 * Why a node's component cannot be used with the registry: `malformed-ref` (not `"<type>/<name>@<version>"`),
 * `unknown-component` (no version of that type and name is registered), `unknown-version` (others are, not this one).
 */
export type UnknownComponentReason = 'malformed-ref' | 'unknown-component' | 'unknown-version'

/** A node whose component the registry does not have: the document cannot be validated or compiled with it. */
export interface UnknownComponent {
  /** The node. */
  readonly nodeId: string
  /** Its component reference, as written (`String()` of it when it is not a string). */
  readonly component: string
  /** JSON pointer of the reference in the migrated document, e.g. `/nodes/3/data/component`. */
  readonly path: string
  readonly reason: UnknownComponentReason
}

/** What a {@link PipelineChange} gets beside the document. */
export interface PipelineChangeContext {
  /** The registry `migratePipeline` was given. */
  readonly registry: ComponentRegistry
  /** The document's version before the migration. */
  readonly fromVersion: number
}

/**
 * A change of your own (a moved bucket, a renamed config field), run by {@link migratePipeline} after the document is
 * upgraded to {@link CURRENT_SCHEMA_VERSION} and its components to their latest versions, so it is written against the
 * current document shape only, whatever version a stored document has. It may modify `document` in place and return
 * nothing, or return a new document. The document is not validated yet: check types before reading a value.
 */
export type PipelineChange = (
  document: PipelineDocument,
  context: PipelineChangeContext,
) => PipelineDocument | undefined

/** The result of {@link migratePipeline}. */
export interface MigrationResult {
  /** The upgraded document (the input is never modified). */
  readonly document: PipelineDocument
  /** Every change made, in order. */
  readonly changes: readonly MigrationChange[]
  readonly fromVersion: number
  readonly toVersion: number
  /** False when the document was already current (and no change of yours changed it). */
  readonly changed: boolean
  /**
   * The nodes of the migrated document whose component the registry does not have, in document order. Such a
   * document is not "current": it needs that component registered (or the node changed) before it validates.
   */
  readonly unknownComponents: readonly UnknownComponent[]
}

/** Options of {@link migratePipeline}. */
export interface MigratePipelineOptions {
  /**
   * Also upgrade each node to the latest version of its component, through the components' `upgrade` functions.
   * @default true
   */
  readonly upgradeComponents?: boolean | undefined
  /**
   * Changes of your own, run in order on the upgraded document (see {@link PipelineChange}); what each one changed is
   * listed in `changes` with kind `custom`.
   */
  readonly changes?: readonly PipelineChange[] | undefined
}

type Json = Record<string, unknown>
type DocumentMigration = (doc: Json) => { document: Json; changes: MigrationChange[] }

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Document migrations, keyed by the version they upgrade from. Version 1 (the seed format) had flat nodes
 * (`component`, `label`, `config` beside `id`), edges with `from`/`to`/`port`, params as a map, the schedule as a
 * cron string with a separate `timezone`, and `sparkConf`. Version 2 is React Flow shaped.
 */
const documentMigrations: Readonly<Record<number, DocumentMigration>> = {
  1: (doc) => {
    const changes: MigrationChange[] = []
    const nodes = (Array.isArray(doc['nodes']) ? doc['nodes'] : []).map((raw, i) => {
      const n = isRecord(raw) ? raw : {}
      const data: Json = { component: n['component'], config: isRecord(n['config']) ? n['config'] : {} }
      if (typeof n['label'] === 'string') data['label'] = n['label']
      const position = isRecord(n['position']) ? n['position'] : { x: i * 240, y: 0 }
      return { id: n['id'], position, data }
    })
    changes.push({
      kind: 'document',
      path: '/nodes',
      message: `moved component, label and config of ${nodes.length} nodes into data`,
    })
    const edges = (Array.isArray(doc['edges']) ? doc['edges'] : []).map((raw, i) => {
      const e = isRecord(raw) ? raw : {}
      const edge: Json = { id: typeof e['id'] === 'string' ? e['id'] : `e${i + 1}`, source: e['from'], target: e['to'] }
      if (typeof e['port'] === 'string') edge['targetHandle'] = e['port']
      return edge
    })
    changes.push({
      kind: 'document',
      path: '/edges',
      message: `renamed from/to/port of ${edges.length} edges to source/target/targetHandle`,
    })
    const out: Json = { schemaVersion: 2, name: doc['name'] }
    if (doc['description'] !== undefined) out['description'] = doc['description']
    if (doc['tags'] !== undefined) out['tags'] = doc['tags']
    if (isRecord(doc['params'])) {
      out['params'] = Object.entries(doc['params']).map(([name, spec]) => ({
        name,
        ...(isRecord(spec) ? spec : { type: 'string' }),
      }))
      changes.push({ kind: 'document', path: '/params', message: 'turned the params map into a list' })
    }
    out['nodes'] = nodes
    out['edges'] = edges
    if (typeof doc['schedule'] === 'string') {
      out['schedule'] = {
        cron: doc['schedule'],
        timezone: typeof doc['timezone'] === 'string' ? doc['timezone'] : 'UTC',
      }
      changes.push({ kind: 'document', path: '/schedule', message: 'schedule became { cron, timezone }' })
    }
    if (isRecord(doc['sparkConf'])) {
      out['spark'] = { conf: doc['sparkConf'] }
      changes.push({ kind: 'document', path: '/spark', message: 'sparkConf moved to spark.conf' })
    }
    return { document: out, changes }
  },
}

/**
 * Upgrades a pipeline document to {@link CURRENT_SCHEMA_VERSION}, then (by default) each node to the latest version
 * of its component through the components' `upgrade` functions. Pure: the input is not modified, and the same
 * input gives the same output. The result is not validated: validate it before saving.
 *
 * @throws {@link ValidationError} when the document has no usable `schemaVersion`, is newer than this SDK, is nested
 * too deeply (`too_deep`), or a component upgrade fails.
 * @example
 * ```ts
 * import { createDefaultRegistry, migratePipeline } from '@sparkle-studio/core'
 *
 * const { document, changes } = migratePipeline(oldDocument, createDefaultRegistry())
 * for (const c of changes) console.log(c.path, c.message)
 * ```
 */
export function migratePipeline(
  input: unknown,
  registry: ComponentRegistry,
  options: MigratePipelineOptions = {},
): MigrationResult {
  if (!isRecord(input)) {
    throw new ValidationError('A pipeline document must be a JSON object', [
      { path: '', message: 'must be an object', code: 'invalid_type' },
    ])
  }
  const fromVersion = input['schemaVersion']
  if (typeof fromVersion !== 'number' || !Number.isInteger(fromVersion) || fromVersion < 1) {
    throw new ValidationError('The document has no valid schemaVersion', [
      { path: '/schemaVersion', message: 'must be an integer >= 1', code: 'invalid_type' },
    ])
  }
  if (fromVersion > CURRENT_SCHEMA_VERSION) {
    throw new ValidationError(
      `Document version ${fromVersion} is newer than this SDK understands (${CURRENT_SCHEMA_VERSION}): upgrade the SDK`,
      [{ path: '/schemaVersion', message: `unsupported version ${fromVersion}`, code: 'unsupported_version' }],
    )
  }
  // structuredClone recurses: deeper input would exhaust the stack.
  assertNotTooDeep(input)
  let document: Json = structuredClone(input)
  const changes: MigrationChange[] = []
  for (let v = fromVersion; v < CURRENT_SCHEMA_VERSION; v++) {
    const step = documentMigrations[v]
    if (!step)
      throw new ValidationError(`No migration from version ${v}`, [
        { path: '/schemaVersion', message: `no migration from ${v}`, code: 'unsupported_version' },
      ])
    const result = step(document)
    document = result.document
    changes.push(...result.changes)
  }
  if (options.upgradeComponents ?? true) changes.push(...upgradeComponents(document, registry))
  const context: PipelineChangeContext = { registry, fromVersion }
  for (const [index, change] of (options.changes ?? []).entries()) {
    const applied = applyChange(document, change, change.name || `change ${index + 1}`, context)
    document = applied.document
    changes.push(...applied.changes)
  }
  return {
    document: document as PipelineDocument,
    changes,
    fromVersion,
    toVersion: CURRENT_SCHEMA_VERSION,
    changed: changes.length > 0,
    unknownComponents: findUnknownComponents(document, registry),
  }
}

function changeFailed(label: string, message: string): ValidationError {
  return new ValidationError(`The change "${label}" failed: ${message}`, [{ path: '', message, code: 'change_failed' }])
}

/** Runs one of the caller's changes and lists what it changed (nodes by id, other top-level fields, the edges). */
function applyChange(
  document: Json,
  change: PipelineChange,
  label: string,
  context: PipelineChangeContext,
): { document: Json; changes: MigrationChange[] } {
  const before = structuredClone(document)
  let returned: unknown
  try {
    returned = change(document as PipelineDocument, context)
  } catch (error) {
    throw changeFailed(label, error instanceof Error ? error.message : String(error))
  }
  const after = returned === undefined ? document : returned
  if (!isRecord(after)) throw changeFailed(label, 'it returned something that is not a document object')
  assertNotTooDeep(after)
  const changes: MigrationChange[] = []
  const nodesOf = (doc: Json) => (Array.isArray(doc['nodes']) ? doc['nodes'] : [])
  const idOf = (node: unknown) => (isRecord(node) ? String(node['id']) : '')
  const previous = new Map(nodesOf(before).map((node) => [idOf(node), node]))
  const current = new Set<string>()
  nodesOf(after).forEach((node, index) => {
    const nodeId = idOf(node)
    current.add(nodeId)
    const old = previous.get(nodeId)
    if (old === undefined)
      changes.push({ kind: 'custom', path: `/nodes/${index}`, message: `${label}: added node ${nodeId}`, nodeId })
    else if (!jsonEqual(old, node))
      changes.push({ kind: 'custom', path: `/nodes/${index}`, message: `${label}: changed node ${nodeId}`, nodeId })
  })
  for (const nodeId of previous.keys()) {
    if (!current.has(nodeId))
      changes.push({ kind: 'custom', path: '/nodes', message: `${label}: removed node ${nodeId}`, nodeId })
  }
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key !== 'nodes' && !jsonEqual(before[key], after[key]))
      changes.push({ kind: 'custom', path: `/${key}`, message: `${label}: changed ${key}` })
  }
  return { document: after, changes }
}

/** Deep equality of JSON values, whatever the key order. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
  if (!isRecord(a) || !isRecord(b)) return false
  const keys = Object.keys(a).filter((k) => a[k] !== undefined)
  return (
    keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length &&
    keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
  )
}

function findUnknownComponents(document: Json, registry: ComponentRegistry): UnknownComponent[] {
  const unknown: UnknownComponent[] = []
  const nodes = Array.isArray(document['nodes']) ? document['nodes'] : []
  nodes.forEach((node, index) => {
    const data = isRecord(node) && isRecord(node['data']) ? node['data'] : {}
    const component = data['component']
    if (typeof component === 'string' && registry.resolve(component)) return
    const ref = typeof component === 'string' ? parseComponentRef(component) : undefined
    const reason: UnknownComponentReason = !ref
      ? 'malformed-ref'
      : registry.get(ref.type, ref.name)
        ? 'unknown-version'
        : 'unknown-component'
    unknown.push({
      nodeId: isRecord(node) ? String(node['id']) : '',
      component: String(component),
      path: `/nodes/${index}/data/component`,
      reason,
    })
  })
  return unknown
}

function upgradeComponents(document: Json, registry: ComponentRegistry): MigrationChange[] {
  const changes: MigrationChange[] = []
  const nodes = Array.isArray(document['nodes']) ? document['nodes'] : []
  nodes.forEach((node, index) => {
    if (!isRecord(node) || !isRecord(node['data']) || typeof node['data']['component'] !== 'string') return
    const data = node['data']
    const ref = parseComponentRef(data['component'] as string)
    if (!ref) return
    const latest = registry.get(ref.type, ref.name)
    if (!latest || latest.version <= ref.version) return
    let config = isRecord(data['config']) ? data['config'] : {}
    let version = ref.version
    for (let v = ref.version + 1; v <= latest.version; v++) {
      const next = registry.get(ref.type, ref.name, v)
      if (!next?.upgrade) return // A gap in the chain: leave the node at the version it can be read at.
      try {
        config = next.upgrade(config)
      } catch (error) {
        const nodeId = String(node['id'])
        throw new ValidationError(`Upgrading node "${nodeId}" to ${next.ref} failed: ${(error as Error).message}`, [
          { path: `/nodes/${index}/data/config`, message: (error as Error).message, code: 'upgrade_failed', nodeId },
        ])
      }
      version = v
    }
    const nodeId = String(node['id'])
    const to = `${ref.type}/${ref.name}@${version}`
    data['component'] = to
    data['config'] = config
    changes.push({
      kind: 'component',
      path: `/nodes/${index}/data/component`,
      message: `${nodeId}: ${ref.type}/${ref.name}@${ref.version} -> @${version}`,
      nodeId,
    })
  })
  return changes
}
