// The route table's facts (method, path, role, ...) live in the zod-free `@sparkle-studio/core/routes`; the names a
// contract user needs with them are re-exported here.
export type { HttpMethod, Role, RouteInfo, RouteName } from '../routes/index.ts'
export { buildPath, isIdempotent, ROLES, routes } from '../routes/index.ts'
export type { OpenApiDocument, OpenApiOptions } from './openapi.ts'
export { generateOpenApi } from './openapi.ts'
export type {
  AnyRoute,
  BodyInput,
  ErrorBody,
  InputOf,
  RouteBase,
  RouteDocs,
  RouteField,
  RouteInput,
  RouteOutput,
  RouteSpec,
} from './route.ts'
export { defineRoute, ErrorBodySchema, successEnvelope } from './route.ts'
export type { Api } from './routes.ts'
export { api } from './routes.ts'
export {
  ApiKeySchema,
  AttemptSchema,
  AuditEntrySchema,
  AuditPageSchema,
  BackfillPreviewSchema,
  BackfillSchema,
  BranchSchema,
  boolQuery,
  ColumnSchema,
  CommitSchema,
  ComponentDetailSchema,
  ComponentSummarySchema,
  ComponentTypeSchema,
  ConfigValidationResultSchema,
  CreatedApiKeySchema,
  DateTimeSchema,
  DryRunResultSchema,
  ExecutionPlanSchema,
  ExecutionPolicySchema,
  GitRefSchema,
  GitStatusSchema,
  GrainSchema,
  HealthSchema,
  IdSchema,
  IssueSchema,
  intQuery,
  LogChunkSchema,
  NodePreviewSchema,
  ParamsSchema,
  PipelineDiffSchema,
  PipelineNameSchema,
  PipelineRecordSchema,
  PipelineSummarySchema,
  PlanStepSchema,
  PullRequestSchema,
  RoleSchema,
  RunPageSchema,
  RunSchema,
  RunStatusSchema,
  SaveResultSchema,
  SparkConfRuleSchema,
  TemplateSchema,
} from './schemas.ts'
