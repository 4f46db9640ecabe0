// Starts the server: configuration from the environment, services, HTTP, graceful shutdown on SIGTERM/SIGINT.
import type { Server } from 'node:http'
import { createApp } from './app.ts'
import { loadConfig } from './config.ts'
import { createLogger } from './logger.ts'
import { createServices } from './services.ts'
import { createWorker } from './worker.ts'

/** A running server and how to stop it. */
export interface RunningServer {
  readonly url: string
  readonly server: Server
  stop(): Promise<void>
}

/** Starts the server from an environment (tests pass their own). */
export async function startServer(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningServer> {
  const config = loadConfig(env)
  const log = createLogger({ level: config.logLevel, secrets: Object.values(config.secrets) })
  const services = await createServices(config, log)
  const app = createApp(services)
  const worker =
    config.worker === 'embedded' ? await createWorker(services, { concurrency: config.workerConcurrency }) : undefined
  await worker?.start()
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s))
    s.once('error', reject)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host}:${port}`
  log.info('server listening', {
    url,
    docs: `${url}/docs`,
    repo: config.repoDir,
    database: services.database.dialect,
    worker: config.worker,
  })
  let stopping: Promise<void> | undefined
  return {
    url,
    server,
    stop() {
      stopping ??= (async () => {
        log.info('shutting down')
        server.closeIdleConnections()
        const closed = new Promise<void>((r) => server.close(() => r()))
        // Streams (SSE) and slow requests get 10 s to finish.
        const timer = setTimeout(() => server.closeAllConnections(), 10_000)
        await closed
        clearTimeout(timer)
        // In-flight runs get 30 s to finish; the rest are released for another worker to re-attach.
        await worker?.stop({ timeoutMs: 30_000 })
        await services.close()
      })()
      return stopping
    },
  }
}

if (import.meta.main) {
  const running = await startServer()
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    })
  }
}
