// The reference worker process. Configured like the server (same environment variables); with PostgreSQL
// (DATABASE_URL) run as many as you like, on as many machines as share the repository and Spark.
//
//   DATABASE_URL=postgres://… SPARKLE_DATA_DIR=/srv/sparkle node src/main.ts
//
// Without Spark it starts anyway, warns once with the fix, and claims nothing until Spark is found (runs stay queued).
//
// SIGTERM or SIGINT: stop claiming, let running runs finish (up to SPARKLE_SHUTDOWN_MS, default 60 s), release the
// rest so another worker re-attaches to them. A second signal exits at once.
import { handleShutdownSignals } from '@sparkle-studio/runs'
import { createLogger, createStudio, createStudioWorker, loadServerConfig, studioOptions } from '@sparkle-studio/server'

const config = loadServerConfig(process.env)
const log = createLogger({
  level: config.logLevel,
  secrets: Object.values(config.secrets),
  fields: { process: 'worker' },
})
if (!config.databaseUrl) {
  log.warn(
    'no DATABASE_URL: this worker uses the embedded database in SPARKLE_DATA_DIR, which only one process may open',
  )
}
const studio = await createStudio({ ...studioOptions(config), logger: log })
const worker = await createStudioWorker(studio, {
  concurrency: config.workerConcurrency,
  ...(process.env['SPARKLE_HEALTH_FILE'] ? { healthFile: process.env['SPARKLE_HEALTH_FILE'] } : {}),
})
handleShutdownSignals(worker, {
  timeoutMs: Number(process.env['SPARKLE_SHUTDOWN_MS'] ?? 60_000),
  onStopped: () => studio.close(),
})
await worker.start()
log.info('worker started', { database: studio.database.dialect, repo: config.repoDir, master: config.sparkMaster })
