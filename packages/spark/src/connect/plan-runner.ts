// Runs an execution plan's steps over Spark Connect, in one server-side session: the same step kinds, events and
// preview answers as the Python runner (runner/sparkle_runner.py), for a cluster reached only through Spark Connect.
//
// What is enforced where: everything the compiler enforces (core's compile-policy: SQL fragments, denied functions,
// script transforms, files read by path, read/write roots, JDBC URLs and options) holds for every plan; before a step
// is sent, its source or sink is checked again against the policy with its secrets resolved, an `action` must be the
// compiler's `CACHE [LAZY] TABLE <view>`, and the plan's Spark configuration against the refused keys; on the server's
// own plan, every file location of a step's physical plan (AnalyzePlan explain) must lie inside the read roots. What
// the Python runner checks on Spark's plan objects inside the driver (plan node classes, expression classes of denied
// functions under other names) has no equivalent over Spark Connect and is not claimed here.
import {
  checkReadSource,
  checkWriteTarget,
  type ExecutionPlan,
  type OptionValue,
  type PlanPolicy,
  type PlanStep,
  pathProblem,
  StudioError,
} from '@sparkle-studio/core'
import type { ColumnInfo, NodePreview, PreviewError, RunnerEvent } from '../events.ts'
import type { SparkColumn, SparkRow, SparkValue } from './arrow-values.ts'
import type { SparkConnectClient, SparkExecuteOptions, SparkProgress, SparkRelation } from './client.ts'
import { SparkConnectError } from './errors.ts'

/** A step that failed, with the error class and rule the run reports (as the Python runner's StepError). */
export class ConnectStepError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
    readonly rule?: string,
    readonly fix?: string,
  ) {
    super(message)
    this.name = 'ConnectStepError'
  }
}

const POLICY_CLASSES: Readonly<Record<string, string>> = {
  'read-roots': 'POLICY_PATH',
  'write-roots': 'POLICY_PATH',
  'jdbc-url': 'POLICY_JDBC',
  command: 'POLICY_COMMAND',
}

function policyError(rule: string, message: string, fix: string): ConnectStepError {
  return new ConnectStepError(
    POLICY_CLASSES[rule] ?? 'POLICY_VIOLATION',
    `${message} (rule: ${rule}). Fix: ${fix}`,
    rule,
    fix,
  )
}

/** Option values with secret references resolved from `secrets`; a missing secret fails the step, naming the fix. */
export function resolveOptions(
  options: Readonly<Record<string, OptionValue>> | undefined,
  secrets: Readonly<Record<string, string>>,
  onMissing: 'fail' | 'skip' = 'fail',
): Record<string, string> {
  const resolved: Record<string, string> = {}
  for (const [key, value] of Object.entries(options ?? {})) {
    if (typeof value === 'string') {
      resolved[key] = value
      continue
    }
    const secret = secrets[value.$secret]
    if (secret !== undefined) resolved[key] = secret
    else if (onMissing === 'fail') {
      throw new ConnectStepError(
        'UNRESOLVED_SECRET',
        `option "${key}" references secret "${value.$secret}", which the server does not know: set SPARKLE_SECRET_${value.$secret} in the environment of the server or worker`,
      )
    }
  }
  return resolved
}

function findingsError(
  findings: readonly { code: string; message: string; field?: string }[],
  kind: 'read' | 'write',
): ConnectStepError | undefined {
  const first = findings[0]
  if (!first) return undefined
  const rule = first.code.includes('jdbc') ? 'jdbc-url' : kind === 'read' ? 'read-roots' : 'write-roots'
  return policyError(rule, first.message, `${kind} inside the execution policy's roots`)
}

