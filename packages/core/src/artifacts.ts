// Data artifacts: files users upload to the server (CSV, JSON lines, Parquet), referenced from pipelines by id as
// `{ "$artifact": "<uuid>" }`. Core only knows ids and the locations a caller resolves them to; storing files and
// resolving ids is the server's job.
import { z } from 'zod'
import { MAX_NESTING_DEPTH } from './depth.ts'
import { escapePointer } from './ui-schema.ts'

/** Artifact ids: a UUID in lower case, as the server writes them (`8-4-4-4-12` hexadecimal digits). */
export const ARTIFACT_ID_PATTERN: RegExp = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * A reference to an uploaded data artifact, `{ "$artifact": "<uuid>" }`: what a source ingestor's path field and a
 * node's `previewSample` hold instead of a path. The compiler replaces it with the artifact's location.
 */
export const ArtifactRefSchema = z
  .strictObject({
    $artifact: z
      .string()
      .regex(ARTIFACT_ID_PATTERN, 'artifact ids are lower-case UUIDs')
      .meta({ title: 'Artifact id', description: 'The id the server gave the uploaded file.' }),
  })
  .meta({
    title: 'Uploaded file',
    description: 'A data artifact uploaded to the server (CSV, JSON lines or Parquet), by its id.',
  })

/** A reference to an uploaded data artifact (see {@link ArtifactRefSchema}). */
export interface ArtifactRef {
  /** The artifact's id, a lower-case UUID ({@link ARTIFACT_ID_PATTERN}). */
  readonly $artifact: string
}

/** The file formats of data artifacts: `jsonl` is JSON lines, which the `json` ingestor reads. */
export type ArtifactFormat = 'csv' | 'jsonl' | 'parquet'

/** Where an artifact is, as the server resolves its id: a path readers open, and the file's format. */
export interface ArtifactLocation {
  /** The artifact's file or folder, a path Spark reads (inside the policy's read roots, when there is a policy). */
  readonly path: string
  /** The file's format; only an ingestor that reads it may reference the artifact. */
  readonly format: ArtifactFormat
}

/** What reads one artifact format (see {@link ARTIFACT_FORMAT_READERS}). */
export interface ArtifactReader {
  /** The format's name in messages, e.g. `JSON lines`. */
  readonly title: string
  /** The Spark data source format that reads the files, e.g. `json`. */
  readonly sparkFormat: string
  /** The built-in ingestor that reads the files. */
  readonly ingestor: string
  /** That ingestor's title. */
  readonly ingestorTitle: string
}

/**
 * For each artifact format: the Spark data source format that reads it and the built-in ingestor for it (used by
 * the compiler's `artifact_format_mismatch` issue to name the right ingestor).
 */
export const ARTIFACT_FORMAT_READERS: Readonly<Record<ArtifactFormat, ArtifactReader>> = Object.freeze({
  csv: Object.freeze({ title: 'CSV', sparkFormat: 'csv', ingestor: 'ingestor/csv@1', ingestorTitle: 'CSV files' }),
  jsonl: Object.freeze({
    title: 'JSON lines',
    sparkFormat: 'json',
    ingestor: 'ingestor/json@1',
    ingestorTitle: 'JSON files',
  }),
  parquet: Object.freeze({
    title: 'Parquet',
    sparkFormat: 'parquet',
    ingestor: 'ingestor/parquet@1',
    ingestorTitle: 'Parquet files',
  }),
})

/**
 * Whether `value` is an artifact reference: an object with exactly one key, `$artifact`, whose value is a lower-case
 * UUID.
 *
 * @example
 * ```ts
 * import { isArtifactRef } from '@sparkle-studio/core'
 *
 * isArtifactRef({ $artifact: '0f8fad5b-d9cb-469f-a165-70867728950e' }) // true
 * isArtifactRef('/data/orders.csv') // false
 * ```
 */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const keys = Object.keys(value)
  const id = (value as { $artifact?: unknown }).$artifact
  return keys.length === 1 && keys[0] === '$artifact' && typeof id === 'string' && ARTIFACT_ID_PATTERN.test(id)
}

/**
 * The path string of a source path field (see `sourcePathField`) inside a component's `compile`. The compiler
 * replaces every artifact reference with its location's path before `compile` runs, so `compile` only ever sees a
 * string; this narrows the field's type to it, and throws if it is called on a reference anyway (a config that did
 * not go through `compilePipeline`).
 *
 * @example
 * ```ts
 * import { defineComponent, pathOf, sourcePathField } from '@sparkle-studio/core'
 * import { z } from 'zod'
 *
 * export const textFiles = defineComponent({
 *   type: 'ingestor', name: 'text-files', version: 1, title: 'Text files', description: 'One row per line.',
 *   category: 'Sources', icon: 'file-text', inputs: [], outputs: [{ name: 'out' }],
 *   config: z.strictObject({ path: sourcePathField('Path', '/data/logs/*.txt') }),
 *   compile: ({ config }) => ({ kind: 'read', source: { format: 'text', path: pathOf(config.path) } }),
 * })
 * ```
 */
export function pathOf(value: string | ArtifactRef): string {
  if (typeof value === 'string') return value
  throw new TypeError(
    `artifact ${value.$artifact} was not resolved: compile the pipeline with compilePipeline and its artifacts option`,
  )
}

