import { z } from 'zod'
import { type RouteName, routes } from '../routes/routes.ts'
import { WEBHOOK_EVENT_TYPES } from '../routes/webhooks.ts'
import { type AnyRoute, defineRoute } from './route.ts'
import {
  ApiKeySchema,
  ArtifactFormatSchema,
  ArtifactIdSchema,
  ArtifactNameSchema,
  ArtifactPageSchema,
  ArtifactSampleSchema,
  ArtifactSchema,
  AuditPageSchema,
  BackfillPreviewSchema,
  BackfillSchema,
  BranchSchema,
  boolQuery,
  CommitSchema,
  ComponentDetailSchema,
  ComponentSummarySchema,
  ComponentTypeSchema,
  ConfigValidationResultSchema,
  CreatedApiKeySchema,
  CreatedWebhookSchema,
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
  ParamsSchema,
  PipelineDiffSchema,
  PipelineNameSchema,
  PipelineRecordSchema,
  PipelineSummarySchema,
  PipelineUsageSchema,
  PullRequestSchema,
  plainText,
  RoleSchema,
  RunPageSchema,
  RunSchema,
  RunStatusSchema,
  RunStepsSchema,
  SaveResultSchema,
  ScheduleChangeSchema,
  ScheduleListSchema,
  TemplateSchema,
  WebhookDeliveryPageSchema,
  WebhookEventTypeSchema,
  WebhookSchema,
  WebhookUrlSchema,
} from './schemas.ts'

const nameParams = z.strictObject({ name: PipelineNameSchema.meta({ examples: ['orders'] }) })
const idParams = z.strictObject({ id: IdSchema })
const refQuery = z.strictObject({ ref: GitRefSchema.optional() })
/** An entity tag as `GET /pipelines/{name}` sends it (`"<blob>"`), its weak form (`W/"<blob>"`), or the bare id. */
const ENTITY_TAG = '(?:W/)?"[0-9a-f]{40}(?:[0-9a-f]{24})?"|[0-9a-f]{40}(?:[0-9a-f]{24})?'
const ifMatchHeader = z
  .string()
  .regex(new RegExp(`^(?:\\*|${ENTITY_TAG})$`), 'must be the ETag of a GET ("<blob>" or W/"<blob>") or *')
  .optional()
  .meta({
    description:
      'The ETag you read (`"<blob>"` from GET, weak `W/"<blob>"` or the bare blob id also accepted): the write happens only if the pipeline is still at it, otherwise 409 CONFLICT. `*`: the pipeline must exist, at any version. Changing an existing pipeline without If-Match is 428 PRECONDITION_REQUIRED unless `force=true`.',
  })
const saveHeaders = z.object({
  'if-match': ifMatchHeader,
  'if-none-match': z.literal('*').optional().meta({
    description:
      '`*`: create only; a pipeline that already exists is a 409 CONFLICT. A PUT without If-Match or If-None-Match creates a new pipeline, and refuses (428) to overwrite an existing one unless `force=true`.',
  }),
})
const deleteHeaders = z.object({ 'if-match': ifMatchHeader })
const forceQuery = z.strictObject({
  force: boolQuery().optional().meta({
    description:
      'true: write without a precondition (no If-Match), overwriting or deleting whatever version is there. For scripts that own the pipeline; editors should send If-Match.',
  }),
})
const componentParams = z.strictObject({
  type: ComponentTypeSchema,
  name: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z][a-z0-9-]*$/),
})
const documentBody = z
  .record(z.string(), z.unknown())
  .meta({ description: 'A pipeline document (validated by the server)' })
const messageField = z.string().min(1).max(2000).optional()

/**
 * The Sparkle Studio HTTP API, route by route: the server validates against it, the client infers its types from it,
 * and the OpenAPI 3.1 document is generated from it. Each route is built on its entry in the zod-free route table
 * (`routes` from `@sparkle-studio/core/routes`: method, path under `/api/v1`, role, idempotency, streaming) and adds
 * its docs, input and output schemas and errors.
 */
