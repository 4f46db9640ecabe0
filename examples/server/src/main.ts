// The example server: configuration from the environment, the studio mounted on Express 5 in one line, OpenAPI 3.1
// and a docs page beside it, an embedded worker, and a graceful shutdown on SIGTERM/SIGINT.
import type { Server } from 'node:http'
import { generateOpenApi } from '@sparkle-studio/core/contract'
import {
  answerClientErrors,
  createLogger,
  createStudio,
  createStudioWorker,
  handlerOptions,
  loadServerConfig,
  studioMetricsHandler,
  studioOptions,
  studioRouter,
} from '@sparkle-studio/server'
import express from 'express'
import helmet from 'helmet'
import swaggerUi from 'swagger-ui-dist'
import { openLineageFromEnv } from './openlineage.ts'

/** A running server and how to stop it. */
export interface RunningServer {
  readonly url: string
  readonly server: Server
  stop(): Promise<void>
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sparkle Studio API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`

/** Starts the server from an environment (tests pass their own). */
export async function startServer(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningServer> {
  const config = loadServerConfig(env)
  const openLineage = openLineageFromEnv(env)
  const log = createLogger({
    level: config.logLevel,
    secrets: [...Object.values(config.secrets), ...(openLineage?.apiKey ? [openLineage.apiKey] : [])],
  })
  const studio = await createStudio({
    ...studioOptions(config),
    logger: log,
    metrics: { processMetrics: true },
    ...(openLineage ? { openLineage } : {}),
  })
  const worker =
    config.worker === 'embedded'
      ? await createStudioWorker(studio, { concurrency: config.workerConcurrency })
      : undefined
  await worker?.start()

  const app = express()
  app.disable('x-powered-by')
  // The API sets its own entity tags (a pipeline's blob id); Express's body hash would name no version the API knows.
  app.set('etag', false)
  app.use('/api/v1', studioRouter(studio, handlerOptions(config)))
  // Prometheus metrics, never anonymous: SPARKLE_METRICS_TOKEN (when set) or any API key or JWT as the bearer token.
  app.all('/metrics', studioMetricsHandler(studio, { token: config.metricsToken }))
  // The docs page and the OpenAPI document are public (they describe the API, they hold no data), with a CSP that
  // lets only the page's own assets run.
  app.use(
    ['/docs', '/openapi.json'],
    helmet({
      contentSecurityPolicy: {
        directives: {
          'style-src': ["'self'", "'unsafe-inline'"],
          'font-src': ["'self'", 'data:'],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'frame-ancestors': ["'none'"],
          'upgrade-insecure-requests': null,
        },
      },
      xFrameOptions: { action: 'deny' },
      strictTransportSecurity: false,
    }),
  )
  // Generated once the server listens, so that its URL names the port it got (PORT=0 picks a free one).
  let spec: Record<string, unknown> | undefined
  app.get('/openapi.json', (_req, res) => {
    res.json(spec)
  })
  app.use('/docs/assets', express.static(swaggerUi.getAbsoluteFSPath(), { index: false, maxAge: '1h' }))
  app.get('/docs/init.js', (_req, res) => {
    res
      .type('application/javascript')
      .send(`window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', validatorUrl: null })`)
  })
  app.get(['/docs', '/docs/'], (_req, res) => {
    res.type('html').send(DOCS_PAGE)
  })
  // The document and the docs page are read-only: another method on them is a 405 that says which ones work.
  app.all(['/openapi.json', '/docs', '/docs/', '/docs/init.js'], (req, res) => {
    res
      .status(405)
      .set('allow', 'GET, HEAD')
      .json({
        success: false,
        error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${req.path}` },
      })
  })
  app.use((req, res) => {
    res
      .status(404)
      .json({ success: false, error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.path}` } })
  })

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s))
    s.once('error', reject)
  })
  // A URL or headers past Node's limit get the API's error envelope (431), not Node's empty answer.
  answerClientErrors(server)
  const address = server.address()
  const url = `http://${config.host}:${typeof address === 'object' && address ? address.port : config.port}`
  spec = generateOpenApi({ servers: [url] })
  log.info('server listening', { url, docs: `${url}/docs`, repo: config.repoDir, worker: config.worker })
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
        await studio.close()
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
