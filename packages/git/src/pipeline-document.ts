import type { ValidationIssue } from '@sparkle-studio/core'
import { ValidationError } from '@sparkle-studio/core'
import { pointer } from './stable-json.ts'

/** The node shape the store reads (for diffs); the full model lives in `@sparkle-studio/core`. */
export interface PipelineNodeLike {
  /** Unique within the pipeline. */
  readonly id: string
  /** Where the node sits on the canvas. */
  readonly position: { readonly x: number; readonly y: number }
  /** The component and its configuration. */
  readonly data: {
    /** `"<type>/<name>@<version>"`, e.g. `"transformer/filter@1"`. */
    readonly component: string
    /** The label shown on the canvas. */
    readonly label?: string | undefined
    /** The component's configuration. */
    readonly config: Readonly<Record<string, unknown>>
  }
}

/** The edge shape the store reads (for diffs). */
export interface PipelineEdgeLike {
  /** Unique within the pipeline. */
  readonly id: string
  /** The upstream node id. */
  readonly source: string
  /** The downstream node id. */
  readonly target: string
  /** The upstream node's output port, when it has several. */
  readonly sourceHandle?: string | null | undefined
  /** The downstream node's input port, when it has several. */
  readonly targetHandle?: string | null | undefined
}

/**
 * The part of a pipeline document the store relies on. The store keeps documents as JSON and does not depend on the
 * component registry; the host plugs the registry in through {@link ValidatePipeline}.
 */
export interface PipelineDocumentLike {
  /** Version of the document format, for migrations. */
  readonly schemaVersion: number
  /** Equal to the pipeline's folder name. */
  readonly name: string
  /** One line shown in lists. */
  readonly description?: string | undefined
  /** Free labels shown in lists and used for filtering. */
  readonly tags?: readonly string[] | undefined
  /** The graph's nodes. */
  readonly nodes: readonly PipelineNodeLike[]
  /** The graph's edges. */
  readonly edges: readonly PipelineEdgeLike[]
}

/** What a {@link ValidatePipeline} function answers. */
export type ValidationOutcome<T> =
  | { readonly ok: true; readonly document: T }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] }

/**
 * Validates a document before it is saved, typically core's registry-backed validator. It reports plaintext values in
 * secret fields as issues with code `secret_in_plaintext`. It may return a normalized document (defaults filled in),
 * which is what gets saved.
 */
export type ValidatePipeline<T> = (document: unknown) => ValidationOutcome<T> | Promise<ValidationOutcome<T>>

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The structural check the store applies when no {@link ValidatePipeline} is configured: the shape every pipeline
 * document has whatever its components (schema version, unique node ids with positions and a component, edges between
 * existing nodes). It knows nothing about component configs or secret fields; wire core's validator for those.
 */
export function checkPipelineShape(document: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  const add = (path: string, code: string, message: string, nodeId?: string) =>
    issues.push(nodeId === undefined ? { path, code, message } : { path, code, message, nodeId })
  if (!isObject(document)) {
    add('', 'invalid_type', 'a pipeline document is a JSON object')
    return issues
  }
  const v = document['schemaVersion']
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    add('/schemaVersion', 'invalid_type', 'schemaVersion must be a positive integer')
  if (typeof document['name'] !== 'string') add('/name', 'invalid_type', 'name must be a string')
  if (document['description'] !== undefined && typeof document['description'] !== 'string')
    add('/description', 'invalid_type', 'description must be a string')
  if (
    document['tags'] !== undefined &&
    !(Array.isArray(document['tags']) && document['tags'].every((t) => typeof t === 'string'))
  )
    add('/tags', 'invalid_type', 'tags must be an array of strings')
  const ids = new Set<string>()
  if (!Array.isArray(document['nodes'])) add('/nodes', 'invalid_type', 'nodes must be an array')
  else
    document['nodes'].forEach((node: unknown, i) => {
      const at = pointer('/nodes', i)
      if (!isObject(node)) {
        add(at, 'invalid_type', 'a node must be an object')
        return
      }
      const id = typeof node['id'] === 'string' && node['id'].length > 0 ? node['id'] : undefined
      if (id === undefined) add(`${at}/id`, 'invalid_type', 'a node needs a non-empty string id')
      else if (ids.has(id)) add(`${at}/id`, 'duplicate_id', `node id "${id}" is used twice`, id)
      else ids.add(id)
      const pos = node['position']
      if (!isObject(pos) || !Number.isFinite(pos['x']) || !Number.isFinite(pos['y']))
        add(`${at}/position`, 'invalid_type', 'a node needs a position { x, y } of numbers', id)
      const data = node['data']
      if (!isObject(data)) add(`${at}/data`, 'invalid_type', 'a node needs data { component, config }', id)
      else {
        if (typeof data['component'] !== 'string' || !/^[a-z]+\/[A-Za-z0-9_.-]+@[0-9]+$/.test(data['component']))
          add(`${at}/data/component`, 'invalid_type', 'component must read "<type>/<name>@<version>"', id)
        if (!isObject(data['config'])) add(`${at}/data/config`, 'invalid_type', 'config must be an object', id)
        if (data['label'] !== undefined && typeof data['label'] !== 'string')
          add(`${at}/data/label`, 'invalid_type', 'label must be a string', id)
      }
    })
  const edgeIds = new Set<string>()
  if (!Array.isArray(document['edges'])) add('/edges', 'invalid_type', 'edges must be an array')
  else
    document['edges'].forEach((edge: unknown, i) => {
      const at = pointer('/edges', i)
      if (!isObject(edge)) {
        add(at, 'invalid_type', 'an edge must be an object')
        return
      }
      if (typeof edge['id'] !== 'string' || edge['id'].length === 0)
        add(`${at}/id`, 'invalid_type', 'an edge needs an id')
      else if (edgeIds.has(edge['id'])) add(`${at}/id`, 'duplicate_id', `edge id "${edge['id']}" is used twice`)
      else edgeIds.add(edge['id'])
      for (const end of ['source', 'target'] as const) {
        const ref = edge[end]
        if (typeof ref !== 'string') add(`${at}/${end}`, 'invalid_type', `an edge needs a ${end} node id`)
        else if (Array.isArray(document['nodes']) && !ids.has(ref))
          add(`${at}/${end}`, 'dangling_edge', `${end} "${ref}" is not a node of this pipeline`)
      }
    })
  return issues
}

/**
 * Parses the bytes of a `pipeline.json` file.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} (`VALIDATION_FAILED`) with an `invalid_json`
 * issue naming the file when it is not JSON, or `invalid_document` when it is JSON but not an object.
 */
export function parsePipelineText(text: string, file: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    throw new ValidationError(`${file} is not valid JSON (${why}): fix or replace the file`, [
      { path: '', code: 'invalid_json', message: `${file}: ${why}` },
    ])
  }
  if (!isObject(value))
    throw new ValidationError(`${file} does not hold a JSON object: fix or replace the file`, [
      { path: '', code: 'invalid_document', message: `${file}: a pipeline document is a JSON object` },
    ])
  return value
}
