export type { ColumnInfo, PolicyErrorClass, RunnerEvent } from './events.ts'
export { isPolicyErrorClass, POLICY_ERROR_CLASSES, parseRunnerEvents } from './events.ts'
export { isFinalState } from './job-state.ts'
export type { LocalSubmitterOptions } from './local-submitter.ts'
export { LocalSubmitter } from './local-submitter.ts'
export {
  assertPlanConfAllowed,
  isRefusedPlanConf,
  planConfIssues,
  planForDriver,
  REFUSED_PLAN_CONF,
} from './plan-policy.ts'
export type {
  NodePreview,
  PreviewError,
  Previewer,
  PreviewOptions,
  PreviewResult,
  PreviewSessionInfo,
  PreviewSessionOptions,
} from './preview-session.ts'
export { DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS, PreviewSession } from './preview-session.ts'
export type {
  ExecutedRun,
  ExecutionAbortCause,
  ExecutionUsage,
  RunExecutionContext,
  RunExecutionOutcome,
  RunFailure,
  SparkRunExecutorOptions,
} from './run-executor.ts'
export { SparkRunExecutor } from './run-executor.ts'
export type { NodeRows, PlanRunResult, RunPlanOptions } from './run-plan.ts'
export { runPlan } from './run-plan.ts'
export { DRIVER_ENV_NAMES, driverEnvironment } from './runner-launch.ts'
export type { FindSparkRuntimeOptions, SparkRuntime, SparkRuntimeSource } from './runtime.ts'
export {
  findSparkRuntime,
  MIN_JAVA_MAJOR,
  PYSPARK_VERSION,
  parseJavaVersion,
  runnerScriptPath,
  supervisorScriptPath,
} from './runtime.ts'
export {
  REDACTED,
  redactSecrets,
  referencedSecrets,
  SECRET_ENV_PREFIX,
  secretsForPlan,
  splitSecretEnv,
} from './secrets.ts'
export type { FetchLike, FetchProgressOptions, FetchResponseLike } from './spark-rest.ts'
export { fetchProgress } from './spark-rest.ts'
export type { SparkSubmitOptions, SparkSubmitSubmitterOptions } from './spark-submit-submitter.ts'
export { SparkSubmitSubmitter } from './spark-submit-submitter.ts'
export type { StandaloneCluster, StandaloneClusterOptions } from './standalone-cluster.ts'
export { startStandaloneCluster } from './standalone-cluster.ts'
export type { StandaloneSubmitterOptions } from './standalone-submitter.ts'
export { StandaloneSubmitter } from './standalone-submitter.ts'
export type {
  JobError,
  JobExit,
  JobProgress,
  JobState,
  JobStatus,
  LogChunk,
  Submission,
  SubmitRequest,
  Submitter,
  WaitOptions,
} from './submitter.ts'
