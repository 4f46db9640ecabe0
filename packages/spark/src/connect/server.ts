import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { StudioError, ValidationError } from '@sparkle-studio/core'
import { readLogTail } from '../log-reader.ts'
import { probeLoopbackPort, signalGroup, waitGroupGone } from '../process.ts'
import { LOOPBACK_ENV } from '../runner-launch.ts'
import type { SparkRuntime } from '../runtime.ts'
import { SECRET_ENV_PREFIX } from '../secrets.ts'

/**
 * The main class of Spark's Connect server, in `jars/spark-connect_<scala>-<version>.jar` of Spark 4 (pyspark
 * included), started by `spark-submit --class` without an application jar.
 *
 * @example
 * ```ts
 * import { SPARK_CONNECT_SERVER_CLASS } from '@sparkle-studio/spark/connect'
 *
 * const args = ['--class', SPARK_CONNECT_SERVER_CLASS, '--master', 'local[2]']
 * ```
 */
export const SPARK_CONNECT_SERVER_CLASS = 'org.apache.spark.sql.connect.service.SparkConnectServer'

/**
 * The environment variable a Spark 4 Connect server reads its pre-shared token from when the (internal) static
 * configuration `spark.connect.authenticate.token` is not set (`Connect.getAuthenticateToken`). Clients then send
 * `Authorization: Bearer <token>` on every call; other calls fail with gRPC status `UNAUTHENTICATED`.
 *
 * @example
 * ```ts
 * import { spawn } from 'node:child_process'
 * import { SPARK_CONNECT_TOKEN_ENV } from '@sparkle-studio/spark/connect'
 *
 * // The token goes in the environment, never in the arguments (which `ps` shows to every user).
 * spawn('sbin/start-connect-server.sh', [], { env: { ...process.env, [SPARK_CONNECT_TOKEN_ENV]: 's3cret' } })
 * ```
 */
export const SPARK_CONNECT_TOKEN_ENV = 'SPARK_CONNECT_AUTHENTICATE_TOKEN'

const LOOPBACK = '127.0.0.1'

/**
 * Configuration {@link startSparkConnectServer} sets itself: the binding, and the token (a secret travels through
 * the environment, never on a command line).
 */
const OWNED_CONF = new Set([
  'spark.connect.grpc.binding.address',
  'spark.connect.grpc.binding.port',
  'spark.connect.grpc.port.maxRetries',
  'spark.connect.authenticate.token',
  'spark.driver.host',
  'spark.driver.bindAddress',
  'spark.master',
  'spark.remote',
])

/** Options of {@link startSparkConnectServer}. */
export interface SparkConnectServerOptions {
  /** The Spark installation whose `spark-submit` starts the server (its `jars` hold the Connect server). */
  readonly runtime: SparkRuntime
  /**
   * The master the server's driver uses.
   * @default 'local[2]'
   */
  readonly master?: string | undefined
  /** The gRPC port on 127.0.0.1 (it must be free); a free port chosen by the system when absent. */
  readonly port?: number | undefined
  /**
   * A pre-shared token clients must send as `Authorization: Bearer <token>`; no authentication when absent. It is
   * handed to the server in {@link SPARK_CONNECT_TOKEN_ENV}, never on its command line, and never logged.
   */
  readonly token?: string | undefined
  /**
   * More Spark configuration (`--conf key=value`). The binding, the master and the token are set by the other
   * options and refused here.
   * @default { 'spark.ui.enabled': 'false' }
   */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /**
   * The file the server's output goes to (appended). When absent, `server.log` in a temporary folder, which `stop`
   * removes; the folder is also the server's working folder (its `spark-warehouse`).
   */
  readonly logFile?: string | undefined
  /**
   * Limit for the server to accept connections.
   * @default 120_000
   */
  readonly startTimeoutMs?: number | undefined
  /** Aborts the start (the server is stopped). */
  readonly signal?: AbortSignal | undefined
}

/** A running Spark Connect server on the loopback interface, started by {@link startSparkConnectServer}. */
export interface SparkConnectServer {
  /** Its connection string without parameters, `sc://127.0.0.1:<port>` (append `/;token=<token>` when it has one). */
  readonly url: string
  /** Its gRPC port on 127.0.0.1. */
  readonly port: number
  /** The pid of the server's JVM, also its process group. */
  readonly pid: number
  /** The file the server's output goes to. */
  readonly logFile: string
  /**
   * Stops the server: SIGTERM to its process group, SIGKILL after 10 s, and waits until no process of the group
   * is left. Calling it again does nothing more.
   */
  stop(): Promise<void>
}

