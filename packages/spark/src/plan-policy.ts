// What this package enforces on a plan before a driver gets it (the driver checks the rest on Spark's own plans): the
// Spark configuration a pipeline's document may set, and the policy the driver enforces.
import {
  checkSparkConf,
  type ExecutionPlan,
  type ExecutionPolicy,
  type PlanPolicy,
  ValidationError,
  type ValidationIssue,
} from '@sparkle-studio/core'

/**
 * Spark configuration a pipeline's document (`plan.conf`) may never set, with or without an execution policy: how the
 * driver, executors and Python workers start (JVM options, class paths, environments, programs) and settings that name
 * code, files or programs to load or places to write. The operator's own configuration (the `conf` option of
 * submitters and of the preview session, a request's `conf`) is not limited by it.
 */
export const REFUSED_PLAN_CONF: readonly RegExp[] = Object.freeze([
  // JVM and launch options: `-XX:OnOutOfMemoryError=...` runs a shell command, a class path loads code.
  /^spark\.(driver|executor|yarn\.am)\.(extraJavaOptions|defaultJavaOptions|extraClassPath|extraLibraryPath|userClassPathFirst)$/i,
  /^spark\.(master|submit\..*|deploy\..*|jars(\..*)?|files|archives|pyFiles|executorEnv\..*|yarn\..*|kubernetes\..*)$/i,
  /^spark\.(pyspark|python|r)\./i,
  // Code named by class (plugins, listeners, extensions, catalogs, file systems, serializers, ...) or by script.
  /^spark\.(plugins|extraListeners|sql\.extensions|sql\.queryExecutionListeners|sql\.streaming\.streamingQueryListeners)$/i,
  /^spark\.(sql\.catalog\..*|sql\.catalogImplementation|sql\.hive\..*|hadoop\..*|connect\..*)$/i,
  /(class|classes|impl|registrator|manager|provider|plugins?|discoveryScript)$/i,
  // Where the driver writes or listens outside the job: logs, metrics, scratch space, the warehouse, the UI.
  /^spark\.(eventLog\..*|metrics\..*|local\.dir|sql\.warehouse\.dir|ui\..*|driver\.(host|bindAddress|port)|blockManager\..*|authenticate.*|ssl\..*|network\.crypto\..*|redaction\..*|log\..*)$/i,
  // SQL variable substitution (`${env:NAME}`): the runner turns it off and a document cannot turn it on.
  /^spark\.sql\.variable\.substitute$/i,
])

/** True when a document may never set Spark configuration `key` ({@link REFUSED_PLAN_CONF}). */
export function isRefusedPlanConf(key: string): boolean {
  return REFUSED_PLAN_CONF.some((pattern) => pattern.test(key))
}

/**
 * The issues of a plan's Spark configuration: keys no document may set ({@link REFUSED_PLAN_CONF}) and, under a policy,
 * keys or values the policy does not allow (core's `checkSparkConf`).
 */
export function planConfIssues(plan: ExecutionPlan, policy?: Pick<ExecutionPolicy, 'sparkConf'>): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  for (const key of Object.keys(plan.conf ?? {})) {
    if (isRefusedPlanConf(key)) {
      issues.push({
        path: `/spark/conf/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
        code: 'conf_not_allowed',
        message: `Spark configuration "${key}" decides how the driver starts or what code it loads: a pipeline may not set it. Fix: remove it from the document's spark.conf; an operator sets it in the server's configuration`,
      })
    }
  }
  if (policy) {
    const reported = new Set(issues.map((i) => i.path))
    for (const issue of checkSparkConf(plan.conf, policy)) if (!reported.has(issue.path)) issues.push(issue)
  }
  return issues
}

/**
 * Refuses a plan whose Spark configuration a pipeline may not set ({@link planConfIssues}).
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} (`VALIDATION_FAILED`) with the issues.
 */
export function assertPlanConfAllowed(plan: ExecutionPlan, policy?: Pick<ExecutionPolicy, 'sparkConf'>): void {
  const issues = planConfIssues(plan, policy)
  if (issues.length > 0) {
    throw new ValidationError(
      `pipeline ${plan.pipeline}: its Spark configuration is not allowed: ${issues.map((i) => i.message).join('; ')}`,
      issues,
    )
  }
}

/**
 * The plan as a driver gets it: with `policy`, the part of it the driver enforces replaces the plan's own (the
 * operator's policy where the plan is launched wins over what came with the plan); without, the plan as it is.
 */
export function planForDriver(plan: ExecutionPlan, policy?: ExecutionPolicy): ExecutionPlan {
  if (!policy) return plan
  const enforced: PlanPolicy = {
    readRoots: [...policy.readRoots],
    writeRoots: [...policy.writeRoots],
    deniedFunctions: [...policy.deniedFunctions],
    jdbcUrlPatterns: [...policy.jdbcUrlPatterns],
  }
  return { ...plan, policy: enforced }
}
