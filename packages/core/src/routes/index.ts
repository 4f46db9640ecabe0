// The zod-free part of the API: routes, roles, paths, the run event stream and the errors. A browser client imports
// this entry only; everything here must stay free of zod (a test bundles it and checks).
export type { ErrorCode, StudioErrorOptions } from '../errors.ts'
export { errorStatus, hasErrorCode, isStudioError, StudioError } from '../errors.ts'
export type { ValidationIssue } from '../validation-issue.ts'
export { ValidationError } from '../validation-issue.ts'
export type { HttpMethod, PathParamNames, PathParams, Role, RouteInfo } from './route-info.ts'
export { API_BASE_PATH, buildPath, isIdempotent, ROLES } from './route-info.ts'
export type { RouteName, Routes } from './routes.ts'
export { ROUTE_NAMES, routes } from './routes.ts'
export type {
  FinalRunStatus,
  RunEndData,
  RunError,
  RunEventData,
  RunLogPayload,
  RunStatus,
  RunStatusPayload,
  RunStreamEvent,
  RunStreamEventMap,
  RunStreamEventName,
  StoredRunEvent,
} from './run-events.ts'
export {
  formatRunStreamEvent,
  isFinalRunStatus,
  RUN_STATUSES,
  RUN_STREAM_EVENT_NAMES,
  toRunStreamEvent,
} from './run-events.ts'
export type { WebhookEventType } from './webhooks.ts'
export { WEBHOOK_EVENT_TYPES, WEBHOOK_URL_MAX_LENGTH, webhookUrlProblem } from './webhooks.ts'