/** The requested port, checked free (another listener's port would pass for a ready server), or a free one. */
async function choosePort(requested: number | undefined): Promise<number> {
  if (requested === undefined) return probeLoopbackPort(0)
  try {
    return await probeLoopbackPort(requested)
  } catch (error) {
    throw new StudioError(
      'SPARK_UNAVAILABLE',
      `the Spark Connect server cannot listen on ${LOOPBACK}:${requested}: ${(error as Error).message}`,
      { port: requested },
      { cause: error },
    )
  }
}

/** True when something accepts a TCP connection on 127.0.0.1:`port` within `timeoutMs`. */
function acceptsTcp(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** True when the server's log says its gRPC server listens on `port`. */
async function serverSaysStarted(logFile: string, port: number): Promise<boolean> {
  const text = await readFile(logFile, 'utf8').catch(() => '')
  for (const line of text.split('\n')) {
    if (line.includes(STARTED_LINE) && line.trimEnd().endsWith(`:${port}`)) return true
  }
  return false
}

function checkOptions(options: SparkConnectServerOptions): void {
  const issues: { path: string; message: string; code: string }[] = []
  for (const key of Object.keys(options.conf ?? {})) {
    if (OWNED_CONF.has(key)) {
      issues.push({
        path: `/conf/${key}`,
        message: `${key} is set by startSparkConnectServer (use its master, port or token option)`,
        code: 'owned_conf',
      })
    }
  }
  const { port, token } = options
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    issues.push({ path: '/port', message: 'port must be an integer from 1 to 65535', code: 'port' })
  }
  if (token !== undefined && (token.trim() === '' || /[^\x21-\x7e]/.test(token))) {
    issues.push({
      path: '/token',
      message: 'the token must be non-empty printable ASCII without spaces (it travels in an HTTP/2 header)',
      code: 'token',
    })
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `invalid Spark Connect server options: ${issues.map((i) => i.message).join('; ')}`,
      issues,
    )
  }
}

/**
 * Starts Spark's Connect server (`spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer`) from an
 * installed Spark 4, bound to 127.0.0.1, its driver on a `local[N]` master by default, in its own process group, and
 * resolves once its gRPC port accepts connections. Meant for tests, demos and a single-machine preview backend: a
 * server for other machines is started by their operators (`sbin/start-connect-server.sh`).
 *
 * With a `token`, the server authenticates every call with Spark's pre-shared key interceptor: clients send
 * `Authorization: Bearer <token>` (a connection string `sc://127.0.0.1:<port>/;token=<token>` does, over plaintext to
 * loopback, see `parseConnectionString`).
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} (`VALIDATION_FAILED`) for options it
 * refuses (configuration it owns, a bad port or token);
 * {@link @sparkle-studio/core!index.StudioError | StudioError} `SPARK_UNAVAILABLE` when the server exits or does not
 * accept connections in time (the message quotes the end of its log).
 * @example
 * ```ts
 * import { findSparkRuntime } from '@sparkle-studio/spark'
 * import { startSparkConnectServer } from '@sparkle-studio/spark/connect'
 *
 * const runtime = await findSparkRuntime()
 * const server = await startSparkConnectServer({ runtime, master: 'local[2]', token: process.env['CONNECT_TOKEN'] })
 * try {
 *   console.log(`Spark Connect at ${server.url}, log in ${server.logFile}`)
 * } finally {
 *   await server.stop()
 * }
 * ```
 */
export async function startSparkConnectServer(options: SparkConnectServerOptions): Promise<SparkConnectServer> {
  checkOptions(options)
  // A port chosen here is free when probed, but another process may bind it before the JVM does (the server then
  // fails to bind, as it may not retry another port): choose again, a few times.
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    const port = await choosePort(options.port)
    try {
      return await startOnPort(options, port)
    } catch (error) {
      if (!(error instanceof PortTakenError) || options.port !== undefined || attempt >= 3) {
        throw error instanceof PortTakenError ? error.failure : error
      }
    }
  }
}

/** The server could not bind its port (another process took it after it was probed). */
class PortTakenError extends Error {
  readonly failure: StudioError

  constructor(failure: StudioError) {
    super(failure.message)
    this.failure = failure
  }
}

/** The line Spark's Connect server logs once its gRPC server listens (`SparkConnectService.start`). */
const STARTED_LINE = 'Spark Connect server started at: '

