export type { DatabaseConfig, StoreDatabase } from './database.ts'
export { openDatabase, redactUrl } from './database.ts'
export { migrateToLatest } from './migrations.ts'
export type { RunEventsTable, RunsTable, StoreSchema } from './schema.ts'