export const api = {
  health: defineRoute(routes.health, {
    summary: 'Health of the server and its dependencies',
    description:
      'The one route that answers without credentials: anonymous callers get only `{ status: "ok", version }`; authenticated callers also get the checks of Spark, git and the database.',
    tag: 'system',
    response: HealthSchema,
    errors: [],
  }),
  getPolicy: defineRoute(routes.getPolicy, {
    summary: 'The execution policy pipelines run under',
    description:
      'What pipelines may do on this deployment: allowed Spark configuration, read and write roots, JDBC URL patterns, denied functions, run time, backfill and schedule limits. Saves, plans, previews, runs and backfills are refused when they break it.',
    tag: 'system',
    response: ExecutionPolicySchema,
    errors: [],
  }),

  listComponents: defineRoute(routes.listComponents, {
    summary: 'List components',
    tag: 'components',
    query: z.strictObject({
      type: ComponentTypeSchema.optional(),
      category: z.string().max(100).optional(),
      tag: z.string().max(100).optional(),
      allVersions: boolQuery().optional(),
    }),
    response: z.array(ComponentSummarySchema),
    errors: [],
  }),
  componentCategories: defineRoute(routes.componentCategories, {
    summary: 'Components grouped by category, for a sidebar',
    tag: 'components',
    response: z.array(z.object({ category: z.string(), components: z.array(ComponentSummarySchema) })),
    errors: [],
  }),
  searchComponents: defineRoute(routes.searchComponents, {
    summary: 'Ranked fuzzy search over components',
    tag: 'components',
    query: z.strictObject({ q: z.string().min(1).max(200), limit: intQuery(1, 100).optional() }),
    response: z.array(z.object({ component: ComponentSummarySchema, score: z.number() })),
    errors: [],
  }),
  getComponent: defineRoute(routes.getComponent, {
    summary: 'A component with its config JSON Schema and uiSchema',
    tag: 'components',
    params: componentParams,
    query: z.strictObject({
      version: intQuery(1, 999_999).optional(),
      draft: z.enum(['draft-07', '2020-12']).optional(),
    }),
    response: ComponentDetailSchema,
    errors: ['NOT_FOUND'],
  }),
  validateComponentConfig: defineRoute(routes.validateComponentConfig, {
    summary: 'Validate a config for a component (defaults applied, every issue listed)',
    tag: 'components',
    params: componentParams,
    query: z.strictObject({ version: intQuery(1, 999_999).optional() }),
    body: z.strictObject({ config: z.unknown() }),
    response: ConfigValidationResultSchema,
    errors: ['NOT_FOUND'],
  }),

  listTemplates: defineRoute(routes.listTemplates, {
    summary: 'Pipeline templates to start from',
    tag: 'pipelines',
    response: z.array(TemplateSchema),
    errors: [],
  }),
  listPipelines: defineRoute(routes.listPipelines, {
    summary: 'List pipelines with their last commit',
    tag: 'pipelines',
    query: refQuery,
    response: z.array(PipelineSummarySchema),
    errors: ['NOT_FOUND'],
  }),
  createPipeline: defineRoute(routes.createPipeline, {
    summary: 'Create a pipeline, from a document or a template',
    tag: 'pipelines',
    body: z
      .strictObject({
        name: PipelineNameSchema,
        template: z.string().max(64).optional(),
        document: documentBody.optional(),
        message: messageField,
      })
      .refine((b) => (b.template === undefined) !== (b.document === undefined), {
        message: 'give either a template or a document',
        path: ['template'],
      })
      // The same rule for JSON Schema readers (zod's refine does not reach the generated schema).
      .meta({
        oneOf: [{ required: ['template'] }, { required: ['document'] }],
        examples: [{ name: 'orders', template: 'daily-revenue' }],
      }),
    response: SaveResultSchema,
    status: 201,
    etag: true,
    errors: ['VALIDATION_FAILED', 'CONFLICT', 'NOT_FOUND', 'SECRET_IN_PLAINTEXT'],
  }),
  getPipeline: defineRoute(routes.getPipeline, {
    summary: 'A pipeline document with its revision (the commit) and blob (its ETag, for If-Match)',
    description:
      'The answer carries `ETag: "<blob>"` (the blob id of pipeline.json): send it back as If-Match to save or delete. With If-None-Match naming the current ETag, the answer is 304 without a body.',
    tag: 'pipelines',
    params: nameParams,
    query: refQuery,
    response: PipelineRecordSchema,
    etag: true,
    errors: ['NOT_FOUND'],
  }),
  savePipeline: defineRoute(routes.savePipeline, {
    summary: 'Save a pipeline (one commit), under the ETag you read',
    description:
      'Send the ETag of your GET as If-Match: if someone saved in between, the answer is 409 CONFLICT and nothing is written. Without If-Match, a PUT creates a new pipeline but does not overwrite an existing one (428 PRECONDITION_REQUIRED); `force=true` overwrites whatever is there. `If-None-Match: *` creates only. The answer carries the new ETag.',
    tag: 'pipelines',
    params: nameParams,
    query: forceQuery,
    headers: saveHeaders,
    body: z.strictObject({ document: documentBody, message: messageField }),
    response: SaveResultSchema,
    etag: true,
    errors: ['VALIDATION_FAILED', 'CONFLICT', 'PRECONDITION_REQUIRED', 'SECRET_IN_PLAINTEXT'],
  }),
  deletePipeline: defineRoute(routes.deletePipeline, {
    summary: 'Delete a pipeline (one commit), under the ETag you read',
    description:
      'Send the ETag of your GET as If-Match (strong or weak): if the pipeline changed since, the answer is 409 CONFLICT. Without If-Match the answer is 428 PRECONDITION_REQUIRED, unless `force=true`.',
    tag: 'pipelines',
    params: nameParams,
    query: forceQuery,
    headers: deleteHeaders,
    response: z.object({
      name: z.string(),
      commit: z.string().meta({ description: 'Id of the commit that deleted the pipeline' }),
    }),
    errors: ['NOT_FOUND', 'CONFLICT', 'PRECONDITION_REQUIRED'],
  }),
  exportPipeline: defineRoute(routes.exportPipeline, {
    summary: 'Push the branch holding the pipeline to its remote and return the commit',
    tag: 'pipelines',
    params: nameParams,
    body: z.strictObject({ remote: z.string().max(100).optional() }).optional(),
    response: z.object({
      name: z.string(),
      branch: z.string(),
      commit: z.string().meta({ description: 'Id of the commit pushed (the branch head)' }),
    }),
    errors: ['NOT_FOUND', 'GIT_REMOTE_REJECTED', 'GIT_NO_REMOTE', 'GIT_FAILED'],
  }),
  pipelineHistory: defineRoute(routes.pipelineHistory, {
    summary: 'Commits that changed the pipeline, newest first',
    tag: 'pipelines',
    params: nameParams,
    query: z.strictObject({ limit: intQuery(1, 1000).optional(), ref: GitRefSchema.optional() }),
    response: z.array(CommitSchema),
    errors: ['NOT_FOUND'],
  }),
  pipelineDiff: defineRoute(routes.pipelineDiff, {
    summary: 'Structured diff of a pipeline between two revisions',
    tag: 'pipelines',
    params: nameParams,
    query: z.strictObject({ from: GitRefSchema, to: GitRefSchema.optional() }),
    response: PipelineDiffSchema,
    errors: ['NOT_FOUND'],
  }),
  validatePipeline: defineRoute(routes.validatePipeline, {
    summary: 'Validate the saved pipeline, or the document in the body',
    tag: 'pipelines',
    params: nameParams,
    body: z.strictObject({ document: documentBody.optional(), mode: z.enum(['run', 'preview']).optional() }).optional(),
    response: z.object({ valid: z.boolean(), issues: z.array(IssueSchema) }),
    errors: ['NOT_FOUND'],
  }),
  pipelinePlan: defineRoute(routes.pipelinePlan, {
    summary: 'The Spark plan the pipeline compiles to',
    tag: 'pipelines',
    params: nameParams,
    query: z.strictObject({
      ref: GitRefSchema.optional(),
      mode: z.enum(['run', 'preview']).optional(),
      // At most 1,000 characters: percent-encoded, any such value keeps the URL within Node's 16 KB header limit.
      params: z
        .string()
        .max(1000)
        .optional()
        .meta({ description: 'Run params as a JSON object, e.g. {"ds":"2026-11-01"}' }),
    }),
    response: ExecutionPlanSchema,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),

  pipelineUsage: defineRoute(routes.pipelineUsage, {
    summary: "The pipeline's cluster usage per UTC day (core-seconds, task time, bytes) and its daily budget",
    tag: 'pipelines',
    params: nameParams,
    query: z.strictObject({
      days: intQuery(1, 366).optional().meta({ description: 'Days up to and including today (UTC); default 7' }),
    }),
    response: PipelineUsageSchema,
    errors: ['VALIDATION_FAILED'],
  }),
  dryRun: defineRoute(routes.dryRun, {
    summary: 'Preview every node on sample data on the warm Spark session (a saved pipeline or an unsaved document)',
    tag: 'execution',
    body: z
      .strictObject({
        pipeline: PipelineNameSchema.optional(),
        ref: GitRefSchema.optional(),
        document: documentBody.optional(),
        params: ParamsSchema.optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      })
      .refine((b) => (b.pipeline === undefined) !== (b.document === undefined), {
        message: 'give either a pipeline name or a document',
        path: ['pipeline'],
      })
      .meta({
        oneOf: [{ required: ['pipeline'] }, { required: ['document'] }],
        examples: [{ pipeline: 'orders', limit: 5 }],
      }),
    response: DryRunResultSchema,
    // A preview that fails as a whole (Spark refused the plan, the driver died) is SPARK_JOB_FAILED; one cut short by
    // the server's shutdown is JOB_CANCELLED.
    errors: ['NOT_FOUND', 'VALIDATION_FAILED', 'SPARK_UNAVAILABLE', 'SPARK_JOB_FAILED', 'JOB_TIMEOUT', 'JOB_CANCELLED'],
  }),
  run: defineRoute(routes.run, {
    summary: 'Queue a run of a saved pipeline at a revision; the same idempotency key returns the same run',
    tag: 'execution',
    body: z
      .strictObject({
        pipeline: PipelineNameSchema,
        ref: GitRefSchema.optional(),
        params: ParamsSchema.optional(),
        idempotencyKey: z.string().min(1).max(200).optional(),
        priority: z.number().int().min(-1000).max(1000).optional(),
        maxAttempts: z.number().int().min(1).max(20).optional(),
      })
      .meta({ examples: [{ pipeline: 'orders', params: { ds: '2026-11-01' } }] }),
    response: RunSchema,
    status: 202,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
  backfill: defineRoute(routes.backfill, {
    summary: 'Queue one run per partition of a date range (resumable; re-submitting is safe)',
    description:
      'start is inclusive; end is exclusive when it has a time (2026-11-06T00:00:00Z) and inclusive when it is a date (2026-11-05 includes that day). Each run gets the partition as params: ds (day, week, month) or ts (hour), start and end.',
    tag: 'execution',
    body: z
      .strictObject({
        pipeline: PipelineNameSchema,
        ref: GitRefSchema.optional(),
        start: z.string().min(10).max(40),
        end: z.string().min(10).max(40),
        grain: GrainSchema.default('day'),
        timezone: z.string().max(64).optional(),
        reprocess: z.enum(['none', 'failed', 'all']).optional(),
        concurrency: z.number().int().min(1).max(100).optional(),
        order: z.enum(['forward', 'backward']).optional(),
        params: ParamsSchema.optional(),
        dryRun: z.boolean().optional(),
      })
      .meta({ examples: [{ pipeline: 'orders', start: '2026-11-01', end: '2026-11-02', grain: 'day' }] }),
    response: z.union([BackfillSchema, BackfillPreviewSchema]),
    status: 202,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED', 'LIMIT_EXCEEDED'],
  }),
  listExecutions: defineRoute(routes.listExecutions, {
    summary: 'Runs, newest first, with filters and keyset pagination',
    tag: 'execution',
    query: z.strictObject({
      pipeline: PipelineNameSchema.optional(),
      status: RunStatusSchema.optional(),
      backfill: IdSchema.optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      limit: intQuery(1, 500).optional(),
      cursor: z.string().max(500).optional(),
    }),
    response: RunPageSchema,
    errors: ['VALIDATION_FAILED'],
  }),
  getExecution: defineRoute(routes.getExecution, {
    summary: 'A run with status, progress, Spark UI URL, logs link and attempts',
    tag: 'execution',
    params: idParams,
    response: RunSchema,
    errors: ['NOT_FOUND'],
  }),
  executionLogs: defineRoute(routes.executionLogs, {
    summary: "A range of the run's log (latest attempt), by byte offset",
    tag: 'execution',
    params: idParams,
    query: z.strictObject({
      offset: intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
      limit: intQuery(1, 1_048_576).optional(),
    }),
    response: LogChunkSchema,
    errors: ['NOT_FOUND', 'SPARK_UNAVAILABLE'],
  }),
  executionEvents: defineRoute(routes.executionEvents, {
    summary: "Server-Sent Events: the run's status changes, runner events and log lines, live, until it ends",
    description:
      'Each SSE message has `event:` status | event | log | end and `data:` a JSON object; `id:` is the event id, and a reconnect with Last-Event-ID resumes after it.',
    tag: 'execution',
    params: idParams,
    query: z.strictObject({ after: intQuery(0, Number.MAX_SAFE_INTEGER).optional() }),
    // The `data` of each message: a stored event (status, event, log), or the run's end.
    response: z.union([
      z.object({ id: z.number().int(), type: z.string(), payload: z.record(z.string(), z.unknown()) }),
      z.object({
        status: z.enum(['succeeded', 'failed', 'cancelled']),
        error: z.record(z.string(), z.unknown()).nullable().optional(),
      }),
    ]),
    errors: ['NOT_FOUND'],
  }),
  executionSteps: defineRoute(routes.executionSteps, {
    summary: "A run's steps (per node: status, times, rows, bytes, task time) and what its attempt used",
    description:
      "From the runner's events and Spark's own counts (nothing is counted again). Views run no Spark job of their own: their rows are counted where a sink or check reads them.",
    tag: 'execution',
    params: idParams,
    query: z.strictObject({
      attempt: intQuery(1, 1_000).optional().meta({ description: 'The attempt to show; default the latest' }),
    }),
    response: RunStepsSchema,
    errors: ['NOT_FOUND'],
  }),
  cancelExecution: defineRoute(routes.cancelExecution, {
    summary: 'Cancel a run: a queued run at once, a running one by its worker',
    tag: 'execution',
    params: idParams,
    response: RunSchema,
    errors: ['NOT_FOUND', 'CONFLICT'],
  }),
  retryExecution: defineRoute(routes.retryExecution, {
    summary: 'Run a finished failed or cancelled run again, as a new run linked to it',
    tag: 'execution',
    params: idParams,
    response: RunSchema,
    status: 202,
    errors: ['NOT_FOUND', 'CONFLICT'],
  }),
  getBackfill: defineRoute(routes.getBackfill, {
    summary: 'A backfill with its counts by status',
    tag: 'execution',
    params: idParams,
    response: BackfillSchema,
    errors: ['NOT_FOUND'],
  }),

  listSchedules: defineRoute(routes.listSchedules, {
    summary: "Every pipeline's schedule, with its next fire times and the last slot it ran",
    description:
      'Pipelines on the branch that have a schedule, paused ones too (`enabled: false`, no fire times). Fire times are the slots the scheduler enqueues (croner, in the time zone: a local time a daylight-saving change skips fires shifted by the gap, a repeated one once).',
    tag: 'schedules',
    query: z.strictObject({
      count: intQuery(1, 50).optional().meta({ description: 'How many fire times per schedule (default 5)' }),
      after: DateTimeSchema.optional().meta({ description: 'List the fire times after this instant (default now)' }),
    }),
    response: ScheduleListSchema,
    errors: [],
  }),
  pauseSchedule: defineRoute(routes.pauseSchedule, {
    summary: "Pause a pipeline's schedule (one commit setting schedule.enabled to false)",
    description:
      'The scheduler enqueues nothing for a paused schedule. Pausing a paused schedule commits nothing (`changed: false`). 409 CONFLICT when the pipeline has no schedule.',
    tag: 'schedules',
    params: nameParams,
    response: ScheduleChangeSchema,
    errors: ['NOT_FOUND', 'CONFLICT', 'VALIDATION_FAILED'],
  }),
  resumeSchedule: defineRoute(routes.resumeSchedule, {
    summary: "Resume a pipeline's schedule (one commit setting schedule.enabled to true)",
    description:
      'The scheduler evaluates it again from its next tick; slots missed while paused are caught up as after downtime, as its `catchUp` says (`none`: none, `latest`: the last one, `all`: every one up to the cap). Resuming an enabled schedule commits nothing (`changed: false`). 409 CONFLICT when the pipeline has no schedule.',
    tag: 'schedules',
    params: nameParams,
    response: ScheduleChangeSchema,
    errors: ['NOT_FOUND', 'CONFLICT', 'VALIDATION_FAILED'],
  }),

  gitStatus: defineRoute(routes.gitStatus, {
    summary: 'Branch, its commit, and ahead/behind its remote',
    tag: 'git',
    response: GitStatusSchema,
    errors: ['GIT_FAILED'],
  }),
  listBranches: defineRoute(routes.listBranches, {
    summary: 'Branches',
    tag: 'git',
    response: z.array(BranchSchema),
    errors: ['GIT_FAILED'],
  }),
  createBranch: defineRoute(routes.createBranch, {
    summary: 'Create a branch from a ref',
    tag: 'git',
    body: z.strictObject({ name: GitRefSchema, from: GitRefSchema.optional() }),
    response: BranchSchema,
    status: 201,
    errors: ['CONFLICT', 'NOT_FOUND'],
  }),
  commit: defineRoute(routes.commit, {
    summary: 'Save several pipelines (or delete them, document null) in one commit',
    tag: 'git',
    body: z.strictObject({
      message: z.string().min(1).max(2000),
      branch: GitRefSchema.optional(),
      changes: z
        .array(
          z.strictObject({
            name: PipelineNameSchema,
            document: documentBody.nullable(),
            expected: z
              .string()
              .regex(/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/, 'must be a blob or commit id')
              .nullable()
              .optional()
              .meta({
                description:
                  'The blob you read (as for If-Match); null or absent: the pipeline must not exist yet (absent and existing is 428 PRECONDITION_REQUIRED unless force); deleting needs the blob or force',
              }),
          }),
        )
        .min(1)
        .max(1000),
      force: z.boolean().optional().meta({
        description:
          'Write every change over whatever version is there (for scripts): changes without expected are not checked',
      }),
    }),
    response: z.object({ commit: CommitSchema, names: z.array(z.string()) }),
    status: 201,
    errors: ['VALIDATION_FAILED', 'CONFLICT', 'PRECONDITION_REQUIRED', 'NOT_FOUND', 'SECRET_IN_PLAINTEXT'],
  }),
  pull: defineRoute(routes.pull, {
    summary: 'Fetch and fast-forward (or rebase) the branch; a conflict changes nothing',
    tag: 'git',
    body: z.strictObject({ rebase: z.boolean().optional() }).optional(),
    response: z.object({
      commit: z.string().meta({ description: 'Id of the branch head after the pull' }),
      updated: z.boolean(),
    }),
    errors: ['GIT_MERGE_CONFLICT', 'CONFLICT', 'NOT_FOUND', 'GIT_NO_REMOTE', 'GIT_FAILED'],
  }),
  push: defineRoute(routes.push, {
    summary: 'Push the branch to its remote',
    tag: 'git',
    body: z.strictObject({ branch: GitRefSchema.optional() }).optional(),
    response: z.object({
      branch: z.string(),
      commit: z.string().meta({ description: 'Id of the commit pushed (the branch head)' }),
    }),
    errors: ['GIT_REMOTE_REJECTED', 'NOT_FOUND', 'GIT_NO_REMOTE', 'GIT_FAILED'],
  }),
  createPullRequest: defineRoute(routes.createPullRequest, {
    summary: 'Open a pull request (GitHub) or merge request (GitLab) from a branch',
    tag: 'git',
    body: z.strictObject({
      head: GitRefSchema.meta({ description: 'The branch to merge from (the pull request head)' }),
      base: GitRefSchema.optional(),
      title: z.string().min(1).max(256),
      body: z.string().max(65_536).optional(),
      draft: z.boolean().optional(),
    }),
    response: PullRequestSchema,
    status: 201,
    errors: ['PROVIDER_FAILED', 'NOT_FOUND'],
  }),

  uploadArtifact: defineRoute(routes.uploadArtifact, {
    summary: 'Upload a data artifact (CSV, JSON lines or Parquet): the body is the file, streamed',
    description:
      'Send the file as the body with its content type (`text/csv`, `application/jsonl`, `application/vnd.apache.parquet`, or `application/octet-stream` to let the server tell) and its name in `?name=`, or as the `file` part of a `multipart/form-data` form. The content must be what the content type says: valid UTF-8 for text, a whole Parquet file. Nothing is kept of a refused upload.',
    tag: 'artifacts',
    query: z.strictObject({
      name: ArtifactNameSchema.optional().meta({
        description: "The file name (required for a raw body; a form takes the file part's name by default)",
      }),
      description: plainText(2000).optional(),
      format: ArtifactFormatSchema.optional().meta({ description: 'The format the content must have' }),
      header: boolQuery().optional().meta({ description: 'CSV: whether the first row is a header (default true)' }),
    }),
    response: ArtifactSchema,
    status: 201,
    errors: ['VALIDATION_FAILED', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'],
  }),
  listArtifacts: defineRoute(routes.listArtifacts, {
    summary: 'Data artifacts, newest first, with filters and keyset pagination',
    tag: 'artifacts',
    query: z.strictObject({
      q: z.string().min(1).max(255).optional().meta({ description: 'Only artifacts whose name contains this text' }),
      format: ArtifactFormatSchema.optional(),
      createdBy: z.string().min(1).max(200).optional().meta({ description: 'Only those of this principal id' }),
      limit: intQuery(1, 500).optional(),
      cursor: z.string().max(500).optional(),
    }),
    response: ArtifactPageSchema,
    errors: ['VALIDATION_FAILED'],
  }),
  getArtifact: defineRoute(routes.getArtifact, {
    summary: 'A data artifact: name, size, SHA-256, format, row count, and its columns as Spark reads them',
    description:
      'The first time, Spark reads the start of the file on the warm preview session to learn its columns; the answer is kept.',
    tag: 'artifacts',
    params: z.strictObject({ id: ArtifactIdSchema }),
    response: ArtifactSchema,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
  artifactSample: defineRoute(routes.artifactSample, {
    summary: 'The first rows of a data artifact as Spark reads them (typed JSON)',
    tag: 'artifacts',
    params: z.strictObject({ id: ArtifactIdSchema }),
    query: z.strictObject({ limit: intQuery(1, 1000).optional() }),
    response: ArtifactSampleSchema,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED', 'SPARK_UNAVAILABLE', 'SPARK_JOB_FAILED', 'JOB_TIMEOUT'],
  }),
  downloadArtifact: defineRoute(routes.downloadArtifact, {
    summary: 'The bytes of a data artifact, as uploaded (byte ranges allowed)',
    tag: 'artifacts',
    params: z.strictObject({ id: ArtifactIdSchema }),
    headers: z.strictObject({
      range: z.string().max(200).optional().meta({ description: 'One byte range, e.g. `bytes=0-1023`' }),
    }),
    response: z.string().meta({ description: 'The file' }),
    errors: ['NOT_FOUND', 'VALIDATION_FAILED', 'RANGE_NOT_SATISFIABLE'],
  }),
  deleteArtifact: defineRoute(routes.deleteArtifact, {
    summary: 'Delete a data artifact; refused while a saved pipeline reads it',
    description:
      'A refusal is `CONFLICT` with `details.pipelines`: the pipelines on the default branch that reference it.',
    tag: 'artifacts',
    params: z.strictObject({ id: ArtifactIdSchema }),
    response: ArtifactSchema,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED', 'CONFLICT'],
  }),
  createKey: defineRoute(routes.createKey, {
    summary: 'Create an API key; its secret is in this answer only',
    description:
      'The secret is shown once, in this answer: keep it now. An expiresAt that is not in the future is a BAD_REQUEST.',
    tag: 'access',
    body: z.strictObject({
      name: z.string().min(1).max(100).meta({ description: 'What the key is for, e.g. "nightly scheduler"' }),
      role: RoleSchema,
      expiresAt: DateTimeSchema.optional().meta({ description: 'When the key stops working (absent: never)' }),
    }),
    response: CreatedApiKeySchema,
    status: 201,
    errors: [],
  }),
  listKeys: defineRoute(routes.listKeys, {
    summary: 'API keys, without their secrets',
    tag: 'access',
    query: z.strictObject({ includeRevoked: boolQuery().optional() }),
    response: z.array(ApiKeySchema),
    errors: [],
  }),
  revokeKey: defineRoute(routes.revokeKey, {
    summary: 'Revoke an API key: it stops working at once',
    description: 'Revoking a revoked key changes nothing and answers it as it is.',
    tag: 'access',
    params: idParams,
    response: ApiKeySchema,
    errors: ['NOT_FOUND'],
  }),
  listAudit: defineRoute(routes.listAudit, {
    summary: 'The audit log: who called which route on what, newest first, with filters and keyset pagination',
    tag: 'access',
    query: z.strictObject({
      principal: z.string().min(1).max(200).optional().meta({ description: 'Only the calls of this principal id' }),
      route: z.string().min(1).max(100).optional().meta({ description: 'Only the calls of this route name' }),
      since: DateTimeSchema.optional(),
      until: DateTimeSchema.optional(),
      limit: intQuery(1, 500).optional(),
      cursor: z.string().max(500).optional(),
    }),
    response: AuditPageSchema,
    errors: [],
  }),
  createWebhook: defineRoute(routes.createWebhook, {
    summary: 'Subscribe a receiver URL to events; the signing secret is in this answer only',
    description:
      'The server POSTs each event to the URL (called from the server: use a URL the server may reach) as `{ type, timestamp, data }`, signed as the Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` with the secret). A non-2xx answer is retried with backoff; 410 Gone disables the subscription.',
    tag: 'webhooks',
    body: z.strictObject({
      url: WebhookUrlSchema,
      events: z.array(WebhookEventTypeSchema).min(1).max(WEBHOOK_EVENT_TYPES.length),
      description: plainText(500).optional(),
    }),
    response: CreatedWebhookSchema,
    status: 201,
    errors: ['VALIDATION_FAILED'],
  }),
  listWebhooks: defineRoute(routes.listWebhooks, {
    summary: 'Webhook subscriptions, without their secrets',
    tag: 'webhooks',
    response: z.array(WebhookSchema),
    errors: [],
  }),
  deleteWebhook: defineRoute(routes.deleteWebhook, {
    summary: 'Delete a webhook subscription: nothing more is sent to it, pending deliveries included',
    tag: 'webhooks',
    params: idParams,
    response: WebhookSchema,
    errors: ['NOT_FOUND'],
  }),
  listWebhookDeliveries: defineRoute(routes.listWebhookDeliveries, {
    summary: "A subscription's deliveries, newest first: status, attempts, the last answer and the next attempt",
    tag: 'webhooks',
    params: idParams,
    query: z.strictObject({
      status: z.enum(['pending', 'succeeded', 'failed']).optional(),
      limit: intQuery(1, 500).optional(),
      cursor: z.string().max(500).optional(),
    }),
    response: WebhookDeliveryPageSchema,
    errors: ['NOT_FOUND'],
  }),
} as const satisfies { readonly [K in RouteName]: AnyRoute & { readonly name: K } }

/** The API contract type: route name to route. */
export type Api = typeof api
