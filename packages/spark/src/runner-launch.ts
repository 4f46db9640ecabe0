import { toPropertiesFile } from './properties-file.ts'
import { runnerScriptPath, type SparkRuntime } from './runtime.ts'
import { SECRET_ENV_PREFIX } from './secrets.ts'

/** How the plan runner runs: one plan to the end (`batch`), or the warm preview driver answering requests (`serve`). */
export type RunnerMode = 'batch' | 'serve'

/** The files of a batch run: what the runner reads and where it writes its events. */
export interface BatchRunnerFiles {
  /** The plan (`plan.json`). */
  readonly plan: string
  /** The runner's JSON-line events (`events.jsonl`). */
  readonly events: string
  /**
   * For a driver started ahead of its job: how long it waits for `plan` to appear, and the JSON file of Spark
   * configuration it starts the session with once it does.
   */
  readonly waitForPlan?: { readonly ms: number; readonly confFile: string } | undefined
  /**
   * The JSON file of the secrets the plan references (`{ NAME: value }`, mode 0600), written before the runner reads
   * the plan; the runner reads it, removes it at once and keeps the values in memory only. Absent: no secrets.
   */
  readonly secretsFile?: string | undefined
}

/** Where the serve driver connects to, and how it serves. */
export interface ServeRunnerEndpoint {
  /** `host:port` of the preview session's loopback listener. */
  readonly address: string
  /**
   * A file (mode 0600) holding the secret the driver says first: the runner reads it and removes it before Spark
   * starts, so that the token is never in the driver's environment, on its command line or readable by a query.
   */
  readonly tokenFile: string
  /** Previews computed at once. */
  readonly concurrency: number
  /** Run a few small previews at start-up so that the first request finds a warm JVM. */
  readonly warmUp: boolean
}

/** What {@link runnerLaunch} needs: the runtime, the master, the mode with its files, and the caller's settings. */
export type RunnerLaunchOptions = {
  /** The Spark installation to launch with. */
  readonly runtime: SparkRuntime
  /** Master URL (`local[N]`, `spark://host:7077`, ...); the driver runs on this machine (client mode). */
  readonly master: string
  /** Path of the properties file the caller writes {@link RunnerLaunch.properties} to (mode 0600). */
  readonly propertiesFile: string
  /** Spark configuration over the mode's and the master's defaults. Secret values stay out of the command line. */
  readonly conf?: Readonly<Record<string, string>> | undefined
  /**
   * Environment over the runtime's and the master's defaults. `SPARKLE_SECRET_<NAME>` entries are never passed: secrets
   * reach a driver through {@link BatchRunnerFiles.secretsFile} or the preview session's connection.
   */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** The environment the driver's variables ({@link DRIVER_ENV_NAMES}) are taken from. @default process.env */
  readonly inheritEnv?: Readonly<Record<string, string | undefined>> | undefined
} & (
  | { readonly mode: 'batch'; readonly batch: BatchRunnerFiles }
  | { readonly mode: 'serve'; readonly serve: ServeRunnerEndpoint }
)

/** A runner launch: the process to start and the properties file to write before starting it. */
export interface RunnerLaunch {
  /** `bin/spark-submit` of the runtime. */
  readonly command: string
  /** spark-submit's arguments, the runner program and its own. Never a configuration value. */
  readonly args: readonly string[]
  /** The complete environment of the process. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The Spark configuration, as the content of the properties file. */
  readonly properties: string
  /** The Spark configuration the properties file holds. */
  readonly conf: Readonly<Record<string, string>>
}

/**
 * The variables a driver gets from the environment it is launched from: where Java, Spark and Python are, the locale,
 * the home and temporary folders, Spark's own location settings. Nothing else: no server configuration, no provider
 * token, no database URL, no secret.
 */
export const DRIVER_ENV_NAMES: readonly RegExp[] = Object.freeze([
  /^(PATH|HOME|TMPDIR|USER|LOGNAME|LANG|LANGUAGE|TZ|LC_[A-Z_]+)$/,
  /^(JAVA_HOME|SPARK_HOME|SPARK_CONF_DIR|SPARK_LOCAL_IP|SPARK_LOCAL_HOSTNAME|SPARK_LOCAL_DIRS|HADOOP_CONF_DIR)$/,
  /^(PYSPARK_PYTHON|PYSPARK_DRIVER_PYTHON|PYTHONPATH|PYTHONHOME|PYTHONIOENCODING|PYTHONUNBUFFERED)$/,
])

/** The part of `env` a driver may see ({@link DRIVER_ENV_NAMES}). */
export function driverEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && DRIVER_ENV_NAMES.some((p) => p.test(key))) picked[key] = value
  }
  return picked
}

/** The host every Spark process of a loopback master binds to. */
const LOOPBACK_HOST = '127.0.0.1'
const LOOPBACK_NAMES = new Set([LOOPBACK_HOST, 'localhost', '[::1]'])

