import { z } from 'zod'
import { ArtifactRefSchema } from './artifacts.ts'
import { type JsonSchema, type JsonSchemaDraft, toJsonSchema } from './json-schema.ts'
import { MAX_PIPELINE_NAME_LENGTH, PIPELINE_NAME_PATTERN } from './validation-issue.ts'

/** The document version this SDK writes. Older documents are upgraded by `migratePipeline`. */
export const CURRENT_SCHEMA_VERSION = 2

/** The most nodes a pipeline may have. */
export const MAX_NODES = 5000

/** Node ids: letters, digits, `_` and `-`, 1 to 64 characters (they become part of Spark view names). */
export const NODE_ID_PATTERN: RegExp = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/

/** Param names: SQL-identifier-like, so `{{name}}` placeholders are unambiguous. */
export const PARAM_NAME_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

const isoDate = z.iso.date()
const isoTimestamp = z.iso.datetime({ offset: true, local: true })

const paramBase = {
  name: z.string().regex(PARAM_NAME_PATTERN, 'param names are letters, digits and _ (not starting with a digit)'),
  description: z.string().max(2000).optional(),
}

/** A typed run parameter, referenced in configs as `{{name}}`; run and backfill requests give its value. */
export const PipelineParamSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ ...paramBase, type: z.literal('string'), default: z.string().max(10_000).optional() }),
    z.strictObject({ ...paramBase, type: z.literal('int'), default: z.number().int().optional() }),
    z.strictObject({ ...paramBase, type: z.literal('date'), default: isoDate.optional() }),
    z.strictObject({ ...paramBase, type: z.literal('timestamp'), default: isoTimestamp.optional() }),
  ])
  .meta({ title: 'Parameter' })

/** A node of the graph, shaped like a React Flow node: `data` holds the component reference, label and config. */
export const PipelineNodeSchema = z
  .strictObject({
    id: z.string().regex(NODE_ID_PATTERN, 'node ids are letters, digits, _ and - (max 64)'),
    type: z.string().max(64).optional().meta({ description: 'React Flow node type (renderer), not used by Spark' }),
    position: z.strictObject({ x: z.number(), y: z.number() }),
    data: z.strictObject({
      component: z.string().max(140).meta({ description: 'Component reference "<type>/<name>@<version>"' }),
      label: z.string().max(200).optional(),
      config: z.record(z.string(), z.unknown()).default({}),
      previewSample: ArtifactRefSchema.optional().meta({
        title: 'Preview sample',
        description:
          "An uploaded file that previews and dry-runs read instead of the node's path; runs read the path. Only on ingestors that read a path.",
      }),
    }),
  })
  .meta({ title: 'Node' })

/** An edge from an output port of `source` to an input port of `target` (React Flow's edge shape). */
export const PipelineEdgeSchema = z
  .strictObject({
    id: z.string().min(1).max(128),
    source: z.string().min(1).max(64),
    target: z.string().min(1).max(64),
    sourceHandle: z.string().max(64).nullable().optional(),
    targetHandle: z.string().max(64).nullable().optional(),
  })
  .meta({ title: 'Edge' })

/** When the pipeline runs on its own: a cron expression in a time zone, and what to do after downtime. */
export const PipelineScheduleSchema = z
  .strictObject({
    cron: z
      .string()
      .min(1)
      .max(120)
      .meta({ examples: ['0 3 * * *'] }),
    timezone: z.string().min(1).max(64).default('UTC'),
    catchUp: z.enum(['none', 'latest', 'all']).default('latest'),
    enabled: z.boolean().default(true),
  })
  .meta({ title: 'Schedule' })

/** The pipeline document (schema version 2): what git stores and the compiler reads. */
export const PipelineDocumentSchema = z
  .strictObject({
    schemaVersion: z.literal(CURRENT_SCHEMA_VERSION),
    name: z
      .string()
      .max(MAX_PIPELINE_NAME_LENGTH)
      .regex(
        PIPELINE_NAME_PATTERN,
        'names are lower-case letters, digits, - and _, starting and ending with a letter or digit',
      ),
    description: z.string().max(10_000).optional(),
    tags: z.array(z.string().min(1).max(64)).max(50).optional(),
    params: z.array(PipelineParamSchema).max(100).optional(),
    nodes: z.array(PipelineNodeSchema).max(MAX_NODES),
    edges: z.array(PipelineEdgeSchema).max(MAX_NODES * 4),
    schedule: PipelineScheduleSchema.optional(),
    spark: z.strictObject({ conf: z.record(z.string().min(1).max(200), z.string().max(10_000)).optional() }).optional(),
  })
  .meta({ title: 'Pipeline document', description: 'A graph of configured components that compiles to a Spark plan.' })

/** A pipeline document as stored (input side: defaults may be absent). */
export type PipelineDocument = z.input<typeof PipelineDocumentSchema>
/** A pipeline document after parsing (defaults applied). */
export type ParsedPipelineDocument = z.output<typeof PipelineDocumentSchema>
/** A node of a pipeline document. */
export type PipelineNode = z.input<typeof PipelineNodeSchema>
/** An edge of a pipeline document. */
export type PipelineEdge = z.input<typeof PipelineEdgeSchema>
/** A typed run parameter. */
export type PipelineParam = z.input<typeof PipelineParamSchema>
/** A pipeline's schedule. */
export type PipelineSchedule = z.input<typeof PipelineScheduleSchema>

/** The JSON Schema of the pipeline document, for editors and API docs. */
export function pipelineDocumentJsonSchema(options: { readonly draft?: JsonSchemaDraft } = {}): JsonSchema {
  return toJsonSchema(PipelineDocumentSchema, { draft: options.draft ?? 'draft-07' })
}
