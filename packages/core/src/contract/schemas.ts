import { z } from 'zod'
import { ARTIFACT_ID_PATTERN } from '../artifacts.ts'
import { COMPONENT_TYPES } from '../component.ts'
import { PipelineDocumentSchema } from '../document.ts'
import { ROLES } from '../routes/route-info.ts'
import { RUN_STATUSES } from '../routes/run-events.ts'
import { WEBHOOK_EVENT_TYPES, WEBHOOK_URL_MAX_LENGTH, webhookUrlProblem } from '../routes/webhooks.ts'
import { PIPELINE_NAME_PATTERN } from '../validation-issue.ts'

/**
 * The JSON Schema a query parameter has on the wire, by its zod schema: an `intQuery` is an integer with its bounds and a
 * `boolQuery` a boolean, although their zod input also takes the decimal or `true`/`false` strings a URL carries (which
 * JSON Schema would show as an `anyOf` without the bounds). Read by `generateOpenApi`.
 */
export const wireSchemas: WeakMap<z.ZodType, Readonly<Record<string, unknown>>> = new WeakMap()

/** An integer query parameter: a number from code, a decimal string on the wire. */
export function intQuery(min: number, max: number) {
  const schema = z
    .union([
      z.number(),
      z
        .string()
        .regex(/^-?\d{1,16}$/, 'must be an integer')
        .transform(Number),
    ])
    .pipe(z.number().int().min(min).max(max))
  wireSchemas.set(schema, { type: 'integer', minimum: min, maximum: max })
  return schema
}

/** A boolean query parameter: `true`/`false` on the wire. */
export function boolQuery() {
  const schema = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
  wireSchemas.set(schema, { type: 'boolean' })
  return schema
}

/** Free text kept in the database (a description): up to `max` characters, never a NUL (PostgreSQL text cannot hold it). */
export function plainText(max: number) {
  return z
    .string()
    .max(max)
    .refine((text) => !text.includes('\u0000'), 'text may not hold NUL characters (\\u0000)')
}

/** A pipeline name in a path or body. */
export const PipelineNameSchema = z.string().max(64).regex(PIPELINE_NAME_PATTERN, 'not a valid pipeline name')

/**
 * A git ref (branch, tag or commit id): git's ref name rules as the git package checks them (no option-like or
 * path-escaping values, no `..`, `//`, leading or trailing `/` or `.`, no part starting with `.` or ending in `.lock`,
 * not `HEAD` or `@`), so that the schema accepts only what the server does.
 */
export const GitRefSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^(?!-)(?!\.)(?!\/)(?!(?:HEAD|@)$)(?!.*\.\.)(?!.*\/\/)(?!.*\/\.)(?!.*\.lock(?:\/|$))(?!.*[./]$)[A-Za-z0-9._/-]+$/,
    'not a valid git ref',
  )

/** An opaque id (run, backfill) in a path. */
export const IdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a valid id')

/** A validation issue as the API returns it. */
export const IssueSchema = z
  .object({ path: z.string(), message: z.string(), code: z.string(), nodeId: z.string().optional() })
  .meta({ id: 'Issue' })

/** An ISO 8601 date and time with an offset (`Z` or `+02:00`), as every instant of the API is written. */
export const DateTimeSchema = z.iso.datetime({ offset: true })

/**
 * The health report. Anonymous callers get only `{ status: 'ok', version }` (the server is up); authenticated ones
 * also get the `checks` of its dependencies.
 */
export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    checks: z
      .object({
        spark: z.object({
          ok: z.boolean(),
          version: z.string().optional(),
          java: z.string().optional(),
          backend: z
            .enum(['spark-submit', 'connect'])
            .optional()
            .meta({ description: 'How runs reach Spark: spark-submit on this machine, or a Spark Connect server' }),
          detail: z.string().optional(),
        }),
        git: z.object({ ok: z.boolean(), branch: z.string().optional(), detail: z.string().optional() }),
        database: z.object({ ok: z.boolean(), dialect: z.string().optional(), detail: z.string().optional() }),
      })
      .optional()
      .meta({ description: 'The dependencies, one by one (absent for anonymous callers)' }),
  })
  .meta({ id: 'Health' })

