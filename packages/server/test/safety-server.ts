// A studio served by node:http in a process of its own, for the test of rate limits shared over PostgreSQL:
// `node --conditions=@sparkle-studio/source safety-server.ts` with DATABASE_URL, SPARKLE_DATA_DIR, LIMIT and
// WINDOW_S set; prints {"port": …} on its first line of stdout once it listens, and stops on SIGTERM.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLogger, createStudio, studioNodeHandler } from '../src/index.ts'
import { testPrincipal } from './safety-http.ts'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is required`)
  return value
}
const databaseUrl = env('DATABASE_URL')
const studio = await createStudio({
  dataDir: env('SPARKLE_DATA_DIR'),
  databaseUrl,
  logger: createLogger({ level: 'warn' }),
  authenticate: (req) => testPrincipal((h) => req.header(h)),
})
const server = createServer(
  studioNodeHandler(studio, {
    rateLimit: {
      requests: Number(env('LIMIT')),
      windowS: Number(env('WINDOW_S')),
      // This test is about sharing: on a loaded CI machine the store may answer slower than the 2 s default.
      store: { postgresUrl: databaseUrl, timeoutMs: 30_000 },
    },
  }),
)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.once('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  void studio.close().then(() => process.exit(0))
})
