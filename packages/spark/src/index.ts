export type { ColumnInfo, RunnerEvent } from './events.ts'
export { parseRunnerEvents } from './events.ts'
export type { NodeRows, PlanRunResult, RunPlanOptions } from './run-plan.ts'
export { runPlan } from './run-plan.ts'
export type { FindSparkRuntimeOptions, SparkRuntime, SparkRuntimeSource } from './runtime.ts'
export { findSparkRuntime, MIN_JAVA_MAJOR, parseJavaVersion, runnerScriptPath } from './runtime.ts'
export type {
  JobError,
  JobProgress,
  JobState,
  JobStatus,
  LogChunk,
  Submission,
  SubmitRequest,
  Submitter,
  WaitOptions,
} from './submitter.ts'