/** How the value of one allowed Spark configuration key is checked (core's `SparkConfRule`). */
export const SparkConfRuleSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('int'), min: z.number().int(), max: z.number().int() }),
    z.object({ kind: z.literal('bytes'), max: z.string().meta({ description: 'A Spark size such as 16g' }) }),
    z.object({ kind: z.literal('bool') }),
    z.object({ kind: z.literal('enum'), values: z.array(z.string()) }),
    z.object({ kind: z.literal('pattern'), pattern: z.string().meta({ description: 'A regular expression' }) }),
  ])
  .meta({ id: 'SparkConfRule' })

/** What pipelines may do on this deployment (core's `ExecutionPolicy`): every layer enforces it. */
export const ExecutionPolicySchema = z
  .object({
    sparkConf: z
      .record(z.string(), SparkConfRuleSchema)
      .meta({ description: "The Spark configuration keys a pipeline's spark.conf may set, each with its value rule" }),
    readRoots: z
      .array(z.string())
      .meta({ description: 'Where reads may happen: absolute paths or URI prefixes (s3a://bucket/raw/)' }),
    writeRoots: z.array(z.string()).meta({ description: 'Where writes may happen, in the same form as readRoots' }),
    jdbcUrlPatterns: z
      .array(z.string())
      .meta({ description: 'JDBC URLs a pipeline may connect to: regular expressions matched against the whole URL' }),
    deniedFunctions: z.array(z.string()).meta({ description: 'SQL functions no pipeline may call (lower case)' }),
    defaultRunTimeMs: z.number().int().meta({ description: "A run's time limit when it asks for none, in ms" }),
    maxRunTimeMs: z.number().int().meta({ description: 'The longest a run may take, in ms' }),
    maxBackfillPartitions: z.number().int().meta({ description: 'The most partitions one backfill may create' }),
    minScheduleIntervalMinutes: z
      .number()
      .int()
      .meta({ description: 'The shortest interval between two runs of a schedule, in minutes' }),
  })
  .meta({ id: 'ExecutionPolicy' })

const PortSchema = z.object({
  name: z.string(),
  label: z.string().optional(),
  multiple: z.boolean().optional(),
  optional: z.boolean().optional(),
})

/** A component type. */
export const ComponentTypeSchema = z.enum(COMPONENT_TYPES as unknown as [string, ...string[]])

/** A component in lists and search results. */
export const ComponentSummarySchema = z
  .object({
    ref: z.string(),
    type: ComponentTypeSchema,
    name: z.string(),
    version: z.number().int(),
    latest: z.boolean(),
    title: z.string(),
    description: z.string(),
    category: z.string(),
    icon: z.string(),
    tags: z.array(z.string()),
    inputs: z.array(PortSchema),
    outputs: z.array(PortSchema),
  })
  .meta({ id: 'ComponentSummary' })

/** A component with its config JSON Schema and uiSchema. */
export const ComponentDetailSchema = ComponentSummarySchema.extend({
  docs: z.string().optional(),
  examples: z.array(z.object({ title: z.string(), config: z.record(z.string(), z.unknown()) })),
  schema: z.record(z.string(), z.unknown()),
  uiSchema: z.record(z.string(), z.unknown()),
}).meta({ id: 'ComponentDetail' })

/** The result of validating a config. */
export const ConfigValidationResultSchema = z
  .object({ valid: z.boolean(), config: z.record(z.string(), z.unknown()).optional(), issues: z.array(IssueSchema) })
  .meta({ id: 'ConfigValidationResult' })

/** A commit as the API shows it (the shape of git's `CommitSummary`). */
export const CommitSchema = z
  .object({
    commit: z.string().meta({ description: 'Commit id (the full sha)' }),
    author: z.object({ name: z.string(), email: z.string() }).meta({ description: 'Who wrote the change' }),
    date: z.string().meta({ description: "When it was written (ISO 8601 with the author's offset)" }),
    message: z.string().meta({ description: 'The first line of the commit message' }),
  })
  .meta({ id: 'Commit' })

/** A pipeline in the list. */
export const PipelineSummarySchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    tags: z.array(z.string()),
    lastCommit: CommitSchema.optional(),
  })
  .meta({ id: 'PipelineSummary' })

