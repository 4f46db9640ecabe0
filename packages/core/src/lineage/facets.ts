import type { LineageColumn } from './types.ts'

const SPEC = 'https://openlineage.io/spec'

/** Where the OpenLineage facets this SDK writes are specified (the `_schemaURL` of each). */
export const OPENLINEAGE_FACET_SCHEMAS = Object.freeze({
  schema: `${SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet`,
  columnLineage: `${SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet`,
  parent: `${SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet`,
  nominalTime: `${SPEC}/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet`,
  errorMessage: `${SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet`,
  externalQuery: `${SPEC}/facets/1-0-2/ExternalQueryRunFacet.json#/$defs/ExternalQueryRunFacet`,
  processing_engine: `${SPEC}/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet`,
})

/** Any OpenLineage facet: who produced it, the schema it follows, and its fields. */
export interface OpenLineageFacet {
  readonly _producer: string
  readonly _schemaURL: string
  readonly [field: string]: unknown
}

/** One input field of an OpenLineage column lineage facet. */
export interface OpenLineageInputField {
  readonly namespace: string
  readonly name: string
  readonly field: string
  readonly transformations: readonly {
    readonly type: string
    readonly subtype: string
    readonly description?: string
    readonly masking: boolean
  }[]
}

/** The body of a ColumnLineageDatasetFacet: direct lineage per output field, indirect lineage of the whole dataset. */
export interface ColumnLineageFields {
  readonly fields: Readonly<Record<string, { readonly inputFields: readonly OpenLineageInputField[] }>>
  readonly dataset?: readonly OpenLineageInputField[]
}

/** A SchemaDatasetFacet (1-2-0) listing `columns`. */
export function schemaFacet(producer: string, columns: readonly LineageColumn[]): OpenLineageFacet {
  return {
    _producer: producer,
    _schemaURL: OPENLINEAGE_FACET_SCHEMAS.schema,
    fields: columns.map((c) => (c.type === undefined ? { name: c.name } : { name: c.name, type: c.type })),
  }
}

/** A ColumnLineageDatasetFacet (1-2-0). */
export function columnLineageFacet(producer: string, lineage: ColumnLineageFields): OpenLineageFacet {
  return { _producer: producer, _schemaURL: OPENLINEAGE_FACET_SCHEMAS.columnLineage, ...lineage }
}

/** What a {@link parentRunFacet} points to: the run (and job) this one belongs to, and the root of the tree. */
export interface ParentRun {
  readonly run: { readonly runId: string }
  readonly job: { readonly namespace: string; readonly name: string }
  readonly root?: {
    readonly run: { readonly runId: string }
    readonly job: { readonly namespace: string; readonly name: string }
  }
}

/**
 * A ParentRunFacet (1-2-0): links a run to its parent, e.g. a backfill partition's run to the backfill, or the Spark
 * application's own events (from Spark's OpenLineage listener) to the pipeline run.
 */
export function parentRunFacet(producer: string, parent: ParentRun): OpenLineageFacet {
  return { _producer: producer, _schemaURL: OPENLINEAGE_FACET_SCHEMAS.parent, ...parent }
}

/** A NominalTimeRunFacet (1-0-1): the time a run is for, such as a backfill partition's date range. */
export function nominalTimeFacet(producer: string, start: string, end?: string): OpenLineageFacet {
  return {
    _producer: producer,
    _schemaURL: OPENLINEAGE_FACET_SCHEMAS.nominalTime,
    nominalStartTime: start,
    ...(end === undefined ? {} : { nominalEndTime: end }),
  }
}

/** An ErrorMessageRunFacet (1-0-1), for FAIL events. */
export function errorMessageFacet(
  producer: string,
  error: { readonly message: string; readonly programmingLanguage: string; readonly stackTrace?: string },
): OpenLineageFacet {
  return { _producer: producer, _schemaURL: OPENLINEAGE_FACET_SCHEMAS.errorMessage, ...error }
}

/**
 * An ExternalQueryRunFacet (1-0-2): the id of the run's job in the system that executed it, e.g. the Spark
 * application id (`source: 'spark'`), so that a lineage backend links the run to the Spark UI and the Spark
 * listener's own events.
 */
export function externalQueryFacet(producer: string, externalQueryId: string, source: string): OpenLineageFacet {
  return { _producer: producer, _schemaURL: OPENLINEAGE_FACET_SCHEMAS.externalQuery, externalQueryId, source }
}

/** A ProcessingEngineRunFacet (1-1-1): the engine that ran the job, e.g. `{ name: 'spark', version: '4.1.0' }`. */
export function processingEngineFacet(
  producer: string,
  engine: { readonly name: string; readonly version: string },
): OpenLineageFacet {
  return {
    _producer: producer,
    _schemaURL: OPENLINEAGE_FACET_SCHEMAS.processing_engine,
    version: engine.version,
    name: engine.name,
  }
}
