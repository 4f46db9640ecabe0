export type { ErrorCode, StudioErrorOptions } from './errors.ts'
export { errorStatus, hasErrorCode, isStudioError, StudioError } from './errors.ts'
export type { ExecutionPlan, PlanStep, WriteTarget } from './plan.ts'
export type { ValidationIssue } from './validation-issue.ts'
export {
  isValidPipelineName,
  MAX_PIPELINE_NAME_LENGTH,
  PIPELINE_NAME_PATTERN,
  ValidationError,
} from './validation-issue.ts'
export { SDK_VERSION } from './version.ts'
