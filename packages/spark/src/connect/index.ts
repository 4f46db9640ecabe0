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
export type { SparkConnectServer, SparkConnectServerOptions } from './server.ts'
export { SPARK_CONNECT_SERVER_CLASS, SPARK_CONNECT_TOKEN_ENV, startSparkConnectServer } from './server.ts'
