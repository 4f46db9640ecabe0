import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { StudioError } from '@sparkle-studio/core'

const execFileAsync = promisify(execFile)

/** Where a {@link SparkRuntime} was found. */
export type SparkRuntimeSource = 'option' | 'SPARK_HOME' | 'project-pyspark'

/** A usable Spark installation with the Java and Python it runs on. */
export interface SparkRuntime {
  /** The Spark home folder (a distribution, or the `pyspark` package folder). */
  readonly sparkHome: string
  /** Absolute path of `bin/spark-submit`. */
  readonly sparkSubmit: string
  /** Absolute path of `bin/spark-class` (used to start standalone masters and workers). */
  readonly sparkClass: string
  /** Spark's version, e.g. `4.3.0`. */
  readonly sparkVersion: string
  /** Scala binary version of the Spark jars, e.g. `2.13`. */
  readonly scalaVersion: string | undefined
  /** The Java executable Spark will use. */
  readonly java: string
  /** Java's version string, e.g. `17.0.15`. */
  readonly javaVersion: string
  /** Java's major version, e.g. `17`. */
  readonly javaMajor: number
  /** The Python interpreter for the PySpark driver (the plan runner). */
  readonly python: string
  /** How the installation was found. */
  readonly source: SparkRuntimeSource
  /** Environment variables to pass to every Spark process of this runtime. */
  readonly env: Readonly<Record<string, string>>
}

/** Options of {@link findSparkRuntime}. */
export interface FindSparkRuntimeOptions {
  /** A Spark home to use instead of discovery. */
  readonly sparkHome?: string | undefined
  /**
   * Environment to read `SPARK_HOME`, `JAVA_HOME`, `SPARKLE_PYTHON` and `PATH` from.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Folders whose `.tools/spark-venv` (made by `./sparkle setup`) is searched, each and its parents.
   * @default [process.cwd(), the folder of this module]
   */
  readonly searchFrom?: readonly string[] | undefined
  /** Aborts the Java version probe. */
  readonly signal?: AbortSignal | undefined
}

/** The lowest Java major version Spark 4 runs on. */
export const MIN_JAVA_MAJOR = 17

const FIX_SPARK =
  'run ./sparkle setup (installs a pinned pyspark into .tools/spark-venv) or set SPARK_HOME to a Spark 4 distribution'

function unavailable(missing: 'java' | 'spark' | 'python', message: string, fix: string, cause?: unknown): StudioError {
  return new StudioError('SPARK_UNAVAILABLE', `${message}. Fix: ${fix}`, { missing, fix }, { cause })
}

function findProjectPyspark(from: readonly string[]): { sparkHome: string; python: string } | undefined {
  for (const start of from) {
    let dir = resolve(start)
    for (;;) {
      const venv = join(dir, '.tools', 'spark-venv')
      const lib = join(venv, 'lib')
      if (existsSync(lib)) {
        for (const py of readdirSync(lib)) {
          const home = join(lib, py, 'site-packages', 'pyspark')
          if (existsSync(join(home, 'bin', 'spark-submit')))
            return { sparkHome: home, python: join(venv, 'bin', 'python') }
        }
      }
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return undefined
}

function readSparkVersion(sparkHome: string): { sparkVersion: string; scalaVersion: string | undefined } {
  const jars = join(sparkHome, 'jars')
  if (existsSync(jars)) {
    for (const name of readdirSync(jars)) {
      const m = /^spark-core_(\d+\.\d+)-(.+)\.jar$/.exec(name)
      if (m?.[1] && m[2]) return { sparkVersion: m[2], scalaVersion: m[1] }
    }
  }
  const release = join(sparkHome, 'RELEASE')
  if (existsSync(release)) {
    const m = /Spark (\d+\.\d+\.\d+\S*)/.exec(readFileSync(release, 'utf8'))
    if (m?.[1]) return { sparkVersion: m[1], scalaVersion: undefined }
  }
  throw unavailable(
    'spark',
    `Spark at ${sparkHome} has no jars/spark-core_*.jar, so it is not a complete Spark installation`,
    FIX_SPARK,
  )
}

/** Parses the version out of `java -version` output (`openjdk version "17.0.15"`, `java version "1.8.0_392"`). */
export function parseJavaVersion(output: string): { version: string; major: number } | undefined {
  const m = /version "([^"]+)"/.exec(output)
  if (!m?.[1]) return undefined
  const version = m[1]
  const parts = version.split(/[._-]/)
  const first = Number(parts[0])
  const major = first === 1 ? Number(parts[1]) : first
  return Number.isFinite(major) ? { version, major } : undefined
}