/** A pipeline document with where it was read. */
export const PipelineRecordSchema = z
  .object({
    name: z.string(),
    document: z.record(z.string(), z.unknown()),
    revision: z.string().meta({ description: 'Revision: id of the commit (the branch head) the pipeline was read at' }),
    blob: z.string().meta({ description: 'Id of the pipeline.json blob read: send it as If-Match to save or delete' }),
  })
  .meta({ id: 'PipelineRecord' })

/** The result of a save. */
export const SaveResultSchema = z
  .object({
    name: z.string(),
    revision: z.string().meta({ description: 'Revision: id of the commit the pipeline is now at (the save)' }),
    blob: z.string().meta({ description: 'Id of the pipeline.json blob saved: the next If-Match' }),
    commit: CommitSchema,
  })
  .meta({ id: 'SaveResult' })

/** A structured diff between two revisions of a pipeline. */
export const PipelineDiffSchema = z.record(z.string(), z.unknown()).meta({ id: 'PipelineDiff' })

/** One step of an execution plan. */
export const PlanStepSchema = z.record(z.string(), z.unknown()).meta({ id: 'PlanStep' })

/** An execution plan. */
export const ExecutionPlanSchema = z
  .object({
    pipeline: z.string(),
    revision: z.string().optional().meta({ description: 'Revision: id of the commit the pipeline was compiled at' }),
    mode: z.enum(['run', 'preview']),
    conf: z.record(z.string(), z.string()).optional(),
    steps: z.array(PlanStepSchema),
    policy: ExecutionPolicySchema.pick({
      readRoots: true,
      writeRoots: true,
      deniedFunctions: true,
      jdbcUrlPatterns: true,
    })
      .optional()
      .meta({
        description: 'What the driver enforces on every step (present when compiled under an execution policy)',
      }),
  })
  .meta({ id: 'ExecutionPlan' })

/** Run parameter values. */
export const ParamsSchema = z.record(z.string().max(64), z.union([z.string().max(10_000), z.number(), z.boolean()]))

/** Columns of a preview result. */
export const ColumnSchema = z.object({ name: z.string(), type: z.string(), nullable: z.boolean() })

/** What a dry-run answers for one node. */
export const NodePreviewSchema = z
  .object({
    nodeId: z.string(),
    schema: z.array(ColumnSchema).optional(),
    rows: z.array(z.record(z.string(), z.unknown())).optional(),
    truncated: z.boolean().optional(),
    error: z.object({ errorClass: z.string().optional(), message: z.string() }).optional(),
  })
  .meta({ id: 'NodePreview' })

/** The dry-run answer. */
export const DryRunResultSchema = z
  .object({
    pipeline: z.string(),
    plan: ExecutionPlanSchema,
    nodes: z.array(NodePreviewSchema),
    durationMs: z.number(),
  })
  .meta({ id: 'DryRunResult' })

/** Run states. */
export const RunStatusSchema = z.enum(RUN_STATUSES)

const seconds = (description: string) => z.number().min(0).meta({ description })
const bytes = (description: string) => z.number().int().min(0).optional().meta({ description })

/** What one attempt used on the cluster, as Spark's own bookkeeping counts it. */
export const UsageSchema = z
  .object({
    coreSeconds: seconds('Executor cores held × the seconds they were held (what a cluster bills)'),
    taskSeconds: seconds('Seconds tasks ran on executors (at most coreSeconds)'),
    cpuSeconds: seconds('CPU seconds of those tasks').optional(),
    peakMemoryBytes: bytes('Largest memory one executor held (JVM heap and off-heap)'),
    inputBytes: bytes('Bytes read from storage'),
    outputBytes: bytes('Bytes written to storage'),
    shuffleReadBytes: bytes('Bytes read by shuffles'),
    shuffleWriteBytes: bytes('Bytes written by shuffles'),
    executors: z.number().int().min(0).optional(),
    cores: z.number().int().min(0).optional().meta({ description: 'Executor cores the application had in all' }),
  })
  .meta({ id: 'Usage' })

/** One attempt of a run. */
export const AttemptSchema = z.object({
  attempt: z.number().int(),
  status: z.string(),
  workerId: z.string().optional(),
  submissionId: z.string().optional(),
  appId: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  error: z.record(z.string(), z.unknown()).optional(),
  usage: UsageSchema.optional(),
})

