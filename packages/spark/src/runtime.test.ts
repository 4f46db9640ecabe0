import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { delimiter, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runPlan } from './run-plan.ts'
import { findSparkRuntime, PYSPARK_VERSION, parseJavaVersion } from './runtime.ts'

const execFileAsync = promisify(execFile)
const repoRoot = resolve(import.meta.dirname, '..', '..', '..')

describe('findSparkRuntime (real Spark and Java)', () => {
  it('finds Spark 4 and Java 17+ on this machine', async () => {
    const runtime = await findSparkRuntime()
    expect(runtime.sparkVersion).toMatch(/^4\.\d+\.\d+/)
    expect(runtime.javaMajor).toBeGreaterThanOrEqual(17)
    expect(runtime.sparkSubmit).toMatch(/bin\/spark-submit$/)
  })

  it('says what is wrong with a broken SPARK_HOME and how to fix it', async () => {
    const dir = await makeTempDir()
    try {
      const error = await findSparkRuntime({ env: { ...process.env, SPARK_HOME: dir.path } }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'SPARK_UNAVAILABLE', details: { missing: 'spark' } })
      expect((error as Error).message).toContain(`SPARK_HOME=${dir.path} is not a Spark installation`)
      expect((error as Error).message).toContain('Fix:')
    } finally {
      await dir.remove()
    }
  })

  it('says Java is missing when JAVA_HOME points nowhere', async () => {
    const real = await findSparkRuntime()
    const dir = await makeTempDir()
    try {
      await mkdir(join(dir.path, 'bin'))
      const error = await findSparkRuntime({
        sparkHome: real.sparkHome,
        env: { ...process.env, JAVA_HOME: dir.path },
      }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'SPARK_UNAVAILABLE', details: { missing: 'java' } })
      expect((error as Error).message).toContain('has no working bin/java')
    } finally {
      await dir.remove()
    }
  })

  it('parses java -version output of old and new JDKs', () => {
    expect(parseJavaVersion('openjdk version "17.0.15" 2025-04-15')).toEqual({ version: '17.0.15', major: 17 })
    expect(parseJavaVersion('java version "1.8.0_392"')).toEqual({ version: '1.8.0_392', major: 8 })
    expect(parseJavaVersion('openjdk version "21" 2023-09-19')).toEqual({ version: '21', major: 21 })
    expect(parseJavaVersion('no version here')).toBeUndefined()
  })

  it('pins the pyspark version ./sparkle setup installs', () => {
    const script = readFileSync(join(repoRoot, 'scripts', 'sparkle.sh'), 'utf8')
    expect(/^PYSPARK_VERSION="([^"]+)"/m.exec(script)?.[1]).toBe(PYSPARK_VERSION)
  })
})

/** A fresh virtualenv, and the folder of its site-packages. */
async function makeVenv(base: string, name: string): Promise<{ dir: string; python: string; sitePackages: string }> {
  const dir = join(base, name)
  // The project's venv interpreter makes the new venv, so both have the same Python minor version (site-packages).
  await execFileAsync(projectVenv.python, ['-m', 'venv', '--without-pip', dir])
  const lib = join(dir, 'lib')
  const py = readdirSync(lib).find((d) => d.startsWith('python'))
  if (!py) throw new Error(`no lib/python* in the virtualenv ${dir}`)
  return { dir, python: join(dir, 'bin', 'python'), sitePackages: join(lib, py, 'site-packages') }
}

/** The pyspark that `./sparkle setup` installed into this repository's `.tools/spark-venv`. */
const projectVenv = (() => {
  const venv = join(repoRoot, '.tools', 'spark-venv')
  const lib = join(venv, 'lib')
  const py = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python')) : undefined
  const sitePackages = py ? join(lib, py, 'site-packages') : ''
  return { python: join(venv, 'bin', 'python'), sitePackages, ok: existsSync(join(sitePackages, 'pyspark')) }
})()

