// The typed client as a browser app gets it: the built package bundled with esbuild (minified, gzipped), beside ky
// alone (the HTTP library it wraps) bundled the same way. The consumer test does the same from the packed package
// installed with npm, against a 15 KB gzip budget.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { type BenchResult, round, runIfMain } from './lib.ts'

async function bundle(dir: string, name: string, source: string): Promise<{ min: number; gzip: number }> {
  const entry = join(dir, `${name}.ts`)
  await writeFile(entry, source)
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    absWorkingDir: import.meta.dirname,
    nodePaths: [join(import.meta.dirname, '..', 'node_modules')],
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]?.contents ?? new Uint8Array()
  return { min: code.length, gzip: gzipSync(code).length }
}

/** Runs the benchmark. */
export async function run(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-bench-bundle-'))
  try {
    const client = await bundle(
      dir,
      'client',
      `import { createStudioClient } from '@sparkle-studio/client'
export const list = (baseUrl: string) => createStudioClient({ baseUrl }).listPipelines()`,
    )
    const ky = await bundle(dir, 'ky', `import ky from 'ky'\nexport const get = (url: string) => ky.get(url).json()`)
    return {
      name: 'client bundle (esbuild, browser, minified)',
      rows: [
        {
          metric: 'client bundle, gzipped',
          value: client.gzip,
          unit: 'bytes',
          anchor: 'ky alone, gzipped',
          anchorValue: ky.gzip,
          ratio: round(client.gzip / ky.gzip),
          ratioLabel: "x ky's size",
          target: '<= 15,360 bytes (15 KB)',
        },
        {
          metric: 'client bundle, minified',
          value: client.min,
          unit: 'bytes',
          anchor: 'ky alone, minified',
          anchorValue: ky.min,
          ratio: round(client.min / ky.min),
          ratioLabel: "x ky's size",
        },
      ],
      notes: ['The client bundles the routes table, errors and SSE parsing of core/routes, and ky; no zod.'],
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