/** A run (an execution) as the API shows it. */
export const RunSchema = z
  .object({
    id: z.string(),
    pipeline: z.string(),
    revision: z
      .string()
      .optional()
      .meta({ description: 'Revision: id of the commit the run is pinned to (absent: resolved when claimed)' }),
    params: z.record(z.string(), z.unknown()),
    status: RunStatusSchema,
    priority: z.number().int(),
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    idempotencyKey: z.string().optional(),
    backfillId: z.string().optional(),
    createdAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    cancelRequested: z.boolean().optional(),
    error: z.record(z.string(), z.unknown()).optional(),
    appId: z.string().optional(),
    sparkUiUrl: z.string().optional(),
    logsUrl: z.string().optional(),
    progress: z.object({ completedTasks: z.number(), totalTasks: z.number() }).optional(),
    attempts: z.array(AttemptSchema).optional(),
    requestedBy: z.string().optional().meta({ description: 'Id of the principal who queued the run' }),
    cancelledBy: z.string().optional().meta({ description: 'Id of the principal who asked to cancel the run' }),
  })
  .meta({ id: 'Run' })

/** One step of a run's attempt: what the runner did for one node, with Spark's counts. */
export const RunStepSchema = z
  .object({
    nodeId: z.string(),
    index: z.number().int().min(0).meta({ description: 'Position of the step in the plan' }),
    kind: z.string().meta({ description: 'The plan step kind: source, query, check, cache, write' }),
    status: z.enum(['running', 'succeeded', 'failed', 'interrupted']).meta({
      description: '`interrupted`: the attempt ended (cancelled, lost, timed out) while the step ran',
    }),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    durationMs: z.number().min(0).optional(),
    rowsIn: z.number().int().min(0).optional().meta({ description: "Records the step's Spark jobs read from storage" }),
    rowsOut: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Rows the step wrote (a sink) or returned; absent for a view no job ran yet' }),
    bytesRead: bytes("Bytes the step's Spark jobs read from storage"),
    bytesWritten: bytes('Bytes of data files the step wrote'),
    taskMs: z.number().min(0).optional().meta({ description: "Time the step's tasks ran on executors" }),
    jobs: z.number().int().min(0).optional().meta({ description: 'Spark jobs the step ran' }),
    error: z.object({ errorClass: z.string().optional(), message: z.string() }).optional(),
  })
  .meta({ id: 'RunStep' })

/** The steps of one attempt of a run, with what the attempt used. */
export const RunStepsSchema = z
  .object({
    runId: z.string(),
    attempt: z.number().int().min(0).meta({ description: 'The attempt shown (0: the run has not started)' }),
    steps: z.array(RunStepSchema),
    usage: UsageSchema.optional(),
  })
  .meta({ id: 'RunSteps' })

/** A pipeline's usage per UTC day, with its budget. */
export const PipelineUsageSchema = z
  .object({
    pipeline: z.string(),
    budget: z
      .object({ coreSecondsPerDay: z.number().min(0) })
      .optional()
      .meta({ description: 'The daily budget the workers enforce when they claim its runs (absent: none)' }),
    days: z.array(
      z.object({
        day: z.iso.date(),
        attempts: z.number().int().min(0),
        coreSeconds: z.number().min(0),
        taskSeconds: z.number().min(0),
        cpuSeconds: z.number().min(0),
        peakMemoryBytes: z.number().min(0),
        inputBytes: z.number().min(0),
        outputBytes: z.number().min(0),
        shuffleReadBytes: z.number().min(0),
        shuffleWriteBytes: z.number().min(0),
      }),
    ),
  })
  .meta({ id: 'PipelineUsage' })

/** A page of runs with the cursor of the next page. */
export const RunPageSchema = z
  .object({ items: z.array(RunSchema), nextCursor: z.string().optional() })
  .meta({ id: 'RunPage' })

/** A chunk of a run's log. */
export const LogChunkSchema = z
  .object({ text: z.string(), nextOffset: z.number().int(), complete: z.boolean() })
  .meta({ id: 'LogChunk' })

/** Backfill grains. */
export const GrainSchema = z.enum(['hour', 'day', 'week', 'month'])

/** A backfill with its counts by status. */
export const BackfillSchema = z
  .object({
    id: z.string(),
    pipeline: z.string(),
    start: z.string(),
    end: z.string(),
    grain: GrainSchema,
    status: z.string(),
    partitions: z.number().int(),
    counts: z.record(z.string(), z.number().int()),
    createdAt: z.string(),
    runIds: z.array(z.string()).optional(),
  })
  .meta({ id: 'Backfill' })

