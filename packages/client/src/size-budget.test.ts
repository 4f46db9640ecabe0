import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'rolldown'
import { describe, expect, it } from 'vitest'

/** The client's size budget for a browser app, minified and gzipped, ky included. */
const BUDGET_BYTES = 15 * 1024

describe('client size budget', () => {
  it(`bundles for the browser under ${BUDGET_BYTES / 1024} KiB gzipped, with no zod and no Node built-in`, async () => {
    const result = await build({
      input: join(import.meta.dirname, 'index.ts'),
      platform: 'browser',
      write: false,
      treeshake: true,
      resolve: { conditionNames: ['@sparkle-studio/source', 'import', 'browser', 'default'] },
      output: { format: 'esm', minify: true },
    })
    const code = result.output[0].code
    const gzipped = gzipSync(code).length
    for (const zodMarker of ['ZodType', '$ZodType', 'toJSONSchema', '"zod"', "'zod'"]) {
      expect(code, zodMarker).not.toContain(zodMarker)
    }
    expect(code).not.toContain('node:')
    // Nothing is left as an import: ky and core's routes entry are in the bundle.
    expect(code).not.toMatch(/\bimport\s*[{*\w"']/)
    expect(gzipped).toBeLessThan(BUDGET_BYTES)
    console.log(`client bundle: ${code.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`)
  }, 60_000)
})