/** Environment that keeps a Spark process (driver, standalone master or worker) on the loopback interface. */
export const LOOPBACK_ENV: Readonly<Record<string, string>> = Object.freeze({ SPARK_LOCAL_IP: LOOPBACK_HOST })

/** Driver configuration that keeps a driver (its RPC, block manager and UI) on the loopback interface. */
const LOOPBACK_CONF: Readonly<Record<string, string>> = Object.freeze({
  'spark.driver.host': LOOPBACK_HOST,
  'spark.driver.bindAddress': LOOPBACK_HOST,
})

/** Configuration of every runner launch, by mode: no console progress bar in a log nobody watches live. */
const MODE_CONF: Readonly<Record<RunnerMode, Readonly<Record<string, string>>>> = {
  batch: { 'spark.ui.showConsoleProgress': 'false' },
  // The preview driver is tuned for latency on small samples: no UI, one shuffle partition, no adaptive re-planning.
  serve: {
    'spark.app.name': 'sparkle:preview',
    'spark.ui.enabled': 'false',
    'spark.ui.showConsoleProgress': 'false',
    'spark.sql.shuffle.partitions': '1',
    'spark.sql.adaptive.enabled': 'false',
  },
}

/** True for a `local`, `local[N]` or `local[*]` master: the whole application in the driver JVM. */
export function isLocalMaster(master: string): boolean {
  return /^local(\[|$)/.test(master.trim())
}

/**
 * True when every process of the application stays on this machine's loopback interface: a local master, or a
 * standalone master whose hosts are all loopback addresses.
 */
export function isLoopbackMaster(master: string): boolean {
  if (isLocalMaster(master)) return true
  return standaloneMasterHosts(master)?.every((h) => LOOPBACK_NAMES.has(h)) ?? false
}

/**
 * The hosts of a standalone master URL (`spark://h1:7077,h2:7077` for a master with standby), or `undefined` when
 * `master` is not one.
 */
export function standaloneMasterHosts(master: string): string[] | undefined {
  const m = /^spark:\/\/(.+)$/.exec(master.trim())
  const hosts = m?.[1]?.split(',').map((hp) => hp.replace(/:\d+$/, ''))
  return hosts?.every((h) => h) ? hosts : undefined
}

/**
 * Builds a launch of the plan runner (`runner/sparkle_runner.py`) under spark-submit, in client mode: the command line,
 * the properties file and the environment. The one place that decides them, for batch jobs (local and cluster
 * submitters, warm drivers) and the preview driver alike.
 *
 * Configuration goes through the properties file, never the command line. The driver starts with a minimal
 * environment ({@link driverEnvironment} of `inheritEnv`, the runtime's, `env`); secrets and the preview token reach it
 * through files it removes once read (or, for previews, its connection), never through its environment. A loopback
 * master ({@link isLoopbackMaster}) binds the driver to 127.0.0.1 unless `conf` and `env` say otherwise; any other
 * master keeps Spark's own choice (set `spark.driver.host` when the workers cannot reach the default one).
 */
export function runnerLaunch(options: RunnerLaunchOptions): RunnerLaunch {
  const { runtime, master } = options
  const loopback = isLoopbackMaster(master)
  const conf: Record<string, string> = {
    ...MODE_CONF[options.mode],
    ...(loopback ? LOOPBACK_CONF : {}),
    ...options.conf,
  }

  const args = ['--master', master, '--deploy-mode', 'client', '--properties-file', options.propertiesFile]
  // Spark 4 reads spark-defaults.conf only when asked to, once a properties file is given.
  if (Number(runtime.sparkVersion.split('.')[0]) >= 4) args.push('--load-spark-defaults')
  args.push(runnerScriptPath())
  if (options.mode === 'batch') {
    const { batch } = options
    args.push('--plan', batch.plan, '--events', batch.events)
    if (batch.waitForPlan) {
      args.push('--conf-file', batch.waitForPlan.confFile, '--wait-for-plan', String(batch.waitForPlan.ms / 1000))
    }
    if (batch.secretsFile) args.push('--secrets-file', batch.secretsFile)
  } else {
    const { serve } = options
    args.push('--serve', serve.address, '--concurrency', String(serve.concurrency), '--token-file', serve.tokenFile)
    if (!serve.warmUp) args.push('--no-warm-up')
  }

  const env: Record<string, string | undefined> = {
    ...driverEnvironment(options.inheritEnv ?? process.env),
    ...runtime.env,
    ...(loopback ? LOOPBACK_ENV : {}),
    ...options.env,
    PYTHONUNBUFFERED: '1',
  }
  for (const key of Object.keys(env)) {
    // Secrets go through files and connections; a gateway inherited from a parent PySpark process would hijack the
    // runner's SparkContext.
    if (key.startsWith(SECRET_ENV_PREFIX) || key.startsWith('PYSPARK_GATEWAY_') || key === 'SPARKLE_PREVIEW_TOKEN') {
      delete env[key]
    }
  }

  return { command: runtime.sparkSubmit, args, env, properties: toPropertiesFile(conf), conf }
}