/** A backfill dry run: the partitions it would run. */
export const BackfillPreviewSchema = z
  .object({
    dryRun: z.literal(true),
    partitions: z.array(z.object({ key: z.string(), params: z.record(z.string(), z.unknown()) })),
  })
  .meta({ id: 'BackfillPreview' })

/** A pipeline's schedule as the scheduler sees it: its cron, its next fire times and the last slot it ran. */
export const ScheduleSchema = z
  .object({
    pipeline: z.string(),
    cron: z.string(),
    timezone: z.string().meta({ description: 'IANA time zone the cron is read in' }),
    catchUp: z.enum(['none', 'latest', 'all']),
    enabled: z.boolean().meta({ description: 'false: paused, the scheduler enqueues nothing for it' }),
    nextFireTimes: z.array(DateTimeSchema).meta({
      description:
        "The next fire times, as the scheduler enqueues them, with the time zone's offset at each (empty when paused or when the cron cannot be read)",
    }),
    problem: z
      .string()
      .optional()
      .meta({ description: 'Why the scheduler cannot evaluate this schedule (an invalid cron or time zone)' }),
    lastSlot: z
      .object({
        slot: DateTimeSchema.meta({ description: 'The most recent slot a run was enqueued for' }),
        runId: z.string().optional(),
        status: RunStatusSchema.optional().meta({ description: "That run's status now" }),
      })
      .optional()
      .meta({ description: 'Absent before the scheduler enqueued its first run' }),
    revision: z.string().meta({ description: 'Revision: id of the commit the schedule was read at' }),
  })
  .meta({ id: 'Schedule' })

/** The schedules of the pipelines on the branch. */
export const ScheduleListSchema = z.object({ items: z.array(ScheduleSchema) }).meta({ id: 'ScheduleList' })

/** A schedule after a pause or resume: `changed` false (and no commit) when it already was so. */
export const ScheduleChangeSchema = ScheduleSchema.extend({
  changed: z.boolean().meta({ description: 'false: the schedule already was so; nothing was committed' }),
  commit: CommitSchema.optional().meta({ description: 'The commit that paused or resumed it' }),
}).meta({ id: 'ScheduleChange' })

/** Git status of the studio's repository. */
export const GitStatusSchema = z
  .object({
    branch: z.string(),
    commit: z.string().optional().meta({ description: 'Id of the commit the branch is at (absent: no commit yet)' }),
    remote: z.string().optional().meta({ description: 'The remote compared with (absent: no remote is configured)' }),
    ahead: z.number().int(),
    behind: z.number().int(),
  })
  .meta({ id: 'GitStatus' })

/** A git branch. */
export const BranchSchema = z
  .object({
    name: z.string(),
    commit: z.string().meta({ description: 'Id of the commit the branch is at' }),
    current: z.boolean(),
  })
  .meta({ id: 'Branch' })

/** A pull or merge request. */
export const PullRequestSchema = z.object({ url: z.string(), number: z.number().int() }).meta({ id: 'PullRequest' })

/** A pipeline template to create pipelines from. */
export const TemplateSchema = z
  .object({ name: z.string(), title: z.string(), description: z.string(), document: PipelineDocumentSchema })
  .meta({ id: 'Template' })

/** A role (see `ROLES` in `@sparkle-studio/core/routes`, least powerful first). */
export const RoleSchema = z.enum(ROLES)

/** An API key as the API shows it: never its secret, only the secret's visible start. */
export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string().meta({ description: 'What the key is for, as its creator named it' }),
    role: RoleSchema,
    prefix: z
      .string()
      .meta({ description: "The visible start of the secret, e.g. 'sk_live_ab12cd34', to recognise it" }),
    createdBy: z.string().meta({ description: 'Id of the principal who created the key' }),
    createdAt: DateTimeSchema,
    expiresAt: DateTimeSchema.optional().meta({ description: 'When the key stops working (absent: never)' }),
    lastUsedAt: DateTimeSchema.optional().meta({ description: 'When the key last authenticated a request' }),
    revokedAt: DateTimeSchema.optional().meta({ description: 'When the key was revoked (absent: it was not)' }),
  })
  .meta({ id: 'ApiKey' })

