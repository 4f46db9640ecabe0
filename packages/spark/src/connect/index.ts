// The Spark Connect client: `@sparkle-studio/spark/connect`.
export type { SparkColumn, SparkRow, SparkValue } from './arrow-values.ts'
export { sparkTypeName } from './arrow-values.ts'
export type {
  SparkBatch,
  SparkConnectClientOptions,
  SparkConnectRetryOptions,
  SparkExecuteOptions,
  SparkExplainMode,
  SparkInterruptTarget,
  SparkProgress,
  SparkReadSource,
  SparkRelation,
  SparkResult,
  SparkStageProgress,
  SparkWriteTarget,
} from './client.ts'
export { SparkConnectClient } from './client.ts'
export type { ConnectionStringRule } from './connection-string.ts'
export {
  ConnectionString,
  DEFAULT_SPARK_CONNECT_PORT,
  isLoopbackHost,
  MAX_USER_AGENT_LENGTH,
  parseConnectionString,
} from './connection-string.ts'
export type { SparkConnectErrorInfo } from './errors.ts'
export { SparkConnectError } from './errors.ts'
export type { ConnectStepContext, PreviewConnectPlanOptions, RunConnectStepsOptions } from './plan-runner.ts'
export { ConnectStepError, previewConnectPlan, runConnectSteps, scannedLocations } from './plan-runner.ts'
export type { ConnectPreviewSessionOptions } from './preview.ts'
export { ConnectPreviewSession } from './preview.ts'
export type { SparkConnectServer, SparkConnectServerOptions } from './server.ts'
export { SPARK_CONNECT_SERVER_CLASS, SPARK_CONNECT_TOKEN_ENV, startSparkConnectServer } from './server.ts'
export type { SparkConnectSubmitterOptions } from './submitter.ts'
export { SparkConnectSubmitter, stepOperationId } from './submitter.ts'
