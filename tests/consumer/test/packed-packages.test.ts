// What an outsider does: npm-install the packed packages in a project outside the workspace, bundle the client for a
// browser, and run the embedding guide's server on real Spark, talking to it with the packed client.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { StudioClient } from '@sparkle-studio/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, installConsumer, outsiderEnv, packAll, run, WORKSPACE } from './consumer-project.ts'
import { codeBlocksUnder } from './guide.ts'
import { assertNoProcessLeft, type ServerProcess, startNodeServer, stopNodeServer } from './processes.ts'

type ClientModule = typeof import('@sparkle-studio/client')

/** The part of esbuild's JS API the bundle test calls. */
interface Esbuild {
  build(options: Readonly<Record<string, unknown>>): Promise<{
    readonly errors: readonly { readonly text: string }[]
    readonly outputFiles: readonly { readonly text: string }[]
    readonly metafile: { readonly inputs: Readonly<Record<string, unknown>> }
  }>
  /** Ends esbuild's service process. */
  stop(): Promise<void> | void
}

const GUIDE = join(WORKSPACE, 'docs', 'guides', 'embedding.md')
const GUIDE_HEADING = '## Express: the API in one line'
const GUIDE_BASE_URL = 'http://127.0.0.1:3000'
const BUDGET_BYTES = 15 * 1024
const DS = '2026-11-01'

let root = ''
let appDir = ''

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