/** A new API key with its secret: the only answer that ever holds the secret, so the caller must keep it now. */
export const CreatedApiKeySchema = z
  .object({
    key: ApiKeySchema,
    secret: z.string().meta({ description: 'The whole secret, shown this once: send it as `Authorization: Bearer`' }),
  })
  .meta({ id: 'CreatedApiKey' })

/** One entry of the audit log: who called which route on what, and how it ended. */
export const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: DateTimeSchema,
    principal: z
      .object({
        id: z.string(),
        name: z.string(),
        via: z.enum(['key', 'jwt', 'host']),
      })
      .meta({ description: "Who called, and how they were identified: an API key, a JWT or the host's own sessions" }),
    route: z.string().meta({ description: 'The route name, e.g. savePipeline' }),
    method: z.string(),
    target: z.string().optional().meta({ description: 'What the call was about: a pipeline name, a run or key id' }),
    status: z.number().int().meta({ description: 'The HTTP status answered' }),
    code: z.string().optional().meta({ description: 'The error code, when the call failed' }),
    requestId: z.string(),
  })
  .meta({ id: 'AuditEntry' })

/** A page of the audit log, newest first, with the cursor of the next page. */
export const AuditPageSchema = z
  .object({ items: z.array(AuditEntrySchema), nextCursor: z.string().optional() })
  .meta({ id: 'AuditPage' })

/** The formats a data artifact may have: CSV (RFC 4180), JSON lines, Parquet. */
export const ARTIFACT_FORMATS = ['csv', 'jsonl', 'parquet'] as const

/** A data artifact's format. */
export const ArtifactFormatSchema = z.enum(ARTIFACT_FORMATS)

/**
 * A data artifact's name, as the uploader gave it (a file name): 1 to 255 characters, no `/` or `\`, no control
 * characters, not `.` or `..`, no spaces at either end. It is a label: the server never uses it as a path.
 */
export const ArtifactNameSchema = z
  .string()
  .min(1)
  .max(255)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what the pattern refuses
  .regex(/^[^/\\\u0000-\u001f\u007f]+$/, 'names may not hold "/", "\\" or control characters')
  .refine((n) => n !== '.' && n !== '..', 'names may not be "." or ".."')
  .refine((n) => n.trim() === n, 'names may not start or end with a space')
  .meta({ examples: ['orders-sample.csv'] })

/** An artifact id (a UUID). */
export const ArtifactIdSchema = z
  .string()
  .regex(ARTIFACT_ID_PATTERN, 'not an artifact id')
  .meta({ examples: ['0f8c2b4e-3d1a-4c5b-9e7f-1a2b3c4d5e6f'] })

/** What Spark made of an artifact: its columns, or why it could not read it. */
export const ArtifactInspectionSchema = z
  .object({
    status: z.enum(['ready', 'failed', 'pending']).meta({
      description:
        '`ready`: columns known; `failed`: Spark could not read the file (see `message`); `pending`: not inspected yet (Spark unavailable)',
    }),
    message: z.string().optional(),
    inspectedAt: DateTimeSchema.optional(),
    /** Whether the columns were inferred from the start of the file only (large files are sampled, not read whole). */
    sampled: z.boolean().optional(),
  })
  .meta({ id: 'ArtifactInspection' })

/** A data artifact: an uploaded file, its facts and, once Spark read it, its columns. */
export const ArtifactSchema = z
  .object({
    id: ArtifactIdSchema,
    name: z.string(),
    description: z.string().optional(),
    format: ArtifactFormatSchema,
    contentType: z.string(),
    size: z.number().int().meta({ description: 'Bytes' }),
    sha256: z.string().meta({ description: 'SHA-256 of the bytes, hex' }),
    rowCount: z.number().int().meta({ description: 'Rows (CSV without its header row; Parquet from its footer)' }),
    schema: z.array(ColumnSchema).optional().meta({ description: 'Columns and Spark types, once inspected' }),
    inspection: ArtifactInspectionSchema,
    ref: z
      .object({ $artifact: z.string() })
      .meta({ description: 'What to put in an ingestor path field (or a node previewSample) to read this artifact' }),
    createdBy: z.string(),
    createdAt: DateTimeSchema,
  })
  .meta({ id: 'Artifact' })