async function startOnPort(options: SparkConnectServerOptions, port: number): Promise<SparkConnectServer> {
  const { runtime } = options
  const ownDir = options.logFile === undefined ? await mkdtemp(join(tmpdir(), 'sparkle-connect-')) : undefined
  const logFile = options.logFile === undefined ? join(ownDir as string, 'server.log') : resolve(options.logFile)
  const workDir = ownDir ?? dirname(logFile)
  await mkdir(workDir, { recursive: true })

  const env: Record<string, string | undefined> = {
    ...process.env,
    ...runtime.env,
    ...LOOPBACK_ENV,
    // spark-submit must start a classic driver, whatever a pyspark-connect install or the caller's shell says.
    SPARK_CONNECT_MODE: '0',
  }
  for (const key of Object.keys(env)) {
    if (key.startsWith(SECRET_ENV_PREFIX) || key === 'SPARK_REMOTE' || key === 'SPARK_API_MODE') delete env[key]
  }
  // Only this option's token authenticates: never one inherited from the caller's environment.
  delete env[SPARK_CONNECT_TOKEN_ENV]
  if (options.token !== undefined) env[SPARK_CONNECT_TOKEN_ENV] = options.token

  const conf: Record<string, string> = {
    'spark.ui.enabled': 'false',
    ...options.conf,
    'spark.connect.grpc.binding.address': LOOPBACK,
    'spark.connect.grpc.binding.port': String(port),
    // Never another port than the one asked for: the readiness check below looks at this one.
    'spark.connect.grpc.port.maxRetries': '0',
    'spark.driver.host': LOOPBACK,
    'spark.driver.bindAddress': LOOPBACK,
  }
  const args = [
    '--class',
    SPARK_CONNECT_SERVER_CLASS,
    '--name',
    'Sparkle Spark Connect server',
    '--master',
    options.master ?? 'local[2]',
    ...Object.entries(conf).flatMap(([key, value]) => ['--conf', `${key}=${value}`]),
  ]

  const fd = openSync(logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(runtime.sparkSubmit, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd: workDir })
  } finally {
    closeSync(fd)
  }
  child.unref()
  let exit: string | undefined
  child.once('error', (e) => {
    exit = `could not start: ${e.message}`
  })
  child.once('exit', (code, signal) => {
    exit = signal ? `was killed by ${signal}` : `exited with code ${code}`
  })
  const pid = child.pid

  // A JVM outliving the Node process that started it is an orphan nobody stops: kill it when this process exits.
  const killOnExit = () => {
    if (pid !== undefined) signalGroup(pid, 'SIGKILL')
  }
  process.once('exit', killOnExit)
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      if (pid !== undefined) {
        signalGroup(pid, 'SIGTERM')
        if (!(await waitGroupGone(pid, 10_000))) {
          signalGroup(pid, 'SIGKILL')
          await waitGroupGone(pid, 5_000)
        }
      }
      process.removeListener('exit', killOnExit)
      if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true })
    })()
    return stopping
  }

  const timeoutMs = options.startTimeoutMs ?? 120_000
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      if (exit !== undefined || pid === undefined) {
        const tail = await readLogTail(logFile)
        const failure = new StudioError(
          'SPARK_UNAVAILABLE',
          `the Spark Connect server ${exit ?? 'did not start'} while starting; ${logFile} ends with:\n${tail}`,
          { logFile, exit },
        )
        throw /BindException|Address already in use|Failed to bind/i.test(tail) ? new PortTakenError(failure) : failure
      }
      // Ready when the server says it listens on this port and the port answers: a port that answers while the
      // server has not said so belongs to another process (which took it between the probe and the JVM's bind).
      if ((await serverSaysStarted(logFile, port)) && (await acceptsTcp(port, 1_000))) {
        if (exit === undefined) break
        continue
      }
      if (Date.now() > deadline) {
        throw new StudioError(
          'SPARK_UNAVAILABLE',
          `the Spark Connect server did not accept connections on ${LOOPBACK}:${port} within ${timeoutMs} ms; ` +
            `${logFile} ends with:\n${await readLogTail(logFile)}`,
          { logFile },
        )
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  } catch (error) {
    // Keep a caller's log file (it explains the failure); a temporary one goes with its folder.
    await stop()
    throw error
  }
  return Object.freeze({ url: `sc://${LOOPBACK}:${port}`, port, pid, logFile, stop })
}
