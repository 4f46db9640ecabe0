// The execution policy as the server applies it: its default over the data folder, what it adds to every compile,
// the time limit every run gets, and the rules a save is held to.
import { join } from 'node:path'
import {
  type CompileOptions,
  checkSparkConf,
  defaultExecutionPolicy,
  type ExecutionPolicy,
  hasErrorCode,
  type ValidationIssue,
} from '@sparkle-studio/core'
import { checkScheduleInterval } from '@sparkle-studio/runs'

/**
 * The policy of a studio that sets none: reads from `<dataDir>/sample` and `<dataDir>/output`, writes to
 * `<dataDir>/output` (where the sample templates read and write), and core's defaults for everything else.
 */
export function studioDefaultPolicy(dataDir: string): ExecutionPolicy {
  return defaultExecutionPolicy({
    readRoots: [join(dataDir, 'sample'), join(dataDir, 'output')],
    writeRoots: [join(dataDir, 'output')],
  })
}

/**
 * A frozen copy of a policy (its lists and rules too), so that a host changing the object it passed changes nothing
 * in a running studio.
 */
export function frozenPolicy(policy: ExecutionPolicy): ExecutionPolicy {
  const rules = Object.entries(policy.sparkConf).map(([key, rule]) => {
    const copy = rule.kind === 'enum' ? { ...rule, values: Object.freeze([...rule.values]) } : { ...rule }
    return [key, Object.freeze(copy)] as const
  })
  return Object.freeze({
    ...policy,
    sparkConf: Object.freeze(Object.fromEntries(rules)),
    readRoots: Object.freeze([...policy.readRoots]),
    writeRoots: Object.freeze([...policy.writeRoots]),
    jdbcUrlPatterns: Object.freeze([...policy.jdbcUrlPatterns]),
    deniedFunctions: Object.freeze([...policy.deniedFunctions]),
  })
}

/** The time limit of a run under the policy: its default run time, never above its maximum. */
export function runTimeLimitMs(policy: Pick<ExecutionPolicy, 'defaultRunTimeMs' | 'maxRunTimeMs'>): number {
  return Math.min(policy.defaultRunTimeMs, policy.maxRunTimeMs)
}

/**
 * What every compile of the server adds to its options so that the plan is checked against the policy and carries
 * it to the driver: the one place the server hands the policy to core's compiler.
 */
export function underPolicy(policy: ExecutionPolicy): Partial<CompileOptions> {
  return { policy }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * The issues of a document the policy refuses even in a draft: a `spark.conf` outside the policy, and a schedule more
 * frequent than it allows. Paths are not checked here (they may depend on params): compiles check them. Parts of the
 * document that are not of the right shape are left to validation.
 */
export function savePolicyIssues(document: unknown, policy: ExecutionPolicy): ValidationIssue[] {
  if (!isRecord(document)) return []
  const issues: ValidationIssue[] = []
  const spark = document['spark']
  const conf = isRecord(spark) ? spark['conf'] : undefined
  if (isRecord(conf) && Object.values(conf).every((v) => typeof v === 'string')) {
    issues.push(...checkSparkConf(conf as Record<string, string>, policy))
  }
  const schedule = document['schedule']
  if (isRecord(schedule) && typeof schedule['cron'] === 'string') {
    const timezone = typeof schedule['timezone'] === 'string' ? schedule['timezone'] : 'UTC'
    issues.push(...scheduleIssues(schedule['cron'], timezone, policy.minScheduleIntervalMinutes))
  }
  return issues
}

/**
 * The issues of a schedule that can run more often than every `minIntervalMinutes` minutes (runs' rule, daylight-saving
 * changes included), or whose cron or time zone is invalid, at `/schedule/...`.
 */
function scheduleIssues(cron: string, timezone: string, minIntervalMinutes: number): ValidationIssue[] {
  return checkScheduleInterval(cron, timezone, minIntervalMinutes).map((issue) => ({
    ...issue,
    path: `/schedule${issue.path}`,
  }))
}

/**
 * The issues of a compile that failed validation, or `undefined` for any other error (to be thrown again): how a
 * validation route reports what a compile under the policy refuses.
 */
export function compileIssues(error: unknown): ValidationIssue[] | undefined {
  if (!hasErrorCode(error, 'VALIDATION_FAILED')) return undefined
  const issues = (error as { issues?: unknown }).issues
  return Array.isArray(issues) ? (issues as ValidationIssue[]) : undefined
}
