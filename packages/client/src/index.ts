export type { HealthReport, StudioClient, StudioClientOptions } from './client.ts'
export { ApiError, createStudioClient } from './client.ts'