type Def = {
  type: string
  innerType?: z.ZodType
  element?: z.ZodType
  shape?: Record<string, z.ZodType>
  in?: z.ZodType
  options?: z.ZodType[]
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema
  for (;;) {
    const def = current._zod.def as Def
    if (def.innerType && ['optional', 'default', 'nullable', 'prefault', 'readonly'].includes(def.type)) {
      current = def.innerType
    } else if (def.type === 'pipe' && def.in) current = def.in
    else return current
  }
}

function isRefSchema(schema: z.ZodType): boolean {
  const def = unwrap(schema)._zod.def as Def
  return def.type === 'object' && def.shape !== undefined && Object.keys(def.shape).join() === '$artifact'
}

/**
 * The JSON pointer patterns (array items as `*`, as `hintedPaths` writes them) of the fields of a config schema that
 * accept an artifact reference: the source path fields. A component with one is an ingestor that may take a
 * `previewSample`.
 */
export function artifactPaths(schema: z.ZodType, prefix = '', depth = 1): string[] {
  if (depth > MAX_NESTING_DEPTH) return []
  const def = unwrap(schema)._zod.def as Def
  if (def.type === 'union' && def.options) {
    if (def.options.some(isRefSchema)) return [prefix]
    return [...new Set(def.options.flatMap((o) => artifactPaths(o, prefix, depth + 1)))]
  }
  if (isRefSchema(schema)) return [prefix]
  if (def.type === 'array' && def.element) return artifactPaths(def.element, `${prefix}/*`, depth + 1)
  if (def.type !== 'object' || !def.shape) return []
  return Object.entries(def.shape).flatMap(([key, child]) =>
    artifactPaths(child, `${prefix}/${escapePointer(key)}`, depth + 1),
  )
}

/** One artifact reference found in a pipeline document by {@link artifactRefs}. */
export interface ArtifactRefLocation {
  /** The artifact's id. */
  readonly id: string
  /** The node that references it. */
  readonly nodeId: string
  /** JSON pointer (RFC 6901) of the reference object in the document. */
  readonly path: string
  /** `source`: in the node's config (what runs read); `previewSample`: the node's preview sample. */
  readonly role: 'source' | 'previewSample'
}

/**
 * Every artifact reference in a pipeline document, parsed or not (nothing is validated; malformed parts are skipped),
 * in document order: the ids a caller resolves to {@link ArtifactLocation}s before `compilePipeline`, and how a store
 * finds the pipelines that use an artifact. Walks no deeper than {@link MAX_NESTING_DEPTH} levels.
 *
 * @example
 * ```ts
 * import { artifactRefs } from '@sparkle-studio/core'
 *
 * const ids = new Set(artifactRefs(JSON.parse(text)).map((r) => r.id))
 * ```
 */
export function artifactRefs(document: unknown): ArtifactRefLocation[] {
  const out: ArtifactRefLocation[] = []
  if (!isRecord(document) || !Array.isArray(document['nodes'])) return out
  // Document (1) > nodes (2) > node (3) > data (4) > config (5) and what is inside it.
  document['nodes'].forEach((node: unknown, index) => {
    if (!isRecord(node) || typeof node['id'] !== 'string' || !isRecord(node['data'])) return
    const nodeId = node['id']
    const data = node['data']
    const base = `/nodes/${index}/data`
    walk(data['config'], `${base}/config`, 5, (id, path) => out.push({ id, nodeId, path, role: 'source' }))
    const sample = data['previewSample']
    if (isArtifactRef(sample)) {
      out.push({ id: sample.$artifact, nodeId, path: `${base}/previewSample`, role: 'previewSample' })
    }
  })
  return out
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function walk(value: unknown, pointer: string, depth: number, found: (id: string, pointer: string) => void): void {
  if (typeof value !== 'object' || value === null || depth > MAX_NESTING_DEPTH) return
  if (isArtifactRef(value)) {
    found(value.$artifact, pointer)
    return
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, `${pointer}/${i}`, depth + 1, found)
    })
    return
  }
  for (const [key, child] of Object.entries(value)) walk(child, `${pointer}/${escapePointer(key)}`, depth + 1, found)
}

/**
 * A copy of `value` with every artifact reference replaced by what `resolve` returns for it (`pointer` is the
 * reference's place in `value`); `value` itself when it holds none. Depth-limited like the other config walks.
 */
export function replaceArtifactRefs(
  value: unknown,
  resolve: (ref: ArtifactRef, pointer: string) => unknown,
  pointer = '',
  depth = 1,
): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_NESTING_DEPTH) return value
  if (isArtifactRef(value)) return resolve(value, pointer)
  let changed = false
  if (Array.isArray(value)) {
    const items = value.map((v, i) => {
      const next = replaceArtifactRefs(v, resolve, `${pointer}/${i}`, depth + 1)
      if (next !== v) changed = true
      return next
    })
    return changed ? items : value
  }
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    const next = replaceArtifactRefs(child, resolve, `${pointer}/${escapePointer(key)}`, depth + 1)
    if (next !== child) changed = true
    out[key] = next
  }
  return changed ? out : value
}