describe('findSparkRuntime outside this repository (pyspark installed with pip)', () => {
  let tmp: TempDir
  let withPyspark: { dir: string; python: string }
  let withoutPyspark: { dir: string; python: string }
  let javaHome: string
  /** An environment with no Spark settings at all: what a newcomer's shell has. */
  let bare: Record<string, string>
  let outside: string[]

  beforeAll(async () => {
    if (!projectVenv.ok) {
      throw new Error(`these tests borrow the pyspark of ${projectVenv.sitePackages}: run ./sparkle setup first`)
    }
    tmp = await makeTempDir('sparkle-runtime-')
    outside = [join(tmp.path, 'project')]
    await mkdir(outside[0] as string)
    // A .pth file is how Python sees an installed package's folder: the new venv imports the project's pyspark as if
    // `pip install pyspark` had put it there, without copying 450 MB.
    const a = await makeVenv(tmp.path, 'venv-with')
    await writeFile(join(a.sitePackages, 'borrowed-pyspark.pth'), `${projectVenv.sitePackages}\n`)
    withPyspark = a
    withoutPyspark = await makeVenv(tmp.path, 'venv-without')
    const real = await findSparkRuntime()
    javaHome = real.env['JAVA_HOME'] ?? (await javaHomeOf(real.java))
    // PATH keeps only a folder with the tools the probes may use (no python3 on it).
    const tools = join(tmp.path, 'no-python-bin')
    await mkdir(tools)
    bare = { PATH: tools, JAVA_HOME: javaHome, HOME: tmp.path }
  })

  afterAll(async () => {
    await tmp?.remove()
  })

  it('uses the pyspark of the active virtualenv (VIRTUAL_ENV), and its Python runs the driver', async () => {
    const runtime = await findSparkRuntime({
      env: {
        ...bare,
        VIRTUAL_ENV: withPyspark.dir,
        PATH: `${join(withPyspark.dir, 'bin')}${delimiter}${bare['PATH']}`,
      },
      searchFrom: outside,
    })
    expect(runtime.source).toBe('VIRTUAL_ENV')
    expect(runtime.python).toBe(withPyspark.python)
    expect(runtime.sparkHome).toBe(join(projectVenv.sitePackages, 'pyspark'))
    expect(runtime.sparkVersion).toBe(PYSPARK_VERSION)
    expect(runtime.env).toMatchObject({ PYSPARK_PYTHON: withPyspark.python, SPARK_HOME: runtime.sparkHome })
    // The runtime found that way runs a real job (the driver imports pyspark through the virtualenv).
    const result = await runPlan(
      {
        pipeline: 'venv-smoke',
        mode: 'run',
        steps: [{ nodeId: 'n', kind: 'query', sql: 'SELECT sum(id) AS total FROM range(0, 10)', limit: 1 }],
      },
      { runtime, master: 'local[1]' },
    )
    expect(result.error).toBeUndefined()
    expect(result.rows['n']?.rows).toEqual([{ total: 45 }])
  })

  it('uses the pyspark of python3 on PATH when no virtualenv is active', async () => {
    // A virtualenv's bin on PATH without activating it, as container images do (ENV PATH=/venv/bin:$PATH).
    const bin = join(withPyspark.dir, 'bin')
    const runtime = await findSparkRuntime({
      env: { ...bare, PATH: `${bin}${delimiter}${bare['PATH']}` },
      searchFrom: outside,
    })
    expect(runtime.source).toBe('PATH')
    expect(runtime.python).toBe(join(bin, 'python3'))
    expect(runtime.sparkHome).toBe(join(projectVenv.sitePackages, 'pyspark'))
  })

  it('uses the pyspark of SPARKLE_PYTHON (or the python option) before an active virtualenv', async () => {
    const runtime = await findSparkRuntime({
      env: { ...bare, SPARKLE_PYTHON: withPyspark.python, VIRTUAL_ENV: withoutPyspark.dir },
      searchFrom: outside,
    })
    expect(runtime.source).toBe('SPARKLE_PYTHON')
    expect(runtime.python).toBe(withPyspark.python)
    const byOption = await findSparkRuntime({ python: withPyspark.python, env: bare, searchFrom: outside })
    expect(byOption.source).toBe('python-option')
  })

  it('refuses a SPARKLE_PYTHON without pyspark, naming the pip command for that Python', async () => {
    const error = await findSparkRuntime({
      // An explicit choice is not overridden by a virtualenv that happens to have pyspark.
      env: { ...bare, SPARKLE_PYTHON: withoutPyspark.python, VIRTUAL_ENV: withPyspark.dir },
      searchFrom: outside,
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'SPARK_UNAVAILABLE', details: { missing: 'spark' } })
    const message = (error as Error).message
    expect(message).toContain(`SPARKLE_PYTHON=${withoutPyspark.python} has no pyspark`)
    expect(message).toContain(`${withoutPyspark.python} -m pip install pyspark==${PYSPARK_VERSION}`)
    expect(message).not.toContain('./sparkle')
  })

  it('says where it looked and what to install when nothing has pyspark (no ./sparkle setup outside the repo)', async () => {
    const error = (await findSparkRuntime({
      env: { ...bare, VIRTUAL_ENV: withoutPyspark.dir },
      searchFrom: outside,
    }).catch((e: unknown) => e)) as Error & { code?: string; details?: { missing?: string; searched?: string[] } }
    expect(error).toMatchObject({ code: 'SPARK_UNAVAILABLE', details: { missing: 'spark' } })
    expect(error.message).toContain(
      `install pyspark into the active virtualenv (${withoutPyspark.python} -m pip install pyspark==${PYSPARK_VERSION})`,
    )
    expect(error.message).toContain('or set SPARK_HOME to a Spark 4 distribution')
    expect(error.message).toContain('or set SPARKLE_PYTHON to a Python that has pyspark')
    expect(error.message).not.toContain('./sparkle')
    expect(error.details?.searched).toEqual([
      'the sparkHome option: not given',
      'SPARK_HOME: not set',
      'SPARKLE_PYTHON: not set',
      `the active virtualenv ${withoutPyspark.dir} (${withoutPyspark.python}): has no pyspark`,
      `.tools/spark-venv in ${outside.join(', ')} or their parents: none`,
      'python3 on PATH: none',
    ])

    // No virtualenv at all: the fix is to make one.
    const none = (await findSparkRuntime({ env: bare, searchFrom: outside }).catch((e: unknown) => e)) as Error
    expect(none.message).toContain(
      `python3 -m venv .venv && . .venv/bin/activate && pip install pyspark==${PYSPARK_VERSION}`,
    )
  })

  it('suggests ./sparkle setup only inside a checkout of this repository', async () => {
    const error = (await findSparkRuntime({
      env: bare,
      // A folder inside the checkout, but with the project's .tools/spark-venv out of reach: a fresh clone.
      searchFrom: [join(tmp.path, 'clone', 'packages', 'spark')],
    }).catch((e: unknown) => e)) as Error
    expect(error.message).not.toContain('./sparkle setup')
    await mkdir(join(tmp.path, 'clone', 'scripts'), { recursive: true })
    await mkdir(join(tmp.path, 'clone', 'packages', 'spark'), { recursive: true })
    await writeFile(join(tmp.path, 'clone', 'sparkle'), '#!/usr/bin/env bash\n')
    await writeFile(join(tmp.path, 'clone', 'scripts', 'sparkle.sh'), '')
    const inClone = (await findSparkRuntime({
      env: bare,
      searchFrom: [join(tmp.path, 'clone', 'packages', 'spark')],
    }).catch((e: unknown) => e)) as Error
    expect(inClone.message).toContain(`or, in this repository (${join(tmp.path, 'clone')}), run ./sparkle setup`)
  })
})

/** JAVA_HOME of a `java` executable (`<home>/bin/java`, links resolved). */
async function javaHomeOf(java: string): Promise<string> {
  const { stdout } = await execFileAsync('sh', ['-c', `readlink -f "$(command -v ${java})"`])
  return dirname(dirname(stdout.trim()))
}
