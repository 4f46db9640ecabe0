import { execFile } from 'node:child_process'
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { StudioError } from '@sparkle-studio/core'

const execFileAsync = promisify(execFile)

/**
 * Where a {@link SparkRuntime} was found: the `sparkHome` option, `SPARK_HOME`, the pyspark of a configured Python
 * (the `python` option, `SPARKLE_PYTHON`), of the active virtualenv (`VIRTUAL_ENV`), of the project-local
 * `.tools/spark-venv` (`./sparkle setup` in this repository), or of `python3` on `PATH`.
 */
export type SparkRuntimeSource =
  | 'option'
  | 'SPARK_HOME'
  | 'python-option'
  | 'SPARKLE_PYTHON'
  | 'VIRTUAL_ENV'
  | 'project-pyspark'
  | 'PATH'

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
   * A Python interpreter whose `pyspark` is used (when no Spark home is given) and that runs the PySpark driver;
   * takes the place of `SPARKLE_PYTHON`.
   */
  readonly python?: string | undefined
  /**
   * Environment to read `SPARK_HOME`, `SPARKLE_PYTHON`, `VIRTUAL_ENV`, `JAVA_HOME` and `PATH` from.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Folders whose `.tools/spark-venv` (made by `./sparkle setup` in this repository) is searched, each and its
   * parents; also where a checkout of this repository is recognised (so errors suggest `./sparkle setup`).
   * @default [process.cwd(), the folder of this module]
   */
  readonly searchFrom?: readonly string[] | undefined
  /** Aborts the Python and Java probes. */
  readonly signal?: AbortSignal | undefined
}

/** The lowest Java major version Spark 4 runs on. */
export const MIN_JAVA_MAJOR = 17

/** The pyspark version this SDK is tested with, and the one its errors tell you to install (`pip install pyspark==…`). */
export const PYSPARK_VERSION = '4.3.0'

const PIN = `pyspark==${PYSPARK_VERSION}`

function unavailable(
  missing: 'java' | 'spark' | 'python',
  message: string,
  fix: string,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): StudioError {
  return new StudioError('SPARK_UNAVAILABLE', `${message}. Fix: ${fix}`, { missing, fix, ...extra }, { cause })
}

/** A folder that is a checkout of this repository (its `./sparkle` entry point), the start or one of its parents. */
function findCheckout(from: readonly string[]): string | undefined {
  for (const start of from) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'sparkle')) && existsSync(join(dir, 'scripts', 'sparkle.sh'))) return dir
      if (dirname(dir) === dir) break
    }
  }
  return undefined
}

function findProjectPyspark(from: readonly string[]): { sparkHome: string; python: string } | undefined {
  for (const start of from) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const venv = join(dir, '.tools', 'spark-venv')
      const lib = join(venv, 'lib')
      if (existsSync(lib)) {
        for (const py of readdirSync(lib)) {
          const home = join(lib, py, 'site-packages', 'pyspark')
          if (existsSync(join(home, 'bin', 'spark-submit')))
            return { sparkHome: home, python: join(venv, 'bin', 'python') }
        }
      }
      if (dirname(dir) === dir) break
    }
  }
  return undefined
}

/** The first executable `python3` in the `PATH` of `env`. */
function pythonOnPath(env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(resolve(dir), 'python3')
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // Not here: the next folder of PATH.
    }
  }
  return undefined
}

/** The interpreter of a virtualenv folder. */
function venvPython(venv: string): string {
  return join(resolve(venv), 'bin', 'python')
}

/**
 * The virtualenv's interpreter when `sparkHome` is the pyspark package of one (`<venv>/lib/pythonX.Y/site-packages/
 * pyspark`): a pip-installed Spark has no `python/lib/pyspark.zip`, so its driver must be a Python that has pyspark.
 */
function pythonOfPysparkHome(sparkHome: string): string | undefined {
  const m = /^(.*)[\\/]lib[\\/]python[^\\/]*[\\/]site-packages[\\/]pyspark$/.exec(sparkHome)
  const python = m?.[1] ? join(m[1], 'bin', 'python') : undefined
  return python && existsSync(python) ? python : undefined
}

const PROBE =
  'import os, pyspark; print(os.path.dirname(os.path.abspath(pyspark.__file__))); print(pyspark.__version__)'

type Probe =
  | { readonly kind: 'found'; readonly sparkHome: string; readonly version: string }
  | { readonly kind: 'no-pyspark' }
  | { readonly kind: 'broken'; readonly reason: string }

