import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '@sparkle-studio/test-utils'
import { describe, expect, it } from 'vitest'
import { findSparkRuntime, parseJavaVersion } from './runtime.ts'

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
})
