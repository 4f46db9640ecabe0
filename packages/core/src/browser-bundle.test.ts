import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { build } from 'rolldown'
import { describe, expect, it } from 'vitest'

describe('@sparkle-studio/core in a browser', () => {
  it('bundles for the browser with no Node built-in and runs where Node globals do not exist', async () => {
    const result = await build({
      input: join(import.meta.dirname, 'index.ts'),
      platform: 'browser',
      write: false,
      output: { format: 'iife', name: 'SparkleCore' },
      onwarn(warning, warn) {
        if (warning.code === 'UNRESOLVED_IMPORT') throw new Error(warning.message)
        warn(warning)
      },
    })
    const code = result.output[0].code
    expect(code).not.toMatch(/(require\(|import\(|from )['"]node:/)
    // A realm with only what a browser page also has: no process, require, Buffer or module.
    const sandbox: Record<string, unknown> = { console, URL, TextEncoder, TextDecoder, structuredClone }
    runInNewContext(`${code}\nthis.result = { count: SparkleCore.createDefaultRegistry().list().length }`, sandbox)
    expect((sandbox['result'] as { count: number }).count).toBeGreaterThanOrEqual(25)
  }, 60_000)
})
