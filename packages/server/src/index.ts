// @sparkle-studio/server: the API as a library. createStudio opens the parts and gives the use cases; the adapters
// mount the contract on Express, node:http and fetch; createStudioWorker runs the studio's queue on Spark.
// Held back on purpose: the route matcher and the use-case factories (use studio.api).

export { artifactDto } from './api/artifacts.ts'
export type { StreamMessage } from './api/run-events.ts'
export type { StreamRouteName, StudioApi, UseCase } from './api/types.ts'
export type { ContentCheck, ContentCheckOptions, ContentFacts } from './artifacts/content-check.ts'
export { createContentCheck } from './artifacts/content-check.ts'
export type {
  ArtifactColumn,
  ArtifactFormat,
  ArtifactInspectionResult,
  ArtifactQuery,
  ArtifactRecord,
  NewArtifact,
} from './artifacts/records.ts'
export { ArtifactRecords } from './artifacts/records.ts'
export type { S3ArtifactStorageOptions } from './artifacts/s3-storage.ts'
export { S3ArtifactStorage } from './artifacts/s3-storage.ts'
export type {
  ArtifactContent,
  ArtifactDownload,
  ArtifactServiceOptions,
  ArtifactUploadOptions,
} from './artifacts/service.ts'
export { ARTIFACT_SAMPLE_ROWS, ArtifactService, parseRange } from './artifacts/service.ts'
export type { ArtifactStorage, StagedObject } from './artifacts/storage.ts'
export { LocalArtifactStorage } from './artifacts/storage.ts'
export type { AuditEntry, AuditQuery, AuditRecord } from './auth/audit.ts'
export { AuditLog } from './auth/audit.ts'
export { bearerToken } from './auth/authenticate.ts'
export { ADMIN_KEY_FILE } from './auth/bootstrap.ts'
export type { JwtAlgorithm, JwtAuthenticatorOptions, JwtRejectReason } from './auth/jwt.ts'
export { createJwtAuthenticator } from './auth/jwt.ts'
export type { ApiKey, NewApiKey } from './auth/keys.ts'
export { ApiKeys, hashSecret } from './auth/keys.ts'
export type { OpenedApiKeys } from './auth/open-keys.ts'
export { openApiKeys } from './auth/open-keys.ts'
export type {
  ApiKeysTable,
  ApiSchema,
  ArtifactsTable,
  AuditLogTable,
  WebhookCursorTable,
  WebhookDeliveriesTable,
  WebhooksTable,
} from './auth/tables.ts'
export { migrateApiTables } from './auth/tables.ts'
export type { ServerConfig } from './env.ts'
export { handlerOptions, loadServerConfig, pullRequestProvider, studioOptions } from './env.ts'
export type { ExpressLikeMiddleware, ExpressLikeRequest } from './http/express.ts'
export { studioRouter } from './http/express.ts'
export type { FetchHandlerOptions, FetchRequestContext } from './http/fetch.ts'
export { studioFetchHandler } from './http/fetch.ts'
export type { HandlerOptions, RequestBody, StudioHandler, StudioRequest, StudioResponse } from './http/handler.ts'
export { createStudioHandler } from './http/handler.ts'
export type { NodeHandlerOptions } from './http/node.ts'
export { answerClientErrors, studioNodeHandler } from './http/node.ts'
export type { PostgresRateLimitStore, RateLimitOptions, SafetyOptions } from './http/safety.ts'
export type { RawRouteInput, RouteCallInput } from './input.ts'
export type {
  OpenLineageEmitterParts,
  OpenLineageFetch,
  OpenLineageOptions,
  OpenLineageTransportOptions,
} from './lineage/index.ts'
export {
  DEFAULT_OPENLINEAGE_NAMESPACE,
  DEFAULT_OPENLINEAGE_PRODUCER,
  OpenLineageEmitter,
  OpenLineageHttpTransport,
  openLineageAttemptRunId,
  openLineageBackfillRunId,
  openLineageSubmitter,
} from './lineage/index.ts'
export type { Logger, LogLevel } from './logger.ts'
export { createLogger, redact } from './logger.ts'
export type { MetricsHandlerOptions } from './metrics/metrics-handler.ts'
export { studioMetricsHandler } from './metrics/metrics-handler.ts'
export type { MetricsOptions, PreviewOutcome, StudioMetrics } from './metrics/studio-metrics.ts'
export type { StudioParts } from './parts.ts'
export type { Authenticate, AuthRequest, Call, Principal } from './principal.ts'
export { authorOf, hasRole, ROLES } from './principal.ts'
export type { ArtifactsOptions, AuthenticationOptions, Studio, StudioOptions } from './studio.ts'
export { createStudio, DEFAULT_ARTIFACT_MAX_BYTES } from './studio.ts'
export type { SubmitterConfig } from './submitter.ts'
export { createSubmitter } from './submitter.ts'
export type { PipelineTemplate } from './templates.ts'
export { ensureSampleData, pipelineTemplates, SAMPLE_DAYS, sampleOrders, sampleTemplates } from './templates.ts'
export type { WebhookFetch } from './webhooks/delivery.ts'
export type { AttemptResult, Webhook, WebhookDelivery, WebhookDeliveryStatus } from './webhooks/records.ts'
export type {
  PipelineEventData,
  WebhookDispatchOptions,
  WebhookServiceOptions,
} from './webhooks/service.ts'
export { DEFAULT_WEBHOOK_RETRY_DELAYS_MS, WebhookService } from './webhooks/service.ts'
export { newWebhookSecret, WEBHOOK_SECRET_PREFIX, webhookHeaders, webhookSignature } from './webhooks/signature.ts'
export type { StudioWorkerOptions } from './worker.ts'
export { createStudioWorker, listStudioSchedules } from './worker.ts'
