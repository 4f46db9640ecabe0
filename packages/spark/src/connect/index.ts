// The Spark Connect client: `@sparkle-studio/spark/connect`.
export type { SparkColumn, SparkRow, SparkValue } from './arrow-values.ts'
export { sparkTypeName } from './arrow-values.ts'
export type {
  SparkBatch,
  SparkConnectClientOptions,
  SparkConnectRetryOptions,
  SparkExecuteOptions,
  SparkInterruptTarget,
  SparkProgress,
  SparkResult,
  SparkStageProgress,
} from './client.ts'
export { SparkConnectClient } from './client.ts'
export type { SparkConnectErrorInfo } from './errors.ts'
export { SparkConnectError } from './errors.ts'
