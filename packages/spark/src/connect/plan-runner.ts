// Runs an execution plan's steps over Spark Connect, in one server-side session: the same step kinds, events and
// preview answers as the Python runner (runner/sparkle_runner.py), for a cluster reached only through Spark Connect.
//
// What is enforced where: everything the compiler enforces (core's compile-policy: SQL fragments, denied functions,
// script transforms, files read by path, read/write roots, JDBC URLs and options) holds for every plan. Before a step
// is sent: its SQL must be one query and pass the policy's SQL rules, and it is sent wrapped as a subquery (no command
// parses there); its source or sink is checked again with its secrets resolved; an `action` must be the compiler's
// `CACHE [LAZY] TABLE <view>`. On the server's own plan (AnalyzePlan explain): every file location a step's physical
// plan scans must lie inside the read roots, and no reflection, denied function or script may appear. What the Python
// runner checks on Spark's plan objects inside the driver (expression classes of denied functions called under other
// names) has no equivalent over Spark Connect and is not claimed here.
import { realpathSync } from 'node:fs'
import {
  checkReadSource,
  checkSqlFragment,
  checkSqlUnderPolicy,
  checkWriteTarget,
  type ExecutionPlan,
  isHiddenToken,
  lexSparkSql,
  type OptionValue,
  type PlanPolicy,
  type PlanStep,
  pathProblem,
  REFLECTION_FUNCTIONS,
  StudioError,
} from '@sparkle-studio/core'
import type { ColumnInfo, NodePreview, PreviewError, RunnerEvent } from '../events.ts'
import type { SparkColumn, SparkRow, SparkValue } from './arrow-values.ts'
import type { SparkConnectClient, SparkExecuteOptions, SparkProgress, SparkRelation, SparkResult } from './client.ts'
import { SparkConnectError } from './errors.ts'

/** A step that failed, with the error class and rule the run reports (as the Python runner's StepError). */
export class ConnectStepError extends Error {
  /** The error class the run reports (`POLICY_PATH`, `QUALITY_CHECK_FAILED`, ...). */
  readonly errorClass: string
  /** The execution-policy rule broken, for a policy error. */
  readonly rule: string | undefined
  /** How to fix it, for a policy error. */
  readonly fix: string | undefined

  constructor(errorClass: string, message: string, rule?: string, fix?: string) {
    super(message)
    this.name = 'ConnectStepError'
    this.errorClass = errorClass
    this.rule = rule
    this.fix = fix
  }
}

const POLICY_CLASSES: Readonly<Record<string, string>> = {
  'read-roots': 'POLICY_PATH',
  'write-roots': 'POLICY_PATH',
  'jdbc-url': 'POLICY_JDBC',
  command: 'POLICY_COMMAND',
  reflection: 'POLICY_REFLECTION',
  'denied-function': 'POLICY_FUNCTION',
  'script-transformation': 'POLICY_SCRIPT_TRANSFORM',
}

const FIXES: Readonly<Record<string, string>> = {
  command:
    "a step's SQL must be a query: commands (SET, ADD JAR, CREATE FUNCTION, DDL, INSERT, EXECUTE IMMEDIATE, scripts, ...) never run; Spark configuration belongs in the document's spark.conf, data goes through sources and sinks",
  reflection:
    "remove the call: reflect, java_method and try_reflect reach the JVM and are never allowed; use Spark SQL's built-in functions",
  'denied-function': 'remove the call: the execution policy denies this function',
  'script-transformation':
    'TRANSFORM ... USING runs a program on the host and is never allowed: compute the columns in SQL',
  'read-roots': 'read inside the read roots',
}

const REFLECTION = new Set<string>(REFLECTION_FUNCTIONS)
const QUERY_START = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE'])

