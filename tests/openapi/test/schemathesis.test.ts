// schemathesis against the live example server on loopback: every check, every operation, from the document the
// server serves at /openapi.json, with Spark for the previews. Nothing may fail.
import { execFile } from 'node:child_process'
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { access, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../../../examples/server/src/main.ts'

const here = dirname(fileURLToPath(import.meta.url))
const CONFIG = join(here, '..', 'schemathesis.toml')
const ISSUER = 'https://issuer.sparkle.invalid'
const AUDIENCE = 'sparkle-studio'

/** The schemathesis CLI: `SPARKLE_SCHEMATHESIS` (set by `./sparkle test`), else the one `./sparkle` installs. */
async function schemathesisBinary(): Promise<string> {
  const path =
    process.env['SPARKLE_SCHEMATHESIS'] ?? join(here, '..', '..', '..', '.tools/schemathesis-venv/bin/schemathesis')
  try {
    await access(path)
  } catch {
    throw new Error(
      `schemathesis is not installed at ${path}: run ./sparkle test (it installs schemathesis 4.32.5), or set SPARKLE_SCHEMATHESIS`,
    )
  }
  return path
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')

/** An RS256 JWT the server trusts, for an admin: a token cannot be revoked through the API, unlike a key. */
function adminToken(privateKey: KeyObject): string {
  const now = Math.floor(Date.now() / 1000)
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))
  const payload = base64url(
    JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'schemathesis', role: 'admin', iat: now, exp: now + 3600 }),
  )
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey)
  return `${header}.${payload}.${base64url(signature)}`
}

/** What the JSON report of a run holds, as far as this test reads it. */
interface Report {
  readonly exit_code: number
  readonly operations: {
    readonly total: number
    readonly selected: number
    readonly tested: number
    readonly errored: number
  }
  readonly test_cases: { readonly generated: number; readonly with_failures: number; readonly unique_failures: number }
  readonly failures: readonly unknown[]
  readonly errors: readonly unknown[]
}

describe('schemathesis against the live example server', () => {
  let dir: TempDir
  let server: RunningServer
  let token: string

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-schemathesis-')
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    token = adminToken(privateKey)
    server = await startServer({
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      SPARKLE_DATA_DIR: dir.path,
      // PGlite in the data folder; no worker: queued runs stay queued (the routes that queue, list, cancel and retry
      // them are all exercised), while previews run on Spark's warm session. Runs on Spark are the e2e suite's.
      DATABASE_URL: undefined,
      SPARKLE_WORKER: 'off',
      SPARKLE_LOG_LEVEL: 'error',
      // The fuzzer sends thousands of requests from one address in a minute; rate limits have their own tests.
      SPARKLE_RATE_LIMIT: 'off',
      // Bounded work per request: a backfill of a random range creates at most this many runs.
      SPARKLE_MAX_BACKFILL_PARTITIONS: '31',
      SPARKLE_JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      SPARKLE_JWT_ISSUER: ISSUER,
      SPARKLE_JWT_AUDIENCE: AUDIENCE,
      SPARKLE_JWT_ALGORITHMS: 'RS256',
    })
    // The pipeline the document's examples name (`orders`), so that previews and runs reach Spark and the queue.
    const created = await fetch(`${server.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'orders', template: 'daily-revenue' }),
    })
    expect(created.status, await created.text()).toBe(201)
  })

  afterAll(async () => {
    await server?.stop()
    await dir?.remove()
  })

  /** Runs schemathesis with every check and `extra` arguments and config; answers its JSON report and output. */
  async function schemathesis(name: string, extra: readonly string[], config: string) {
    const binary = await schemathesisBinary()
    const reportPath = join(dir.path, `${name}-report.json`)
    const configPath = join(dir.path, `${name}.toml`)
    await writeFile(configPath, `${await readFile(CONFIG, 'utf8')}\n${config}`)
    const args = [
      '--no-color',
      '--config-file',
      configPath,
      'run',
      `${server.url}/openapi.json`,
      '--header',
      `Authorization: Bearer ${token}`,
      '--checks',
      'all',
      // The stateful phase needs OpenAPI links, which the document does not declare.
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      '20',
      // One worker: with two threads, CPython 3.11 sometimes fails inside schemathesis while it compiles a generator
      // for the preview's body ("AST constructor recursion depth mismatch"), an error of the tool, not of the API.
      '--workers',
      '1',
      '--seed',
      '20261201',
      // The first preview starts Spark's warm session (a JVM): tens of seconds on a busy machine, not schemathesis'
      // default limit of `all` checks; the rest answer in milliseconds.
      '--max-response-time',
      '150',
      '--request-timeout',
      '180',
      '--report',
      'json',
      '--report-json-path',
      reportPath,
      ...extra,
    ]
    const { stdout, code } = await promisify(execFile)(binary, args, {
      cwd: dir.path,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false' },
    }).then(
      (out) => ({ stdout: out.stdout, code: 0 }),
      (error: { stdout?: string; code?: number }) => ({ stdout: error.stdout ?? '', code: error.code ?? 1 }),
    )
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report
    console.log(
      `schemathesis (${name}): ${report.operations.tested}/${report.operations.selected} operations tested, ${report.test_cases.generated} test cases, ${report.failures.length} failures, ${report.errors.length} errors`,
    )
    // What failed, with schemathesis' reproduction commands (the report only counts them).
    if (code !== 0) console.log(stdout.slice(Math.max(0, stdout.indexOf('FAILURES')), stdout.indexOf('SUMMARY')))
    return { report, code }
  }

  it('finds no failure with every check on every operation', async () => {
    // The run event stream lasts as long as the run, and without a worker a queued run never ends: the stream is
    // tested on its own below, on a run that has ended.
    const { report, code } = await schemathesis('operations', ['--exclude-operation-id', 'executionEvents'], '')
    expect(report.operations.tested).toBe(report.operations.total - 1)
    expect(report.operations.errored).toBe(0)
    expect(report.test_cases.generated).toBeGreaterThan(report.operations.total)
    expect({ failures: report.failures, errors: report.errors, code }).toEqual({ failures: [], errors: [], code: 0 })
  })

  it('finds no failure in the event stream of a run that ended', async () => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const queued = await fetch(`${server.url}/api/v1/execute/run`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ pipeline: 'orders', idempotencyKey: 'schemathesis-events' }),
    })
    const run = ((await queued.json()) as { data: { id: string } }).data
    const cancelled = await fetch(`${server.url}/api/v1/executions/${run.id}/cancel`, { method: 'POST', headers })
    expect(cancelled.status).toBe(200)
    const { report, code } = await schemathesis(
      'events',
      ['--include-operation-id', 'executionEvents'],
      `[[operations]]\ninclude-operation-id = "executionEvents"\nparameters = { "path.id" = "${run.id}" }\n`,
    )
    expect(report.operations.tested).toBe(1)
    expect({ failures: report.failures, errors: report.errors, code }).toEqual({ failures: [], errors: [], code: 0 })
  })
})