/** A page of artifacts, newest first, with the cursor of the next page. */
export const ArtifactPageSchema = z
  .object({ items: z.array(ArtifactSchema), nextCursor: z.string().optional() })
  .meta({ id: 'ArtifactPage' })

/** The first rows of an artifact as Spark reads them: typed JSON values keyed by column. */
export const ArtifactSampleSchema = z
  .object({
    id: ArtifactIdSchema,
    schema: z.array(ColumnSchema),
    rows: z.array(z.record(z.string(), z.unknown())),
    truncated: z.boolean().meta({ description: 'True when the artifact has more rows than shown' }),
  })
  .meta({ id: 'ArtifactSample' })

/** The answer to a refused delete: the pipelines that still read the artifact. */
export const ArtifactInUseSchema = z.object({ pipelines: z.array(z.string()) })

/** A webhook event type (see `WEBHOOK_EVENT_TYPES` in `@sparkle-studio/core/routes`). */
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES)

/** A webhook receiver URL: absolute `http:` or `https:`, no credentials, no fragment (see `webhookUrlProblem`). */
export const WebhookUrlSchema = z
  .string()
  .max(WEBHOOK_URL_MAX_LENGTH)
  // ASCII http(s) with a host name or IPv4 address and an optional port, path and query; no credentials, no fragment.
  .regex(
    /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~!$&'()*+,;=:%/?-]*)?$/,
    'url must be an http(s) URL of ASCII characters with a host name, without credentials or fragment',
  )
  .superRefine((url, ctx) => {
    const problem = webhookUrlProblem(url)
    if (problem) ctx.addIssue({ code: 'custom', message: `url ${problem}` })
  })
  .meta({ examples: ['https://hooks.example.com/sparkle'] })

/** A webhook subscription as the API shows it: never its signing secret. */
export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string().meta({ description: 'Where deliveries are POSTed (called from the server)' }),
    events: z.array(WebhookEventTypeSchema),
    description: z.string().optional(),
    createdBy: z.string().meta({ description: 'Id of the principal who created the subscription' }),
    createdAt: DateTimeSchema,
    disabledAt: DateTimeSchema.optional().meta({
      description: 'When the receiver answered 410 Gone: nothing more is delivered (absent: active)',
    }),
  })
  .meta({ id: 'Webhook' })

/** A new webhook subscription with its signing secret: the only answer that ever holds the secret. */
export const CreatedWebhookSchema = z
  .object({
    webhook: WebhookSchema,
    secret: z.string().meta({
      description:
        'The signing secret (`whsec_` + base64), shown this once: verify each delivery with it as the Standard Webhooks specification says',
    }),
  })
  .meta({ id: 'CreatedWebhook' })

/** One event sent (or to be sent) to one subscription, with how its last attempt went. */
export const WebhookDeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string().meta({ description: 'The `webhook-id` header: the same on every attempt, for deduplication' }),
    type: WebhookEventTypeSchema,
    payload: z.record(z.string(), z.unknown()).meta({ description: 'The body sent: `{ type, timestamp, data }`' }),
    status: z.enum(['pending', 'succeeded', 'failed']).meta({
      description:
        '`pending`: waiting for its next attempt; `succeeded`: a 2xx answer; `failed`: attempts used up, 410 Gone, or the subscription disabled',
    }),
    attempts: z.number().int(),
    nextAttemptAt: DateTimeSchema.optional().meta({ description: 'When the next attempt is due (pending only)' }),
    lastStatusCode: z.number().int().optional().meta({ description: "The HTTP status of the last attempt's answer" }),
    lastResponse: z.string().optional().meta({ description: "The first 2 KB of the last answer's body" }),
    lastError: z
      .string()
      .optional()
      .meta({ description: 'Why the last attempt got no answer (timeout, refused, ...)' }),
    createdAt: DateTimeSchema,
    deliveredAt: DateTimeSchema.optional(),
  })
  .meta({ id: 'WebhookDelivery' })

/** A page of deliveries, newest first, with the cursor of the next page. */
export const WebhookDeliveryPageSchema = z
  .object({ items: z.array(WebhookDeliverySchema), nextCursor: z.string().optional() })
  .meta({ id: 'WebhookDeliveryPage' })