describe('the packed packages, installed with npm outside the workspace', () => {
  beforeAll(async () => {
    assertBuilt()
    root = await mkdtemp(join(tmpdir(), 'sparkle-consumer-'))
    appDir = join(root, 'app')
    await mkdir(join(root, 'packs'))
    await mkdir(appDir)
    await installConsumer(appDir, await packAll(join(root, 'packs')))
  })

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true })
  })

  it('the client bundles for the browser within 15 KB gzipped, without zod or Node built-ins', async () => {
    await writeFile(
      join(appDir, 'entry.ts'),
      [
        "import { createStudioClient } from '@sparkle-studio/client'",
        '',
        'export function pipelines(baseUrl: string) {',
        '  return createStudioClient({ baseUrl }).listPipelines()',
        '}',
        '',
      ].join('\n'),
    )
    const esbuild = createRequire(join(appDir, 'package.json'))('esbuild') as Esbuild
    const result = await esbuild
      .build({
        absWorkingDir: appDir,
        entryPoints: ['entry.ts'],
        platform: 'browser',
        bundle: true,
        minify: true,
        format: 'esm',
        write: false,
        metafile: true,
        logLevel: 'silent',
      })
      .finally(() => esbuild.stop())
    expect(result.errors).toEqual([])
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs).toContain('node_modules/@sparkle-studio/client/dist/index.js')
    expect(inputs.filter((file) => file !== 'entry.ts' && !file.startsWith('node_modules/'))).toEqual([])

    const code = result.outputFiles[0]?.text ?? ''
    for (const zodMarker of ['ZodType', '$ZodType', 'toJSONSchema']) expect(code, zodMarker).not.toContain(zodMarker)
    expect(code).not.toContain('node:')
    expect(code).not.toContain('require(')
    const gzipped = gzipSync(code).length
    expect(gzipped).toBeLessThan(BUDGET_BYTES)
    console.log(
      `client bundle (packed, esbuild): ${code.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`,
    )
  })

  describe("the embedding guide's Express server", () => {
    const blocks = codeBlocksUnder(GUIDE, GUIDE_HEADING, 'ts')
    let server: ServerProcess | undefined
    let client: StudioClient
    let dataDir = ''
    let token = ''
    let port = 0

    beforeAll(async () => {
      const serverCode = blocks[0]
      if (!serverCode) throw new Error(`${GUIDE}: no \`\`\`ts block under "${GUIDE_HEADING}"`)
      await writeFile(join(appDir, 'server.ts'), serverCode)
      dataDir = join(root, 'data')
      port = await freePort()
      const passThrough = ['SPARK_HOME', 'SPARKLE_PYTHON', 'JAVA_HOME', 'PATH'] as const
      const env: NodeJS.ProcessEnv = { DATA_DIR: dataDir, PORT: String(port) }
      for (const key of passThrough) if (process.env[key] !== undefined) env[key] = process.env[key]
      server = await startNodeServer(join(appDir, 'server.ts'), {
        cwd: appDir,
        env,
        ready: /listening on/,
        timeoutMs: 180_000,
      })
      const packed = join(appDir, 'node_modules', '@sparkle-studio', 'client', 'dist', 'index.js')
      const { createStudioClient } = (await import(pathToFileURL(packed).href)) as ClientModule
      // A cold Spark preview on a shared machine can take longer than the client's default 30 s.
      // Authentication is on: the first start created an admin key, printed it once and kept it in a 0600 file.
      const keyFile = join(dataDir, 'admin-key')
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      token = readFileSync(keyFile, 'utf8').trim()
      expect(server.output()).toContain(token)
      client = createStudioClient({ baseUrl: `http://127.0.0.1:${port}`, timeout: 300_000, token })
    })

    afterAll(async () => {
      if (!server) return
      try {
        await stopNodeServer(server, 60_000)
      } finally {
        await assertNoProcessLeft(root, 30_000)
      }
    })

    it('serves the API against real Spark, mounted in one line', async () => {
      const anonymous = await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`)
      expect(anonymous.status).toBe(401)
      const health = await client.health()
      expect(health.checks?.spark, `spark: ${JSON.stringify(health.checks?.spark)}`).toMatchObject({ ok: true })
      expect(health.checks?.git).toMatchObject({ ok: true })
      expect(health.checks?.database).toMatchObject({ ok: true, dialect: 'pglite' })

      const pipeline = 'outsider-revenue'
      const created = await client.createPipeline({ body: { name: pipeline, template: 'daily-revenue' } })
      expect(created.revision).toMatch(/^[0-9a-f]{40}$/)

      const preview = await client.dryRun({ body: { pipeline, params: { ds: DS }, limit: 5 } })
      expect(preview.nodes.length).toBeGreaterThan(0)
      for (const node of preview.nodes) {
        expect(node.error, `${node.nodeId}: ${node.error?.message}`).toBeUndefined()
        expect(node.rows?.length, node.nodeId).toBeGreaterThan(0)
      }

      const started = await client.run({ body: { pipeline, params: { ds: DS } } })
      const seen: string[] = []
      let ended: { status: string; error?: unknown } | undefined
      for await (const e of client.streamExecutionEvents(started.id, { signal: AbortSignal.timeout(300_000) })) {
        if (e.event === 'end') {
          ended = e.data
          break
        }
        seen.push(e.event === 'log' ? e.data.payload.line : `${e.event} ${JSON.stringify(e.data.payload)}`)
      }
      expect(ended?.status, `${JSON.stringify(ended)}\n${seen.join('\n')}\n${server?.output()}`).toBe('succeeded')
      expect((await client.getExecution({ params: { id: started.id } })).status).toBe('succeeded')

      const output = join(dataDir, 'output', 'daily_revenue', `ds=${DS}`)
      expect(existsSync(join(output, '_SUCCESS')), output).toBe(true)
      expect(readdirSync(output).some((file) => file.endsWith('.parquet'))).toBe(true)
    })

    it("runs the guide's client snippet against it", async () => {
      const snippet = blocks.find((block) => block.startsWith('import { createStudioClient }'))
      if (!snippet) throw new Error(`${GUIDE}: no client snippet under "${GUIDE_HEADING}"`)
      expect(snippet).toContain(GUIDE_BASE_URL)
      await writeFile(join(appDir, 'client.ts'), snippet.replaceAll(GUIDE_BASE_URL, `http://127.0.0.1:${port}`))
      const out = await run(process.execPath, [join(appDir, 'client.ts')], {
        cwd: appDir,
        env: outsiderEnv({ SPARKLE_TOKEN: token }),
      })
      expect(out).toMatch(/^run \S+ succeeded$/m)
    })
  })
})
