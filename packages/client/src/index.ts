export type {
  AfterResponseHook,
  AfterResponseState,
  BeforeRequestHook,
  BeforeRequestState,
  CallOptions,
  ClientMethod,
  StreamMethod,
  StreamOptions,
  StudioClient,
  StudioClientHooks,
  StudioClientOptions,
} from './client.ts'
export { createStudioClient } from './client.ts'
export {
  ApiAuthError,
  ApiConflictError,
  ApiError,
  ApiNetworkError,
  ApiNotFoundError,
  ApiValidationError,
  isApiError,
  toApiError,
} from './errors.ts'
export type { ServerSentEvent, StreamEventsOptions } from './sse.ts'
export { parseSse, runStreamEvents, streamEvents } from './sse.ts'
