// docs/guides/embedding.md and docs/guides/browser-client.md, as a reader runs them, each in a project made with its
// own npm install line: the guide's Express server on a machine without Spark (it starts, and says what is missing),
// then on real Spark (pyspark from an active virtualenv, no SPARK_HOME, no SPARKLE_PYTHON), its client script, every example of the browser guide against that server (and its client
// module bundled for a browser), then, with the server stopped, the scripts that open the same data folder: the use
// cases without HTTP, and the nightly script on Spark found through SPARK_HOME; then the node:http server and the
// server whose callers come from the host's own sessions, each on its own data folder. One file, so one server and
// one warm Spark serve both guides.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { noSparkEnv, runNode, sparkEnv } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { assertNoProcessLeft, freePort, type ServerProcess, startNodeServer, stopNodeServer } from '../processes.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, ownFileName, writeBlock } from './lib.ts'

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

const embedding = new Guide('embedding.md')
const browser = new Guide('browser-client.md')
const BROWSER_BASE_URL = 'https://studio.example.com'
const BUDGET_BYTES = 15 * 1024

describe('guides: embedding, and the browser client against its server', () => {
  itInstallsWhatItImports(embedding)
  itInstallsWhatItImports(browser)

  const dataDir = () => join(inject('consumerRoot'), 'embedding-data')

  it('the Express server starts without Spark, answers, and its health says what is missing and the fix', async () => {
    const file = await writeBlock(embedding, embedding.run('## Express: the API in one line', 0), 'server.ts')
    const data = join(inject('consumerRoot'), 'embedding-no-spark')
    const port = await freePort()
    const server = await startNodeServer(file, {
      cwd: await guideDir(embedding),
      env: noSparkEnv({ DATA_DIR: data, PORT: String(port) }),
      ready: /listening on/,
      timeoutMs: 120_000,
    })
    try {
      const key = readFileSync(join(data, 'admin-key'), 'utf8').trim()
      const get = async (path: string) => {
        const answer = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
          headers: { authorization: `Bearer ${key}` },
        })
        return { status: answer.status, body: (await answer.json()) as { data?: Record<string, unknown> } }
      }
      const health = await get('/health')
      const checks = health.body.data?.['checks'] as Record<string, { ok: boolean }> | undefined
      expect(checks?.['spark']?.ok, JSON.stringify(health.body)).toBe(false)
      expect(JSON.stringify(checks?.['spark'])).toContain('pip install pyspark==4.3.0')
      expect(checks?.['git']?.ok).toBe(true)
      expect(checks?.['database']?.ok).toBe(true)
      expect((await get('/pipelines')).status).toBe(200)
    } finally {
      await stopNodeServer(server, 30_000)
      await assertNoProcessLeft(data, 30_000)
    }
  })

  describe("the Express server of 'Express: the API in one line'", () => {
    let server: ServerProcess | undefined
    let port = 0
    let token = ''
    /** The `data` of an API answer, with the admin key. */
    const api = async (path: string): Promise<unknown> => {
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(answer.status, path).toBe(200)
      return ((await answer.json()) as { data: unknown }).data
    }
    /** Runs a browser guide block in Node, pointed at the server, with what it declares supplied. */
    const runBrowserBlock = async (heading: string, index: number, supply: Record<string, string> = {}) => {
      const file = await writeBlock(
        browser,
        browser.run(heading, index),
        `${heading.slice(3).replace(/\W+/g, '-')}.ts`,
        supply,
      )
      return runNode(file, { cwd: await guideDir(browser), env: sparkEnv('virtualenv', { SPARKLE_TOKEN: token }) })
    }

    beforeAll(async () => {
      const file = await writeBlock(embedding, embedding.run('## Express: the API in one line', 0), 'server.ts')
      port = await freePort()
      server = await startNodeServer(file, {
        cwd: await guideDir(embedding),
        env: sparkEnv('virtualenv', { DATA_DIR: dataDir(), PORT: String(port) }),
        ready: /listening on/,
        timeoutMs: 180_000,
      })
      // The first start created an admin key, printed it once and kept it in a 0600 file.
      const keyFile = join(dataDir(), 'admin-key')
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      token = readFileSync(keyFile, 'utf8').trim()
      expect(server.output()).toContain(token)
    })

    afterAll(async () => {
      if (!server) return
      try {
        await stopNodeServer(server, 60_000)
      } finally {
        await assertNoProcessLeft(dataDir(), 30_000)
      }
    })

    it('serves the API, Spark found in the active virtualenv, anonymous callers refused', async () => {
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`)).status).toBe(401)
      const health = (await api('/health')) as { checks?: Record<string, unknown> }
      expect(health.checks?.['spark'], JSON.stringify(health)).toMatchObject({ ok: true })
      expect(health.checks?.['git']).toMatchObject({ ok: true })
      expect(health.checks?.['database']).toMatchObject({ ok: true, dialect: 'pglite' })
    })

    it("runs the guide's client script: creates daily-revenue, previews every node, runs it to success", async () => {
      const file = await writeBlock(embedding, embedding.run('## Express: the API in one line', 1), 'client.ts')
      const env = sparkEnv('virtualenv', { SPARKLE_URL: `http://127.0.0.1:${port}`, SPARKLE_TOKEN: token })
      const { stdout } = await runNode(file, { cwd: await guideDir(embedding), env })
      expect(stdout, server?.output()).toMatch(/^created daily-revenue at [0-9a-f]{40}$/m)
      for (const node of ['orders', 'paid', 'revenue'])
        expect(stdout).toMatch(new RegExp(`^${node}: [1-9]\\d* rows$`, 'm'))
      expect(stdout, `${stdout}\n${server?.output()}`).toMatch(/^run \S+ succeeded$/m)
      const output = join(dataDir(), 'output', 'daily_revenue', 'ds=2026-11-01')
      expect(existsSync(join(output, '_SUCCESS')), output).toBe(true)
      expect(readdirSync(output).some((f) => f.endsWith('.parquet'))).toBe(true)

      // Run again, as a reader does: the pipeline exists, so it is not created twice.
      const again = await runNode(file, { cwd: await guideDir(embedding), env })
      expect(again.stdout).not.toContain('created')
      expect(again.stdout).toMatch(/^run \S+ succeeded$/m)
    })

    it("bundles the browser guide's client module for a browser within 15 KB gzipped, without zod or Node built-ins", async () => {
      const connect = browser.run('## Connect', 0)
      expect(ownFileName(connect)).toBe('studio-client.ts')
      const entry = await writeBlock(browser, connect, 'bundle-entry.ts', {
        getAccessToken: "const getAccessToken = async () => sessionStorage.getItem('sparkle-token') ?? ''",
      })
      // esbuild from the tests' own project; the bundle resolves the client in the browser guide's project.
      const esbuild = createRequire(join(inject('consumerApp'), 'package.json'))('esbuild') as Esbuild
      const result = await esbuild
        .build({
          absWorkingDir: await guideDir(browser),
          entryPoints: [entry],
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
      expect(inputs.filter((f) => !f.startsWith('node_modules/') && !f.endsWith('bundle-entry.ts'))).toEqual([])
      const code = result.outputFiles[0]?.text ?? ''
      for (const zodMarker of ['ZodType', '$ZodType', 'toJSONSchema']) expect(code, zodMarker).not.toContain(zodMarker)
      expect(code).not.toContain('node:')
      expect(code).not.toContain('require(')
      const gzipped = gzipSync(code).length
      expect(gzipped).toBeLessThan(BUDGET_BYTES)
      console.log(
        `client bundle (packed, esbuild): ${code.length} bytes minified, ${gzipped} gzipped (budget ${BUDGET_BYTES})`,
      )
    })

    it("browser guide, Connect: the client module, pointed at the server, with the signed-in user's key", async () => {
      const connect = browser.run('## Connect', 0)
      expect(connect.code).toContain(BROWSER_BASE_URL)
      const pointed = { ...connect, code: connect.code.replaceAll(BROWSER_BASE_URL, `http://127.0.0.1:${port}`) }
      await writeBlock(browser, pointed, 'studio-client.ts', {
        getAccessToken: "const getAccessToken = async (): Promise<string> => process.env['SPARKLE_TOKEN'] ?? ''",
      })
    })

    it('browser guide: builds the palette and a form, validates a config on the server', async () => {
      const { stdout } = await runBrowserBlock('## Build the palette and the forms', 0)
      expect(stdout).toMatch(/^Clean \d+$/m)
      expect(stdout).toContain('transformer/filter@1')
      expect(stdout).toMatch(/^true \{ condition: "status = 'paid'" \} \[\]$/m)
    })

    it('browser guide: opens daily-revenue and saves it under its blob, one commit', async () => {
      const { stdout } = await runBrowserBlock('## Open and save a pipeline without losing updates', 0)
      expect(stdout).toMatch(/^editing daily-revenue at [0-9a-f]{40}$/m)
      expect(stdout).toMatch(/^commit [0-9a-f]{40} by .+; next save sends "?[0-9a-f]{40}"?$/m)
      const saved = (await api('/pipelines/daily-revenue')) as { document: { description?: string } }
      expect(saved.document.description).toBe('Paid orders per customer and day')
      // As the guide says: without if-match, a save over the existing pipeline is refused.
      const blind = await fetch(`http://127.0.0.1:${port}/api/v1/pipelines/daily-revenue`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ document: saved.document }),
      })
      expect(blind.status).toBe(428)
    })

    const draft =
      "const draft: PipelineDocument = (await (await import('./studio-client.ts')).client.getPipeline({ params: { name: 'daily-revenue' } })).document"

    it('browser guide: validates a draft in the page with the same registry as the server', async () => {
      const { stdout } = await runBrowserBlock('## Open and save a pipeline without losing updates', 1, { draft })
      expect(stdout).toMatch(/^0 problems \[\]$/m)
    })

    it("browser guide: previews a draft on the server's warm Spark session", async () => {
      const { stdout } = await runBrowserBlock('## Preview while editing', 0, { draft })
      expect(stdout).toMatch(/^orders \[/m)
      expect(stdout).toMatch(/^revenue \[/m)
      expect(stdout).toMatch(/^\d+ nodes in \d+ ms$/m)
      expect(stdout).not.toMatch(/UPSTREAM_FAILED|AnalysisException/)
    })

    const UPLOAD = '## Upload sample data and preview on it'
    /** The id of the newest artifact of that name, as the blocks that take an `artifactId` get it. */
    const artifactId = (name: string) =>
      `const artifactId = (await (await import('./studio-client.ts')).client.listArtifacts({ query: { q: '${name}', limit: 1 } })).items[0]?.id ?? ''`
    /** The CSV the guide's Node script uploads, as it is written there. */
    const guideCsv = () => {
      const csv = /^const csv = `([^`]*)`$/m.exec(browser.run(UPLOAD, 2).code)?.[1]
      expect(csv, 'the upload script writes its CSV as one template literal').toBeDefined()
      return csv ?? ''
    }
    /** An artifact as the API answers it, with the admin key. */
    const artifactNamed = async (name: string) => {
      const page = (await api(`/artifacts?q=${encodeURIComponent(name)}&limit=1`)) as {
        items: { id: string; name: string; size: number; sha256: string; rowCount: number }[]
      }
      const artifact = page.items[0]
      expect(artifact, name).toBeDefined()
      return artifact as NonNullable<typeof artifact>
    }

    it('browser guide: the upload module, next to the client module', async () => {
      const module = browser.run(UPLOAD, 0)
      expect(ownFileName(module)).toBe('upload-sample.ts')
      await writeBlock(browser, module, 'upload-sample.ts')
    })

    it('browser guide: uploads a CSV built in Node with progress, reads its columns and first rows', async () => {
      const { stdout } = await runBrowserBlock(UPLOAD, 2)
      const csv = guideCsv()
      const size = new TextEncoder().encode(csv).length
      expect(stdout).toContain(`sent ${size} of ${size} bytes`)
      const artifact = await artifactNamed('orders-sample.csv')
      expect(stdout).toContain(`orders-sample.csv (${artifact.id}): 4 rows, ${size} bytes`)
      expect(artifact).toMatchObject({ name: 'orders-sample.csv', size, rowCount: 4 })
      expect(stdout).toMatch(/^order_id: int, customer_id: string, order_date: date, amount: double, status: string$/m)
      // The sample: typed values, the quoted comma kept.
      expect(stdout).toMatch(/order_id: 1001,/)
      expect(stdout).toMatch(/amount: 12\.5,/)
      expect(stdout).toContain("customer_id: 'c-chen, jr'")
      // What the upload stored is the file, byte for byte.
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1/artifacts/${artifact.id}/download`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(answer.status).toBe(200)
      expect(await answer.text()).toBe(csv)
    })

    it("browser guide: the page's file input uploads the picked file and shows its progress", async () => {
      const picked = 'id,amount\n1,2.5\n2,4\n'
      const { stdout } = await runBrowserBlock(UPLOAD, 1, {
        // A file input with a file picked (the change event comes once the listener is there), and a progress bar.
        picker: `const picker = Object.assign(new EventTarget(), { files: [new File([${JSON.stringify(picked)}], 'picked.csv', { type: 'text/csv' })] }); setTimeout(() => picker.dispatchEvent(new Event('change')))`,
        progress: "const progress = { set value(v: number) { console.log('progress', v) } }",
      })
      expect(stdout).toMatch(/^progress 1$/m)
      expect(stdout).toMatch(/^picked\.csv: 2 rows/m)
      expect(stdout).toMatch(/name: 'amount', type: 'double'/)
      expect(stdout).toMatch(/amount: 2\.5/)
    })

    it('browser guide: dry-runs a document whose CSV ingestor reads the artifact', async () => {
      const { stdout } = await runBrowserBlock(UPLOAD, 3, { artifactId: artifactId('orders-sample.csv') })
      expect(stdout).toMatch(/^orders \[ 1001, 1002, 1003, 1004 \]$/m)
      expect(stdout).toMatch(/^paid \[ 1001, 1003, 1004 \]$/m)
    })

    it("browser guide: previews daily-revenue on the artifact through the orders node's previewSample", async () => {
      const { stdout } = await runBrowserBlock(UPLOAD, 4, { draft, artifactId: artifactId('orders-sample.csv') })
      // The sums of the upload, not of the sample data the template's path names.
      expect(stdout).toMatch(/customer_id: 'c-ada',\s+orders: 2,\s+revenue: 112\.5/)
      expect(stdout).toMatch(/customer_id: 'c-chen, jr',\s+orders: 1,\s+revenue: 3\.1/)
      expect(stdout).not.toContain('c-bob')
      // Nothing was saved: the pipeline still reads no artifact, and runs read its path.
      const saved = (await api('/pipelines/daily-revenue')) as { document: unknown }
      expect(JSON.stringify(saved.document)).not.toContain('$artifact')
    })

    it('browser guide: downloads the artifact whole (SHA-256 checked) and by byte range', async () => {
      const { stdout } = await runBrowserBlock(UPLOAD, 5, { artifactId: artifactId('orders-sample.csv') })
      const artifact = await artifactNamed('orders-sample.csv')
      expect(stdout).toMatch(new RegExp(`^orders-sample\\.csv: ${artifact.size} bytes, SHA-256 matches$`, 'm'))
      const header = guideCsv().split('\n')[0] ?? ''
      expect(header.length).toBe(45)
      expect(stdout).toContain(`206 bytes 0-44/${artifact.size} ${JSON.stringify(header)}`)
    })

    it('browser guide: runs daily-revenue and follows it to the end', async () => {
      const buttons = 'const $1 = new EventTarget() // stands for the button; nobody clicks it here'
      const { stdout } = await runBrowserBlock('## Run and follow', 0, {
        cancelButton: buttons.replace('$1', 'cancelButton'),
        closeButton: buttons.replace('$1', 'closeButton'),
      })
      expect(stdout).toMatch(/^status submitting$/m)
      expect(stdout).toMatch(/^tasks [1-9]\d* \/ [1-9]\d*$/m)
      expect(stdout).toMatch(/^finished succeeded$/m)
      expect(stdout).toMatch(/^succeeded /m)
    })

    it('has a second pipeline (from the customer-orders template) for the every-pipeline script below', async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'customer-orders', template: 'customer-orders' }),
      })
      expect(answer.status).toBe(201)
    })

    it('browser guide: the errors example reaches the server without an error', async () => {
      const { stdout, stderr } = await runBrowserBlock('## Errors', 0)
      expect(`${stdout}${stderr}`).toBe('')
    })
  })

  it("'Without HTTP': the use cases on the stopped server's data folder queue a run of every pipeline", async () => {
    const file = await writeBlock(embedding, embedding.run('## Without HTTP', 0), 'without-http.ts')
    const { stdout } = await runNode(file, {
      cwd: await guideDir(embedding),
      env: sparkEnv('virtualenv', { DATA_DIR: dataDir() }),
    })
    const queued = stdout.trim().split('\n')
    expect(queued.map((line) => line.replace(/^queued \S+ for /, '')).sort()).toEqual([
      'customer-orders',
      'daily-revenue',
    ])
  })

  it("'A script': runs daily-revenue for 2026-11-02 from the repository, Spark found through SPARK_HOME", async () => {
    const file = await writeBlock(embedding, embedding.run('## A script', 0), 'nightly.ts')
    const { stdout } = await runNode(file, {
      cwd: await guideDir(embedding),
      env: sparkEnv('SPARK_HOME', { DATA_DIR: dataDir() }),
      args: ['daily-revenue', '2026-11-02'],
    })
    expect(stdout).toMatch(/^daily-revenue 2026-11-02 at [0-9a-f]{12}: succeeded, application local-\S+$/m)
    const output = join(dataDir(), 'output', 'daily_revenue', 'ds=2026-11-02')
    expect(existsSync(join(output, '_SUCCESS')), output).toBe(true)
  })

  it("'Without Express': the same API on node:http and as a fetch handler", async () => {
    const file = await writeBlock(embedding, embedding.run('## Without Express', 0), 'without-express.ts')
    const data = join(inject('consumerRoot'), 'embedding-node-http')
    const port = await freePort()
    const server = await startNodeServer(file, {
      cwd: await guideDir(embedding),
      env: sparkEnv('virtualenv', { DATA_DIR: data, PORT: String(port) }),
      // Both the fetch handler's answer and the node:http server's, in either order.
      ready: /^(?=[\s\S]*listening on)(?=[\s\S]*^200 \{)/m,
      timeoutMs: 120_000,
    })
    try {
      const live = await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch((error: unknown) => {
        throw new Error(`the server is not listening on ${port}:\n${server.output()}`, { cause: error })
      })
      expect(live.status).toBe(200)
      const key = readFileSync(join(data, 'admin-key'), 'utf8').trim()
      const list = await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`, {
        headers: { authorization: `Bearer ${key}` },
      })
      expect(list.status).toBe(200)
      expect(((await list.json()) as { data: unknown }).data).toEqual([])
    } finally {
      await stopNodeServer(server, 30_000)
      await assertNoProcessLeft(data, 30_000)
    }
  })

  it("'Who is calling': the host's sessions authenticate callers, roles are checked, saves are authored by the caller", async () => {
    const file = await writeBlock(embedding, embedding.run('## Who is calling', 0), 'host-auth.ts', {
      // The host application's own session lookup: here, one signed-in user.
      sessionUser:
        "const sessionUser = (cookie: string | undefined) => (cookie === 'session=ada' ? { id: 'ada', name: 'Ada Lovelace', admin: false } : undefined)",
    })
    const data = join(inject('consumerRoot'), 'embedding-host-auth')
    const port = await freePort()
    const server = await startNodeServer(file, {
      cwd: await guideDir(embedding),
      env: sparkEnv('virtualenv', { DATA_DIR: data, PORT: String(port) }),
      ready: /listening on/,
      timeoutMs: 120_000,
    })
    try {
      const url = `http://127.0.0.1:${port}/api/v1`
      const ada = { cookie: 'session=ada' }
      expect((await fetch(`${url}/pipelines`)).status).toBe(401)
      expect((await fetch(`${url}/pipelines`, { headers: { cookie: 'session=mallory' } })).status).toBe(401)
      expect((await fetch(`${url}/pipelines`, { headers: ada })).status).toBe(200)
      expect((await fetch(`${url}/keys`, { headers: ada })).status, 'an editor manages no keys').toBe(403)
      const created = await fetch(`${url}/pipelines`, {
        method: 'POST',
        headers: { ...ada, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'revenue', template: 'daily-revenue' }),
      })
      expect(created.status, await created.clone().text()).toBe(201)
      const author = execFileSync('git', ['--git-dir', join(data, 'repo.git'), 'log', '-1', '--format=%an', 'main'], {
        encoding: 'utf8',
      })
      expect(author.trim()).toBe('Ada Lovelace')
    } finally {
      await stopNodeServer(server, 30_000).catch(() => server.child.kill('SIGKILL'))
      await assertNoProcessLeft(data, 30_000)
    }
  })

  itAccountsForEveryBlock(embedding)
  itAccountsForEveryBlock(browser)
})
