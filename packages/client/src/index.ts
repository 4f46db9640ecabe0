export type {
  AfterResponseHook,
  AfterResponseState,
  BeforeRequestHook,
  BeforeRequestState,
  CallOptions,
  ClientMethod,
  DownloadMethod,
  StreamMethod,
  StreamOptions,
  StudioClient,
  StudioClientHooks,
  StudioClientOptions,
  StudioToken,
  UploadMethod,
} from './client.ts'
export { createStudioClient } from './client.ts'
export type { ToApiErrorOptions } from './errors.ts'
export {
  ApiAuthError,
  ApiConflictError,
  ApiError,
  ApiNetworkError,
  ApiNotFoundError,
  ApiRateLimitError,
  ApiValidationError,
  isApiError,
  parseRetryAfter,
  toApiError,
} from './errors.ts'
export type { UploadBody, UploadOptions, UploadProgress } from './files.ts'
export type { ServerSentEvent, StreamEventsOptions } from './sse.ts'
export { parseSse, runStreamEvents, streamEvents } from './sse.ts'
