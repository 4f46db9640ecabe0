export type {
  ArtifactFormat,
  ArtifactLocation,
  ArtifactReader,
  ArtifactRef,
  ArtifactRefLocation,
} from './artifacts.ts'
// replaceArtifactRefs stays internal: compilePipeline is the one place references become paths.
export {
  ARTIFACT_FORMAT_READERS,
  ARTIFACT_ID_PATTERN,
  ArtifactRefSchema,
  artifactPaths,
  artifactRefs,
  isArtifactRef,
  pathOf,
} from './artifacts.ts'
export type {
  AuthoredEdge,
  AuthoredNode,
  AuthoringComponent,
  BuiltinComponentConfigs,
  ComponentConfigs,
  NodeConfigArgs,
  NodeOptions,
  NodePosition,
  PipelineAuthoring,
  PipelineSpec,
} from './authoring.ts'
export { definePipeline, pipelineAuthoring, pipelineNode } from './authoring.ts'
export type { PolicyFinding } from './compile-policy.ts'
export { checkReadSource, checkSqlUnderPolicy, checkWriteTarget, pathProblem } from './compile-policy.ts'
export type { CompileOptions } from './compiler.ts'
export {
  compilePipeline,
  DEFAULT_PREVIEW_LIMIT,
  DEFAULT_SAMPLE_LIMIT,
  MAX_PREVIEW_LIMIT,
  viewName,
} from './compiler.ts'
export type {
  CompileContext,
  CompiledNode,
  ComponentDefinition,
  ComponentExample,
  ComponentRef,
  ComponentSpec,
  ComponentType,
  ConfigUpgrade,
  ParamValue,
  PortDefinition,
} from './component.ts'
export { COMPONENT_TYPES, defineComponent, parseComponentRef } from './component.ts'
export { sourcePathField } from './components/common.ts'
export type { BuiltinComponent } from './components/index.ts'
export { builtinComponents, createDefaultRegistry } from './components/index.ts'
export type { ConfigValidation, IssueLocation } from './config-validation.ts'
export { fromZodIssues, toPointer, validateComponentConfig } from './config-validation.ts'
export { findTooDeep, MAX_NESTING_DEPTH } from './depth.ts'
export type {
  ParsedPipelineDocument,
  PipelineDocument,
  PipelineEdge,
  PipelineNode,
  PipelineParam,
  PipelineSchedule,
} from './document.ts'
export {
  CURRENT_SCHEMA_VERSION,
  MAX_NODES,
  NODE_ID_PATTERN,
  PARAM_NAME_PATTERN,
  PipelineDocumentSchema,
  PipelineEdgeSchema,
  PipelineNodeSchema,
  PipelineParamSchema,
  PipelineScheduleSchema,
  pipelineDocumentJsonSchema,
} from './document.ts'
export type { ErrorCode, StudioErrorOptions } from './errors.ts'
export { errorStatus, hasErrorCode, isStudioError, StudioError } from './errors.ts'
export type { FieldHints, ParamKind, UiHints } from './field.ts'
export { field, fieldHints, SECRET_NAME_PATTERN, secretRef } from './field.ts'
export type { JsonSchema, JsonSchemaDraft, JsonSchemaOptions } from './json-schema.ts'
export { toJsonSchema } from './json-schema.ts'
export type {
  ColumnLineageEntry,
  ColumnLineageFields,
  ColumnLineageOptions,
  DatasetId,
  ExpressionColumns,
  FieldDependency,
  FieldRef,
  LineageColumn,
  NodeLineage,
  OpenLineageDataset,
  OpenLineageDatasetsOptions,
  OpenLineageFacet,
  OpenLineageInputField,
  OpenLineageRunEvent,
  ParentRun,
  PipelineColumnLineage,
  RunEventInput,
  RunEventType,
  Transformation,
  TransformationSubtype,
  TransformationType,
} from './lineage/index.ts'
export {
  columnLineage,
  columnLineageFacet,
  composeTransformations,
  datasetOf,
  ddlColumns,
  errorMessageFacet,
  expressionColumns,
  externalQueryFacet,
  jdbcDataset,
  nominalTimeFacet,
  OPENLINEAGE_FACET_SCHEMAS,
  OPENLINEAGE_RUN_EVENT_SCHEMA_URL,
  openLineageDatasets,
  openLineageRunEvent,
  parentRunFacet,
  pathDataset,
  planSourceColumns,
  processingEngineFacet,
  schemaFacet,
  sparkOpenLineageConf,
} from './lineage/index.ts'
export type {
  MigratePipelineOptions,
  MigrationChange,
  MigrationResult,
  PipelineChange,
  PipelineChangeContext,
  UnknownComponent,
  UnknownComponentReason,
} from './migrations.ts'
export { migratePipeline } from './migrations.ts'
export type { ResolvedParam } from './params.ts'
export { findParamReferences, PARAM_PLACEHOLDER, paramLiteral, resolveParams, substituteParams } from './params.ts'
export type { ExecutionPlan, OptionValue, PlanPolicy, PlanStep, ReadSource, SecretRef, WriteTarget } from './plan.ts'
export type { ExecutionPolicy, SparkConfRule } from './policy.ts'
export {
  checkSparkConf,
  DEFAULT_SPARK_CONF_RULES,
  defaultExecutionPolicy,
  isAllowedJdbcUrl,
  isInsideRoots,
  normalizeDataPath,
  parseSparkBytes,
  REFLECTION_FUNCTIONS,
} from './policy.ts'
export type {
  AnyComponentDefinition,
  ComponentCatalog,
  ComponentCategory,
  ComponentDetail,
  ComponentSearchHit,
  ComponentSummary,
  ListComponentsFilter,
} from './registry.ts'
export { ComponentRegistry } from './registry.ts'
export type { CheckSqlFragmentOptions, SqlFragmentProblem, SqlValue } from './sql.ts'
export { checkSqlFragment, quoteIdent, quoteQualified, sqlDate, sqlLiteral, sqlString, sqlTimestamp } from './sql.ts'
export type { LexSparkSqlOptions, SparkLexProblem, SparkLexResult, SparkToken, SparkTokenKind } from './sql-lexer.ts'
export { isHiddenToken, lexSparkSql } from './sql-lexer.ts'
export type { TemplateProblem, TemplateResult } from './sql-template.ts'
export {
  renderRemoteIdentifierTemplate,
  renderRemoteSqlTemplate,
  renderSqlTemplate,
  renderTemplate,
  sampleParams,
} from './sql-template.ts'
export type { UiSchema } from './ui-schema.ts'
export {
  escapePointer,
  hintedPaths,
  paramKindOf,
  paramKindPaths,
  secretPaths,
  sqlPaths,
  toUiSchema,
  valuesAtPattern,
} from './ui-schema.ts'
export type { PipelineValidation, ValidatePipelineOptions } from './validate-pipeline.ts'
export { validatePipeline } from './validate-pipeline.ts'
export type { ValidationIssue } from './validation-issue.ts'
export {
  isValidPipelineName,
  MAX_PIPELINE_NAME_LENGTH,
  PIPELINE_NAME_PATTERN,
  ValidationError,
} from './validation-issue.ts'
export { SDK_VERSION } from './version.ts'