/**
 * Finds Spark, Java and Python, checks that they fit together, and describes them. Spark comes from
 * `options.sparkHome`, then `SPARK_HOME`, then the project-local pyspark installed by `./sparkle setup`.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `SPARK_UNAVAILABLE` naming what is missing and how to fix it.
 * @example
 * ```ts
 * import { findSparkRuntime } from '@sparkle-studio/spark'
 *
 * const runtime = await findSparkRuntime()
 * console.log(`Spark ${runtime.sparkVersion} on Java ${runtime.javaVersion}`)
 * ```
 */
export async function findSparkRuntime(options: FindSparkRuntimeOptions = {}): Promise<SparkRuntime> {
  const env = options.env ?? process.env
  let sparkHome: string
  let python: string | undefined = env['SPARKLE_PYTHON'] || undefined
  let source: SparkRuntimeSource
  if (options.sparkHome) {
    sparkHome = resolve(options.sparkHome)
    source = 'option'
  } else if (env['SPARK_HOME']) {
    sparkHome = resolve(env['SPARK_HOME'])
    source = 'SPARK_HOME'
  } else {
    const here = dirname(fileURLToPath(import.meta.url))
    const found = findProjectPyspark(options.searchFrom ?? [process.cwd(), here])
    if (!found) throw unavailable('spark', 'No Spark installation found (SPARK_HOME is not set)', FIX_SPARK)
    sparkHome = found.sparkHome
    python ??= found.python
    source = 'project-pyspark'
  }
  const sparkSubmit = join(sparkHome, 'bin', 'spark-submit')
  if (!existsSync(sparkSubmit)) {
    const origin = source === 'SPARK_HOME' ? `SPARK_HOME=${sparkHome}` : sparkHome
    throw unavailable('spark', `${origin} is not a Spark installation (no bin/spark-submit)`, FIX_SPARK)
  }
  const { sparkVersion, scalaVersion } = readSparkVersion(sparkHome)

  const javaHome = env['JAVA_HOME']
  const java = javaHome ? join(javaHome, 'bin', 'java') : 'java'
  let output: string
  try {
    const r = await execFileAsync(java, ['-version'], {
      signal: options.signal,
      env: { ...env, JAVA_TOOL_OPTIONS: '' } as NodeJS.ProcessEnv,
      timeout: 30_000,
    })
    output = `${r.stderr}\n${r.stdout}`
  } catch (cause) {
    throw unavailable(
      'java',
      javaHome ? `JAVA_HOME=${javaHome} has no working bin/java` : 'Java was not found on PATH',
      `install a JDK ${MIN_JAVA_MAJOR} or 21 (e.g. apt-get install openjdk-17-jdk-headless) and set JAVA_HOME`,
      cause,
    )
  }
  const parsed = parseJavaVersion(output)
  if (!parsed || parsed.major < MIN_JAVA_MAJOR) {
    throw unavailable(
      'java',
      `Java ${parsed?.version ?? 'of unknown version'} is too old for Spark ${sparkVersion} (needs ${MIN_JAVA_MAJOR}+)`,
      `install a JDK ${MIN_JAVA_MAJOR} or 21 and set JAVA_HOME to it`,
    )
  }

  python ??= 'python3'
  const childEnv: Record<string, string> = {
    SPARK_HOME: sparkHome,
    PYSPARK_PYTHON: python,
    PYSPARK_DRIVER_PYTHON: python,
  }
  if (javaHome) childEnv['JAVA_HOME'] = javaHome
  return Object.freeze({
    sparkHome,
    sparkSubmit,
    sparkClass: join(sparkHome, 'bin', 'spark-class'),
    sparkVersion,
    scalaVersion,
    java,
    javaVersion: parsed.version,
    javaMajor: parsed.major,
    python,
    source,
    env: Object.freeze(childEnv),
  })
}

/** Absolute path of the plan runner program shipped with this package (`runner/sparkle_runner.py`). */
export function runnerScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  // src/ (source) and dist/ (built) both sit one level below the package root.
  return join(here, '..', 'runner', 'sparkle_runner.py')
}

/** Absolute path of the job supervisor shipped with this package (`runner/sparkle_supervisor.py`). */
export function supervisorScriptPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'runner', 'sparkle_supervisor.py')
}