const CACHE_ACTION = /^CACHE\s+(LAZY\s+)?TABLE\s+(`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_]*)\s*$/i
// `Location: InMemoryFileIndex(1 paths)[file:/data/in.csv, ...]` in a physical plan: the files a scan reads.
const LOCATION = /Location: \w+(?:\(\d+ paths?\))?\[([^\]]*)\]/g

/** The file locations a physical plan's scans read, and whether Spark shortened a list (then it cannot be checked). */
export function scannedLocations(explained: string): {
  readonly paths: readonly string[]
  readonly truncated: boolean
} {
  const paths: string[] = []
  let truncated = false
  for (const match of explained.matchAll(LOCATION)) {
    for (const raw of (match[1] ?? '').split(', ')) {
      const path = raw.trim()
      if (path === '') continue
      if (path.endsWith('...')) truncated = true
      else paths.push(path)
    }
  }
  return { paths, truncated }
}

/** What one step run over Spark Connect needs. */
export interface ConnectStepContext {
  readonly client: SparkConnectClient
  readonly policy: PlanPolicy | undefined
  readonly secrets: Readonly<Record<string, string>>
  /** Tag of every operation (cancel by tag), progress and cancellation. */
  readonly execute: SparkExecuteOptions
}

/** Checks a relation's physical plan on the server: every file it scans inside the read roots. */
async function checkServerPlan(ctx: ConnectStepContext, relation: SparkRelation): Promise<void> {
  const policy = ctx.policy
  if (!policy) return
  const explained = await ctx.client.explain(relation, 'simple', { signal: ctx.execute.signal })
  const { paths, truncated } = scannedLocations(explained)
  if (truncated) {
    throw policyError(
      'read-roots',
      "the step scans more file locations than Spark's plan lists, so they cannot all be checked",
      'read fewer folders per source, or a parent folder inside the read roots',
    )
  }
  for (const path of paths) {
    const problem = pathProblem(path, policy.readRoots, 'read')
    if (problem) throw policyError('read-roots', `the step reads ${path}: ${problem}`, 'read inside the read roots')
  }
}

function readRelation(
  ctx: ConnectStepContext,
  step: Extract<PlanStep, { kind: 'read' }>,
  limit: number | undefined,
): SparkRelation {
  const options = resolveOptions(step.source.options, ctx.secrets)
  if (ctx.policy) {
    const error = findingsError(checkReadSource({ ...step.source, options }, ctx.policy).findings, 'read')
    if (error) throw error
  }
  const { format, path, schema } = step.source
  const read: SparkRelation = {
    read: { format, paths: path === undefined ? [] : [path], schema, options },
  }
  return limit === undefined ? read : { limit: { input: read, rows: limit } }
}

function checkTarget(
  ctx: ConnectStepContext,
  step: Extract<PlanStep, { kind: 'write' }>,
  onMissing: 'fail' | 'skip',
): Record<string, string> {
  const options = resolveOptions(step.target.options, ctx.secrets, onMissing)
  if (ctx.policy) {
    const error = findingsError(checkWriteTarget({ ...step.target, options }, ctx.policy).findings, 'write')
    if (error) throw error
  }
  return options
}

/** Column descriptions as the runner reports them (`simpleString` types). */
export function columnsOf(schema: readonly SparkColumn[]): ColumnInfo[] {
  return schema.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable }))
}

/** A value as JSON carries it in events and previews (the same forms the Python runner writes). */
export function jsonValue(value: SparkValue): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'
  }
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value
  }
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), jsonValue(v)]))
  if (Array.isArray(value)) return value.map(jsonValue)
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v as SparkValue)]))
  }
  return String(value)
}

function jsonRows(rows: readonly SparkRow[]): Record<string, unknown>[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonValue(v)])))
}

/** The first `limit` rows of a relation and whether there were more. */
async function headRows(
  ctx: ConnectStepContext,
  relation: SparkRelation,
  limit: number,
): Promise<{ schema: ColumnInfo[]; rows: Record<string, unknown>[]; truncated: boolean }> {
  const result = await ctx.client.execute({ limit: { input: relation, rows: limit + 1 } }, ctx.execute)
  return {
    schema: columnsOf(result.schema),
    rows: jsonRows(result.rows.slice(0, limit)),
    truncated: result.rows.length > limit,
  }
}

/** The error fields of a failed step, as the runner's `failed` event and a preview's node error carry them. */
export function stepErrorFields(error: unknown): { errorClass: string; message: string; rule?: string; fix?: string } {
  if (error instanceof ConnectStepError) {
    return {
      errorClass: error.errorClass,
      message: error.message,
      ...(error.rule === undefined ? {} : { rule: error.rule }),
      ...(error.fix === undefined ? {} : { fix: error.fix }),
    }
  }
  if (error instanceof SparkConnectError) {
    return { errorClass: error.errorClass ?? error.code, message: error.message }
  }
  if (error instanceof StudioError) return { errorClass: error.code, message: error.message }
  return { errorClass: 'UNKNOWN', message: error instanceof Error ? error.message : String(error) }
}

/** Options of {@link runConnectSteps}. */
export interface RunConnectStepsOptions extends ConnectStepContext {
  /** Receives each event, in order (the Python runner's events, without `started`/`succeeded`). */
  readonly emit: (event: RunnerEvent) => void
}

/**
 * Runs a plan's steps for their effect (batch mode) in the client's session: views defined, rows and checks reported,
 * checks enforced, sinks written. Returns true when every step succeeded; a failure is emitted as a `failed` event
 * naming its node, and the remaining steps do not run.
 */
export async function runConnectSteps(plan: ExecutionPlan, options: RunConnectStepsOptions): Promise<boolean> {
  const { emit, client } = options
  const now = () => Date.now()
  for (const [index, step] of plan.steps.entries()) {
    emit({ type: 'step_started', ts: now(), nodeId: step.nodeId, index, kind: step.kind })
    const started = performance.now()
    let rows: number | undefined
    try {
      switch (step.kind) {
        case 'read':
          await client.createTempView(step.view, readRelation(options, step, step.limit), options.execute)
          break
        case 'view': {
          const relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          await client.createTempView(step.view, relation, options.execute)
          break
        }
        case 'action':
          if (!CACHE_ACTION.test(step.sql.trim())) {
            throw policyError(
              'command',
              'an action step may only cache a view (CACHE [LAZY] TABLE view)',
              'a step that is not a query never runs',
            )
          }
          await client.executeCommand(step.sql, options.execute)
          break
        case 'query': {
          const relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          const head = await headRows(options, relation, Math.max(0, step.limit))
          emit({ type: 'rows', ts: now(), nodeId: step.nodeId, ...head })
          rows = head.rows.length
          break
        }
        case 'check': {
          const relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          const result = await client.execute({ limit: { input: relation, rows: 1 } }, options.execute)
          if (!result.schema.some((c) => c.name === 'failed_rows')) {
            throw new ConnectStepError('INVALID_PLAN', 'a check query must return a failed_rows column')
          }
          const failedRows = Number(result.rows[0]?.['failed_rows'] ?? 0)
          emit({
            type: 'check',
            ts: now(),
            nodeId: step.nodeId,
            severity: step.severity,
            description: step.description,
            failedRows,
          })
          if (failedRows > 0 && step.severity === 'error') {
            throw new ConnectStepError(
              'QUALITY_CHECK_FAILED',
              `${step.description || 'quality check'}: ${failedRows} rows failed the check`,
            )
          }
          break
        }
        case 'write': {
          const targetOptions = checkTarget(options, step, 'fail')
          const relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          await client.write(relation, { ...step.target, options: targetOptions }, options.execute)
          break
        }
        default:
          throw new ConnectStepError('INVALID_PLAN', `unknown step kind ${JSON.stringify((step as PlanStep).kind)}`)
      }
    } catch (error) {
      // A cancelled or timed-out job is not a failure of its step: the caller reports it.
      if (options.execute.signal?.aborted) throw error
      emit({ type: 'failed', ts: now(), nodeId: step.nodeId, ...stepErrorFields(error) })
      return false
    }
    emit({
      type: 'step_finished',
      ts: now(),
      nodeId: step.nodeId,
      index,
      durationMs: Math.round(performance.now() - started),
      ...(rows === undefined ? {} : { rows }),
    })
  }
  return true
}

/** Options of {@link previewConnectPlan}. */
export interface PreviewConnectPlanOptions extends ConnectStepContext {
  /** Rows shown per node. */
  readonly limit: number
  /** Most rows read from each source. */
  readonly sampleRows: number
}

/**
 * Answers a preview request over Spark Connect: per node, its schema and first rows, or its error (nodes reading a
 * failed node answer `UPSTREAM_FAILED`); sinks are never written. The same answers as the warm PySpark driver's.
 */
export async function previewConnectPlan(
  plan: ExecutionPlan,
  options: PreviewConnectPlanOptions,
): Promise<NodePreview[]> {
  const { client, limit } = options
  const answering = new Map<string, number>()
  for (const [i, s] of plan.steps.entries()) answering.set(s.nodeId, i)
  const viewOwner = new Map<string, string>()
  for (const s of plan.steps) if ('view' in s && s.view) viewOwner.set(normalizeName(s.view), s.nodeId)
  const results = new Map<string, NodePreview>()
  const order: string[] = []
  const failed = new Map<string, PreviewError>()
  for (const [index, step] of plan.steps.entries()) {
    if (!order.includes(step.nodeId)) order.push(step.nodeId)
    if (failed.has(step.nodeId)) continue
    options.execute.signal?.throwIfAborted()
    const started = performance.now()
    try {
      let relation: SparkRelation | undefined
      let rowsShown = limit
      switch (step.kind) {
        case 'read': {
          const cap = step.limit === undefined ? options.sampleRows : Math.min(step.limit, options.sampleRows)
          await client.createTempView(step.view, readRelation(options, step, cap), options.execute)
          relation = { sql: `SELECT * FROM ${step.view}` }
          break
        }
        case 'view':
          relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          await client.createTempView(step.view, relation, options.execute)
          break
        case 'query':
          relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          rowsShown = Math.max(0, Math.min(limit, step.limit))
          break
        case 'check':
          relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          break
        case 'write':
          checkTarget(options, step, 'skip')
          relation = { sql: step.sql }
          await checkServerPlan(options, relation)
          break
        case 'action':
          break
      }
      if (answering.get(step.nodeId) === index && relation) {
        const head = await headRows(options, relation, rowsShown)
        results.set(step.nodeId, {
          nodeId: step.nodeId,
          ok: true,
          ...head,
          durationMs: Math.round(performance.now() - started),
        })
      }
    } catch (error) {
      if (options.execute.signal?.aborted) throw error
      if (error instanceof SparkConnectError && error.code !== 'SPARK_CONNECT_FAILED') throw error
      let fields: PreviewError = stepErrorFields(error)
      if (fields.errorClass === 'TABLE_OR_VIEW_NOT_FOUND' && error instanceof SparkConnectError) {
        const owner = viewOwner.get(normalizeName(error.messageParameters['relationName'] ?? ''))
        const upstream = owner === undefined ? undefined : failed.get(owner)
        if (owner !== undefined && upstream && owner !== step.nodeId) {
          fields = {
            errorClass: 'UPSTREAM_FAILED',
            message: `upstream node ${owner} failed: ${upstream.message}`,
            upstreamNodeId: owner,
          }
        }
      }
      failed.set(step.nodeId, fields)
      results.set(step.nodeId, { nodeId: step.nodeId, ok: false, error: fields })
      // Without its views, nodes that read this one fail at analysis, naming it as their failed upstream.
      if ('view' in step && step.view) {
        await client.executeCommand(`DROP VIEW IF EXISTS ${step.view}`, options.execute).catch(() => undefined)
      }
    }
  }
  return order.flatMap((n) => {
    const r = results.get(n)
    return r ? [r] : []
  })
}

/** A view name as Spark compares it: unquoted, lower case (`\`sparkle_a\`` and `SPARKLE_A` are one view). */
function normalizeName(name: string): string {
  return name
    .split('.')
    .map((p) => p.trim().replace(/^`|`$/g, '').replaceAll('``', '`').toLowerCase())
    .join('.')
}

/** Tasks done and in all, summed over a run's operations from their progress reports. */
export class ProgressTally {
  readonly #finished = { completed: 0, total: 0 }
  readonly #current = new Map<number, { tasks: number; completed: number; done: boolean }>()
  #operation = ''

  /** Takes one progress report. */
  add(progress: SparkProgress): void {
    if (progress.operationId !== this.#operation) {
      this.#fold()
      this.#operation = progress.operationId
    }
    for (const s of progress.stages) {
      this.#current.set(s.stageId, { tasks: s.tasks, completed: s.completedTasks, done: s.done })
    }
  }

  #fold(): void {
    for (const s of this.#current.values()) {
      this.#finished.total += s.tasks
      this.#finished.completed += s.completed
    }
    this.#current.clear()
  }

  /** Completed and total tasks so far, and the stages still running. */
  counts(): { completedTasks: number; totalTasks: number; activeStages: number[] } {
    let completed = this.#finished.completed
    let total = this.#finished.total
    const active: number[] = []
    for (const [id, s] of this.#current) {
      completed += s.completed
      total += s.tasks
      if (!s.done) active.push(id)
    }
    return { completedTasks: completed, totalTasks: total, activeStages: active }
  }
}
