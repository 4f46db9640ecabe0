export type {
  AfterResponseHook,
  AfterResponseState,
  BeforeRequestHook,
  BeforeRequestState,
  CallOptions,
  ClientMethod,
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
export type { RouteTable } from './route-table.ts'
export { routeTable } from './route-table.ts'
export type { ServerSentEvent, StreamEventsOptions } from './sse.ts'
export { parseSse, streamEvents } from './sse.ts'