/**
 * A step's SQL as it is sent: checked to be one query (one statement, balanced parentheses, no variable substitution)
 * and under the policy's SQL rules, then wrapped as a subquery, in which no command (SET, ADD JAR, INSERT, DDL,
 * EXECUTE IMMEDIATE, a script) can parse: Spark runs commands in a SQL relation as soon as it reads them, so they are
 * refused before anything is sent.
 */
export function stepQuery(sql: string, policy: PlanPolicy | undefined): SparkRelation {
  const problem = checkSqlFragment(sql, { kind: 'query' })
  if (problem) {
    throw policyError('command', `the step's SQL is not one query: ${problem.message}`, FIXES['command'] as string)
  }
  const first = lexSparkSql(sql).tokens.find((t) => !isHiddenToken(t))
  if (!(first?.kind === 'symbol' ? first.text === '(' : QUERY_START.has((first?.text ?? '').toUpperCase()))) {
    throw policyError(
      'command',
      `the step's SQL starts with ${first?.text ?? 'nothing'}, not a query (SELECT, WITH, FROM, VALUES, TABLE)`,
      FIXES['command'] as string,
    )
  }
  if (policy) {
    const finding = checkSqlUnderPolicy(sql, policy)[0]
    if (finding) {
      const rule =
        finding.code === 'sql_script_transform'
          ? 'script-transformation'
          : finding.code === 'read_path_not_allowed'
            ? 'read-roots'
            : finding.code === 'sql_dynamic_function_name' || REFLECTION.has(finding.function ?? '')
              ? 'reflection'
              : 'denied-function'
      throw policyError(rule, `the step's SQL ${finding.message.split('. Fix:')[0]}`, FIXES[rule] as string)
    }
  }
  return { sql: `SELECT * FROM (\n${sql}\n) AS sparkle_step` }
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

/** A step's SQL checked before sending ({@link stepQuery}) and on the server's plan of it: the relation to send. */
async function checkedQuery(ctx: ConnectStepContext, sql: string): Promise<SparkRelation> {
  const relation = stepQuery(sql, ctx.policy)
  await checkServerPlan(ctx, relation)
  return relation
}

/** An `action` step runs only as the compiler writes it: `CACHE [LAZY] TABLE <view>`. */
function assertCacheAction(step: Extract<PlanStep, { kind: 'action' }>): void {
  if (!CACHE_ACTION.test(step.sql.trim())) {
    throw policyError(
      'command',
      'an action step may only cache a view (CACHE [LAZY] TABLE view)',
      FIXES['command'] as string,
    )
  }
}

/** Checks a relation's physical plan on the server: every file it scans inside the read roots. */
async function checkServerPlan(ctx: ConnectStepContext, relation: SparkRelation): Promise<void> {
  const policy = ctx.policy
  if (!policy) return
  const explained = await ctx.client.explain(relation, 'simple', { signal: ctx.execute.signal })
  if (/\bScriptTransformation/.test(explained)) {
    throw policyError('script-transformation', 'the step runs a script', FIXES['script-transformation'] as string)
  }
  for (const name of new Set([...REFLECTION, ...policy.deniedFunctions.map((f) => f.toLowerCase())])) {
    if (new RegExp(`(?<![\\w.])${name.replace(/[^a-z0-9_]/g, '')}\\(`, 'i').test(explained)) {
      const rule = REFLECTION.has(name) ? 'reflection' : 'denied-function'
      throw policyError(rule, `the step calls ${name} (in Spark's plan of it)`, FIXES[rule] as string)
    }
  }
  const { paths, truncated } = scannedLocations(explained)
  if (truncated) {
    throw policyError(
      'read-roots',
      "the step scans more file locations than Spark's plan lists, so they cannot all be checked",
      'read fewer folders per source, or a parent folder inside the read roots',
    )
  }
  for (const path of paths) {
    const problem = pathProblem(path, policy.readRoots, 'read') ?? linkProblem(path, policy.readRoots)
    if (problem) throw policyError('read-roots', `the step reads ${path}: ${problem}`, 'read inside the read roots')
  }
}

/**
 * A local file that is a symbolic link (or under one) to a place outside the roots. Only files this machine sees are
 * resolved: on a remote cluster's own file system links cannot be checked from here.
 */
function linkProblem(path: string, roots: readonly string[]): string | undefined {
  const local = path.startsWith('file:') ? path.replace(/^file:(\/\/localhost)?/, '') : path
  if (!local.startsWith('/')) return undefined
  let real: string
  try {
    real = realpathSync(local)
  } catch {
    return undefined
  }
  if (real === local) return undefined
  return pathProblem(real, roots, 'read') === undefined ? undefined : `it resolves to ${real}, outside the read roots`
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
    const link = step.source.path === undefined ? undefined : linkProblem(step.source.path, ctx.policy.readRoots)
    if (link) throw policyError('read-roots', `${step.source.path}: ${link}`, 'read inside the read roots')
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
  return headOf(await ctx.client.execute({ limit: { input: relation, rows: limit + 1 } }, ctx.execute), limit)
}

/** The first `limit` rows of a result fetched with one row more, and whether there were more. */
function headOf(
  result: SparkResult,
  limit: number,
): { schema: ColumnInfo[]; rows: Record<string, unknown>[]; truncated: boolean } {
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
  /**
   * The first step to run; the steps before it ran already (in this session, by another process).
   * @default 0
   */
  readonly startAt?: number | undefined
  /**
   * The operation id of each step (deterministic ids let another process re-attach to a step's operation); random
   * ones when absent.
   */
  readonly operationIdOf?: ((index: number) => string) | undefined
  /**
   * Re-attach to the first step's operation (started by a process that died) instead of sending it again; it is sent
   * when the server no longer knows it (it never started, or it finished and was released).
   */
  readonly resume?: boolean | undefined
  /** Called before each step is sent, e.g. to record in the session which step runs. */
  readonly beforeStep?: ((index: number) => Promise<void>) | undefined
  /** Called with each line worth logging (re-attachments). */
  readonly log?: ((line: string) => void) | undefined
}

/** A step as one Spark Connect operation: the checks before it, how it is sent, and what is done with its result. */
interface StepOperation {
  send(execute: SparkExecuteOptions): Promise<SparkResult>
  after?(result: SparkResult): { rows?: number } | undefined
}

function stepOperation(step: PlanStep, options: RunConnectStepsOptions): Promise<StepOperation> | StepOperation {
  const { client } = options
  const now = () => Date.now()
  switch (step.kind) {
    case 'read': {
      const relation = readRelation(options, step, step.limit)
      return { send: (execute) => client.createTempView(step.view, relation, execute) }
    }
    case 'view':
      return checkedQuery(options, step.sql).then((relation) => ({
        send: (execute: SparkExecuteOptions) => client.createTempView(step.view, relation, execute),
      }))
    case 'action':
      assertCacheAction(step)
      return { send: (execute) => client.executeCommand(step.sql, execute) }
    case 'query': {
      const limit = Math.max(0, step.limit)
      return checkedQuery(options, step.sql).then((relation) => ({
        send: (execute: SparkExecuteOptions) =>
          client.execute({ limit: { input: relation, rows: limit + 1 } }, execute),
        after: (result: SparkResult) => {
          const head = headOf(result, limit)
          options.emit({ type: 'rows', ts: now(), nodeId: step.nodeId, ...head })
          return { rows: head.rows.length }
        },
      }))
    }
    case 'check':
      return checkedQuery(options, step.sql).then((relation) => ({
        send: (execute: SparkExecuteOptions) => client.execute({ limit: { input: relation, rows: 1 } }, execute),
        after: (result: SparkResult) => {
          if (!result.schema.some((c) => c.name === 'failed_rows')) {
            throw new ConnectStepError('INVALID_PLAN', 'a check query must return a failed_rows column')
          }
          const failedRows = Number(result.rows[0]?.['failed_rows'] ?? 0)
          options.emit({
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
          return undefined
        },
      }))
    case 'write': {
      const targetOptions = checkTarget(options, step, 'fail')
      return checkedQuery(options, step.sql).then((relation) => ({
        send: (execute: SparkExecuteOptions) =>
          client.write(relation, { ...step.target, options: targetOptions }, execute),
      }))
    }
    default:
      throw new ConnectStepError('INVALID_PLAN', `unknown step kind ${JSON.stringify((step as PlanStep).kind)}`)
  }
}

/** True when the server answered that it does not know the operation (never started, released, or abandoned). */
function isUnknownOperation(error: unknown): boolean {
  return error instanceof SparkConnectError && (error.errorClass ?? '').startsWith('INVALID_HANDLE.OPERATION_')
}

/**
 * Runs a plan's steps for their effect (batch mode) in the client's session: views defined, rows and checks reported,
 * checks enforced, sinks written. Returns true when every step succeeded; a failure is emitted as a `failed` event
 * naming its node, and the remaining steps do not run. With `startAt` and `resume`, it continues a run another process
 * started: it re-attaches to that step's operation and goes on from there.
 */
export async function runConnectSteps(plan: ExecutionPlan, options: RunConnectStepsOptions): Promise<boolean> {
  const { emit, client } = options
  const now = () => Date.now()
  const startAt = options.startAt ?? 0
  for (const [index, step] of plan.steps.entries()) {
    if (index < startAt) continue
    emit({ type: 'step_started', ts: now(), nodeId: step.nodeId, index, kind: step.kind })
    const started = performance.now()
    let rows: number | undefined
    try {
      const operation = await stepOperation(step, options)
      const operationId = options.operationIdOf?.(index)
      const execute = { ...options.execute, ...(operationId === undefined ? {} : { operationId }) }
      let result: SparkResult | undefined
      if (options.resume && index === startAt && operationId !== undefined) {
        try {
          result = await client.reattach(operationId, options.execute)
          options.log?.(
            `re-attached to operation ${operationId} of step ${index} (${step.kind} of node ${step.nodeId})`,
          )
        } catch (error) {
          if (!isUnknownOperation(error)) throw error
          options.log?.(`operation ${operationId} of step ${index} is unknown to the server: sending the step`)
        }
      }
      if (result === undefined) {
        await options.beforeStep?.(index)
        result = await operation.send(execute)
      }
      rows = operation.after?.(result)?.rows
    } catch (error) {
      // A cancelled or timed-out job is not a failure of its step: the caller reports it.
      if (options.execute.signal?.aborted) throw error
      emit({ type: 'failed', ts: now(), nodeId: step.nodeId, ...stepErrorFields(error) })
      return false
    }
    // No Spark figures here (rowsIn, bytesRead, bytesWritten, taskMs, jobs), as the Python runner reads them from the
    // driver's status store: a sink runs as a WriteOperation command, whose responses carry no metrics, and the
    // execution progress reports are periodic (the last one may come before a stage is done), so they undercount.
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
          relation = await checkedQuery(options, step.sql)
          await client.createTempView(step.view, relation, options.execute)
          break
        case 'query':
          relation = await checkedQuery(options, step.sql)
          rowsShown = Math.max(0, Math.min(limit, step.limit))
          break
        case 'check':
          relation = await checkedQuery(options, step.sql)
          break
        case 'write':
          checkTarget(options, step, 'skip')
          relation = await checkedQuery(options, step.sql)
          break
        case 'action':
          assertCacheAction(step)
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

  /** The current operation has finished: its stages' tasks are all done (a failed one fails its job anyway). */
  #fold(): void {
    for (const s of this.#current.values()) {
      this.#finished.total += s.tasks
      this.#finished.completed += s.tasks
    }
    this.#current.clear()
  }

  /** The final counts, once the last operation has finished. */
  finish(): { completedTasks: number; totalTasks: number; activeStages: number[] } {
    this.#fold()
    this.#operation = ''
    return this.counts()
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
