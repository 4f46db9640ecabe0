export type { ErrorCode, StudioErrorOptions } from './errors.ts'
export { errorStatus, hasErrorCode, isStudioError, StudioError } from './errors.ts'
export type { ExecutionPlan, PlanStep, WriteTarget } from './plan.ts'
export { SDK_VERSION } from './version.ts'
