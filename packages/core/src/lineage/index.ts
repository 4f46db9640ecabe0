// OpenLineage: column lineage derived from pipeline documents, datasets named from compiled plans, facets and
// RunEvents (spec 2-0-2). Browser-safe: no Node built-ins; callers send the events.
export type { ColumnLineageOptions } from './column-lineage.ts'
export { columnLineage } from './column-lineage.ts'
export type { DatasetId } from './dataset.ts'
export { datasetOf, jdbcDataset, pathDataset } from './dataset.ts'
export type { OpenLineageDatasetsOptions } from './datasets.ts'
export { composeTransformations, openLineageDatasets } from './datasets.ts'
export type { ExpressionColumns } from './expression-columns.ts'
export { expressionColumns } from './expression-columns.ts'
export type { ColumnLineageFields, OpenLineageFacet, OpenLineageInputField, ParentRun } from './facets.ts'
export {
  columnLineageFacet,
  errorMessageFacet,
  externalQueryFacet,
  nominalTimeFacet,
  OPENLINEAGE_FACET_SCHEMAS,
  parentRunFacet,
  processingEngineFacet,
  schemaFacet,
} from './facets.ts'
export { ddlColumns, planSourceColumns } from './plan-columns.ts'
export type { OpenLineageDataset, OpenLineageRunEvent, RunEventInput, RunEventType } from './run-event.ts'
export { OPENLINEAGE_RUN_EVENT_SCHEMA_URL, openLineageRunEvent } from './run-event.ts'
export { sparkOpenLineageConf } from './spark-conf.ts'
export type {
  ColumnLineageEntry,
  FieldDependency,
  FieldRef,
  LineageColumn,
  NodeLineage,
  PipelineColumnLineage,
  Transformation,
  TransformationSubtype,
  TransformationType,
} from './types.ts'
