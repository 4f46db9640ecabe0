// The Express 5 app: JSON body limit, CORS, request ids and logs, the API, OpenAPI and the docs page.
import { StudioError } from '@sparkle-studio/core'
import { generateOpenApi } from '@sparkle-studio/core/contract'
import express, { type Express, type RequestHandler } from 'express'
import swaggerUi from 'swagger-ui-dist'
import { errorHandler, requestContext } from './http.ts'
import { apiRouter } from './routes.ts'
import type { Services } from './services.ts'

function cors(origins: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin')
    if (origin && (origins.includes('*') || origins.includes(origin))) {
      res.setHeader('access-control-allow-origin', origins.includes('*') ? '*' : origin)
      res.setHeader('vary', 'Origin')
      res.setHeader('access-control-expose-headers', 'x-request-id')
      if (req.method === 'OPTIONS') {
        res.setHeader('access-control-allow-methods', 'GET,POST,PUT,DELETE')
        res.setHeader(
          'access-control-allow-headers',
          req.get('access-control-request-headers') ?? 'content-type,authorization,if-match',
        )
        res.setHeader('access-control-max-age', '600')
        res.status(204).end()
        return
      }
    }
    next()
  }
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sparkle Studio API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`

/** Builds the app. */
export function createApp(services: Services): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('query parser', 'simple')
  app.use(requestContext(services.log))
  app.use(cors(services.config.corsOrigins))
  app.use(
    express.json({ limit: services.config.bodyLimit, strict: true, type: ['application/json', 'application/*+json'] }),
  )
  const spec = generateOpenApi({ servers: [`http://${services.config.host}:${services.config.port}`] })
  app.get('/openapi.json', (_req, res) => {
    res.json(spec)
  })
  app.use('/docs/assets', express.static(swaggerUi.getAbsoluteFSPath(), { index: false, maxAge: '1h' }))
  app.get('/docs/init.js', (_req, res) => {
    res
      .type('application/javascript')
      .send(`window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true })`)
  })
  app.get(['/docs', '/docs/'], (_req, res) => {
    res.type('html').send(DOCS_PAGE)
  })
  app.use('/api/v1', apiRouter(services))
  app.use((req, _res, next) => next(new StudioError('NOT_FOUND', `No route ${req.method} ${req.path}`)))
  app.use(errorHandler())
  return app
}