/** Asks a Python interpreter where its pyspark lives (the package folder is a Spark home) and which version it is. */
async function probePython(
  python: string,
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal | undefined,
): Promise<Probe> {
  try {
    const r = await execFileAsync(python, ['-c', PROBE], {
      signal,
      env: env as NodeJS.ProcessEnv,
      timeout: 30_000,
    })
    const [home, version] = r.stdout.trim().split('\n')
    if (!home || !version) return { kind: 'broken', reason: 'printed no pyspark location' }
    return { kind: 'found', sparkHome: home.trim(), version: version.trim() }
  } catch (error) {
    signal?.throwIfAborted()
    const e = error as { code?: unknown; stderr?: unknown; message?: unknown }
    if (e.code === 'ENOENT' || e.code === 'EACCES') return { kind: 'broken', reason: 'does not exist or cannot run' }
    const stderr = typeof e.stderr === 'string' ? e.stderr : ''
    if (/No module named ['"]?pyspark/.test(stderr)) return { kind: 'no-pyspark' }
    const last = stderr.trim().split('\n').at(-1) ?? String(e.message)
    return { kind: 'broken', reason: `failed: ${last}` }
  }
}

interface Located {
  readonly sparkHome: string
  readonly python: string | undefined
  readonly source: SparkRuntimeSource
}

/**
 * Finds the Spark home and the driver's Python, in order: the `sparkHome` option, `SPARK_HOME`, a configured Python
 * (`python` option, `SPARKLE_PYTHON`: the caller's explicit choice, so its pyspark or an error), the active
 * virtualenv, the project's `.tools/spark-venv`, `python3` on PATH.
 */
async function locateSpark(options: FindSparkRuntimeOptions): Promise<Located> {
  const env = options.env ?? process.env
  const configured = options.python
    ? { python: options.python, source: 'python-option' as const, label: 'the python option' }
    : env['SPARKLE_PYTHON']
      ? { python: env['SPARKLE_PYTHON'], source: 'SPARKLE_PYTHON' as const, label: 'SPARKLE_PYTHON' }
      : undefined
  const virtualEnv = env['VIRTUAL_ENV'] || undefined
  const activeVenvPython = virtualEnv && existsSync(venvPython(virtualEnv)) ? venvPython(virtualEnv) : undefined
  if (options.sparkHome || env['SPARK_HOME']) {
    const sparkHome = resolve(options.sparkHome || (env['SPARK_HOME'] as string))
    const python = configured?.python ?? pythonOfPysparkHome(sparkHome) ?? activeVenvPython
    return { sparkHome, python, source: options.sparkHome ? 'option' : 'SPARK_HOME' }
  }

  const searched: string[] = ['the sparkHome option: not given', 'SPARK_HOME: not set']
  const here = dirname(fileURLToPath(import.meta.url))
  const searchFrom = options.searchFrom ?? [process.cwd(), here]
  /** The interpreter's Spark, or why it has none (also noted in `searched`). */
  const tryPython = async (
    python: string,
    source: SparkRuntimeSource,
    label: string,
  ): Promise<Located | { readonly missing: 'spark' | 'python'; readonly reason: string }> => {
    const probe = await probePython(python, env, options.signal)
    let miss: { readonly missing: 'spark' | 'python'; readonly reason: string }
    if (probe.kind === 'found') {
      if (existsSync(join(probe.sparkHome, 'bin', 'spark-submit')))
        return { sparkHome: probe.sparkHome, python, source }
      miss = { missing: 'spark', reason: `has pyspark ${probe.version} at ${probe.sparkHome} without bin/spark-submit` }
    } else if (probe.kind === 'no-pyspark') {
      miss = { missing: 'spark', reason: 'has no pyspark' }
    } else {
      miss = { missing: 'python', reason: probe.reason }
    }
    searched.push(`${label} (${python}): ${miss.reason}`)
    return miss
  }

  if (configured) {
    const r = await tryPython(configured.python, configured.source, configured.label)
    if ('source' in r) return r
    // An explicit choice is not overridden by whatever else is installed: its pyspark, or this error.
    const fix = [
      `install pyspark into that Python (${configured.python} -m pip install ${PIN})`,
      `or point ${configured.label} at a Python that has pyspark ${PYSPARK_VERSION}`,
      'or set SPARK_HOME to a Spark 4 distribution',
    ].join(', ')
    const which =
      configured.source === 'SPARKLE_PYTHON' ? `SPARKLE_PYTHON=${configured.python}` : `The python ${configured.python}`
    throw unavailable(r.missing, `${which} ${r.reason}`, fix, { searched })
  }
  searched.push('SPARKLE_PYTHON: not set')

  if (virtualEnv) {
    if (activeVenvPython) {
      const r = await tryPython(activeVenvPython, 'VIRTUAL_ENV', `the active virtualenv ${virtualEnv}`)
      if ('source' in r) return r
    } else {
      searched.push(`the active virtualenv ${virtualEnv}: no bin/python`)
    }
  } else {
    searched.push('VIRTUAL_ENV: no virtualenv active')
  }

  const project = findProjectPyspark(searchFrom)
  if (project) return { ...project, source: 'project-pyspark' }
  searched.push(`.tools/spark-venv in ${searchFrom.join(', ')} or their parents: none`)

  const onPath = pythonOnPath(env)
  // The active virtualenv's own python3 (first on PATH when activated) was asked already.
  if (onPath && !(activeVenvPython && dirname(onPath) === dirname(activeVenvPython))) {
    const r = await tryPython(onPath, 'PATH', 'python3 on PATH')
    if ('source' in r) return r
  } else if (!onPath) {
    searched.push('python3 on PATH: none')
  }

  const fixes = [
    activeVenvPython
      ? `install pyspark into the active virtualenv (${activeVenvPython} -m pip install ${PIN})`
      : `install pyspark into a virtualenv and activate it (python3 -m venv .venv && . .venv/bin/activate && pip install ${PIN})`,
    'or set SPARK_HOME to a Spark 4 distribution',
    `or set SPARKLE_PYTHON to a Python that has pyspark ${PYSPARK_VERSION}`,
  ]
  const checkout = findCheckout(searchFrom)
  if (checkout) fixes.push(`or, in this repository (${checkout}), run ./sparkle setup`)
  throw unavailable('spark', `No Spark installation found (searched: ${searched.join('; ')})`, fixes.join(', '), {
    searched,
  })
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
    `reinstall it (pip install --force-reinstall ${PIN}) or set SPARK_HOME to a Spark 4 distribution`,
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
 * Finds Spark, Java and Python, checks that they fit together, and describes them. Spark comes from, in order:
 * `options.sparkHome`; `SPARK_HOME`; the pyspark of a configured Python (`options.python`, `SPARKLE_PYTHON`: an
 * explicit choice, so a configured Python without pyspark is an error rather than a reason to look elsewhere); the
 * pyspark of the active virtualenv (`VIRTUAL_ENV`); the project-local `.tools/spark-venv` of this repository
 * (`./sparkle setup`); the pyspark of `python3` on `PATH`. A pip-installed pyspark is a complete Spark: its package
 * folder is the Spark home, and the Python it was found with runs the driver.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `SPARK_UNAVAILABLE` naming what is missing and
 * the fix that applies (`details`: `missing`, `fix`, and `searched`, the places looked at when no Spark was found).
 * @example
 * ```ts
 * import { findSparkRuntime } from '@sparkle-studio/spark'
 *
 * const runtime = await findSparkRuntime()
 * console.log(`Spark ${runtime.sparkVersion} on Java ${runtime.javaVersion} (from ${runtime.source})`)
 * ```
 */
export async function findSparkRuntime(options: FindSparkRuntimeOptions = {}): Promise<SparkRuntime> {
  const env = options.env ?? process.env
  const located = await locateSpark(options)
  const { sparkHome, source } = located
  const sparkSubmit = join(sparkHome, 'bin', 'spark-submit')
  if (!existsSync(sparkSubmit)) {
    const origin = source === 'SPARK_HOME' ? `SPARK_HOME=${sparkHome}` : sparkHome
    throw unavailable(
      'spark',
      `${origin} is not a Spark installation (no bin/spark-submit)`,
      `point ${source === 'SPARK_HOME' ? 'SPARK_HOME' : 'sparkHome'} at a Spark 4 distribution or at the pyspark folder of a pip install (${PIN}), or unset it to use the pyspark of your virtualenv`,
    )
  }
  const { sparkVersion, scalaVersion } = readSparkVersion(sparkHome)
  const sparkMajor = Number(sparkVersion.split('.')[0])
  if (Number.isFinite(sparkMajor) && sparkMajor < 4) {
    throw unavailable(
      'spark',
      `Spark ${sparkVersion} at ${sparkHome} is too old (needs Spark 4)`,
      `install ${PIN} (pip install ${PIN}) or point SPARK_HOME at a Spark 4 distribution`,
    )
  }

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
      {},
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

  const python = located.python ?? 'python3'
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
