import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'rolldown'
import { describe, expect, it } from 'vitest'

/** The client's size budget for a browser app, minified and gzipped, ky included. */
const BUDGET_BYTES = 12 * 1024

describe('client size budget', () => {
  it(`bundles for the browser under ${BUDGET_BYTES / 1024} KiB gzipped, with no zod schemas`, async () => {
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
    expect(code).not.toContain('toJSONSchema')
    expect(gzipped).toBeLessThan(BUDGET_BYTES)
    console.log(`client bundle: ${code.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`)
  }, 60_000)
})
