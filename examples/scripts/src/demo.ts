// The quick-start demo behind `./sparkle demo`: the example server process (with its embedded worker) on embedded
// defaults (PGlite, a git repository, local Spark), driven through the typed client, as any client would. Everything
// lives in .demo/ (git-ignored) and is reused by the next run. `./sparkle demo --keep` leaves the server running.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { ApiNotFoundError, createStudioClient, type StudioClient } from '@sparkle-studio/client'

const root = resolve(import.meta.dirname, '..', '..', '..')
const dataDir = join(root, '.demo')
const keep = process.argv.includes('--keep')
const color = process.stdout.isTTY
  ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m`
  : (_: number, s: string) => s
const bold = (s: string) => color(1, s)
const dim = (s: string) => color(2, s)
const green = (s: string) => color(32, s)

function table(rows: readonly Record<string, unknown>[], max = 8): string {
  const first = rows[0]
  if (!first) return dim('  (no rows)')
  const cols = Object.keys(first)
  const cell = (v: unknown) =>
    v === null || v === undefined ? 'null' : typeof v === 'number' ? String(Math.round(v * 100) / 100) : String(v)
  const shown = rows.slice(0, max)
  const widths = cols.map((c) => Math.min(24, Math.max(c.length, ...shown.map((r) => cell(r[c]).length))))
  const line = (vals: string[]) => `  ${vals.map((v, i) => v.slice(0, 24).padEnd(widths[i] ?? 0)).join('  ')}`
  const out = [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...shown.map((r) => line(cols.map((c) => cell(r[c])))),
  ]
  if (rows.length > max) out.push(dim(`  … ${rows.length - max} more rows`))
  return out.join('\n')
}

function bar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} tasks`
}

async function ensurePipeline(client: StudioClient, name: string, template: string): Promise<void> {
  try {
    await client.getPipeline({ params: { name } })
    console.log(`  ${name}: already in git ${dim('(reused)')}`)
  } catch (error) {
    if (!(error instanceof ApiNotFoundError)) throw error
    const saved = await client.createPipeline({ body: { name, template } })
    console.log(`  ${name}: created from template ${template}, commit ${saved.revision.slice(0, 12)}`)
  }
}

/** Runs a pipeline and shows a live progress bar fed by Spark's task progress, until the run ends. */
async function runWithProgress(
  client: StudioClient,
  pipeline: string,
  params: Record<string, string>,
): Promise<string> {
  const run = await client.run({ body: { pipeline, params } })
  console.log(`  run ${run.id} queued`)
  let uiShown = false
  let status = 'queued'
  let last = ''
  const show = (done: number, total: number) => {
    const line = `  ${bar(done, total)}`
    if (line === last) return
    if (process.stdout.isTTY) process.stdout.write(`\r${line}`)
    else console.log(line)
    last = line
  }
  for await (const e of client.streamExecutionEvents(run.id)) {
    const data = e.data as { type?: string; payload?: Record<string, unknown>; status?: string }
    if (e.event === 'status' && typeof data.payload?.['status'] === 'string') status = data.payload['status']
    if (
      data.type === 'spark' &&
      data.payload?.['type'] === 'started' &&
      !uiShown &&
      typeof data.payload['uiUrl'] === 'string'
    ) {
      uiShown = true
      console.log(`  Spark UI while it runs: ${data.payload['uiUrl']}`)
    }
    // Spark's task counts while it runs (a job's tasks are known when it starts, so the total grows job by job),
    // then the run's final counts.
    if (data.type === 'progress' && Number(data.payload?.['totalTasks'] ?? 0) > 0) {
      show(Number(data.payload?.['completedTasks'] ?? 0), Number(data.payload?.['totalTasks'] ?? 0))
    }
    if (e.event === 'end') status = String(data.status)
  }
  const final = await client.getExecution({ params: { id: run.id } })
  if (final.progress && final.progress.totalTasks > 0) show(final.progress.completedTasks, final.progress.totalTasks)
  if (process.stdout.isTTY && last) process.stdout.write('\n')
  console.log(
    `  run ${run.id}: ${status === 'succeeded' ? green(status) : status} (Spark application ${final.appId ?? '-'})`,
  )
  if (status !== 'succeeded') console.log(`  error: ${JSON.stringify(final.error)}\n  logs: ${final.logsUrl}`)
  // Which node took the time and how many rows it read and wrote, from Spark's own counts.
  const { steps, usage } = await client.executionSteps({ params: { id: run.id } })
  console.log(
    table(
      steps.map((s) => ({
        node: s.nodeId,
        kind: s.kind,
        status: s.status,
        ms: s.durationMs ?? null,
        'rows in': s.rowsIn ?? null,
        'rows out': s.rowsOut ?? null,
        written: s.bytesWritten === undefined ? null : bytes(s.bytesWritten),
        'task ms': s.taskMs ?? null,
      })),
      50,
    ),
  )
  if (usage) {
    console.log(
      `  used ${usage.coreSeconds.toFixed(1)} core-seconds (${usage.cores ?? '?'} cores), tasks ${usage.taskSeconds.toFixed(2)} s, peak memory ${usage.peakMemoryBytes === undefined ? '-' : bytes(usage.peakMemoryBytes)}`,
    )
  }
  return status
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const probe = createServer()
    probe.once('error', () => resolveFree(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveFree(true)))
  })
}

/** The example server, started as its own process; resolves once it listens. */
interface ServerProcess {
  readonly url: string
  stop(): Promise<void>
}

function startServerProcess(env: Record<string, string | undefined>): Promise<ServerProcess> {
  const main = join(root, 'examples', 'server', 'src', 'main.ts')
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'inherit', 'pipe'] })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return new Promise((resolveStart, rejectStart) => {
    const lines: string[] = []
    const timer = setTimeout(() => rejectStart(new Error('the server did not start within 120 s')), 120_000)
    createInterface({ input: child.stderr }).on('line', (line) => {
      let entry: { level?: string; msg?: string; url?: string } = {}
      try {
        entry = JSON.parse(line)
      } catch {
        lines.push(line)
      }
      if (entry.msg === 'server listening' && entry.url) {
        clearTimeout(timer)
        resolveStart({
          url: entry.url,
          async stop() {
            child.kill('SIGTERM')
            await exited
          },
        })
      } else if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(`${line}\n`)
      else lines.push(line)
    })
    void exited.then((code) => {
      clearTimeout(timer)
      rejectStart(Object.assign(new Error(`the server exited (${code}): ${lines.slice(-5).join('\n')}`), { lines }))
    })
  })
}

async function main(): Promise<void> {
  const started = performance.now()
  console.log(bold('Sparkle Studio demo'))
  console.log(dim(`data, git repository, database and outputs in ${dataDir}`))
  const env = { ...process.env, SPARKLE_DATA_DIR: dataDir, SPARKLE_WORKER: 'embedded', SPARKLE_LOG_LEVEL: 'info' }
  const wanted = Number(process.env['PORT'] ?? 3000)
  // Port 3000 taken: any free port will do.
  const server = await startServerProcess({ ...env, PORT: String((await portIsFree(wanted)) ? wanted : 0) })
  // Authentication is on: the server created an admin key on its first start and keeps it in the data folder.
  const keyFile = join(dataDir, 'admin-key')
  const token = (await readFile(keyFile, 'utf8').catch(() => '')).trim()
  if (!token)
    throw new Error(`no admin key in ${keyFile}: delete ${dataDir} to start over, or create a key with the keys script`)
  const client = createStudioClient({ baseUrl: server.url, timeout: 300_000, token })
  let ok = true
  try {
    const health = await client.health()
    console.log(`\n${bold('1. Server')} ${server.url} (API docs: ${server.url}/docs)`)
    console.log(
      `  authenticated with the admin API key in ${keyFile} (mode 0600; send it as Authorization: Bearer <key>)`,
    )
    const checks = health.checks
    if (checks && !checks.spark.ok) {
      // The server runs without Spark (pipelines, git), but the demo's previews and runs need it.
      throw new Error(`Spark is not available to the server: ${checks.spark.detail ?? 'no detail'}`)
    }
    console.log(
      `  Spark ${checks?.spark.version} on Java ${checks?.spark.java}, database ${checks?.database.dialect}, git branch ${checks?.git.branch}`,
    )

    console.log(`\n${bold('2. Pipelines')} (git is the source of truth: every save is a commit)`)
    await ensurePipeline(client, 'daily-revenue', 'daily-revenue')
    await ensurePipeline(client, 'orders-by-country', 'customer-orders')

    console.log(`\n${bold('3. Dry-run')} daily-revenue for 2026-11-01 on the warm preview session`)
    const preview = await client.dryRun({ body: { pipeline: 'daily-revenue', params: { ds: '2026-11-01' }, limit: 5 } })
    for (const node of preview.nodes) {
      console.log(`\n  node ${bold(node.nodeId)}${node.error ? ` failed: ${node.error.message}` : ''}`)
      if (node.rows) console.log(table(node.rows, 5))
    }
    console.log(dim(`  (${preview.nodes.length} nodes in ${Math.round(preview.durationMs)} ms)`))

    console.log(`\n${bold('4. Run')} daily-revenue for 2026-11-01`)
    ok = (await runWithProgress(client, 'daily-revenue', { ds: '2026-11-01' })) === 'succeeded' && ok
    const output = join(dataDir, 'output', 'daily_revenue', 'ds=2026-11-01')
    const written = await client.dryRun({
      body: {
        document: {
          schemaVersion: 2,
          name: 'read-output',
          nodes: [
            {
              id: 'written',
              position: { x: 0, y: 0 },
              data: { component: 'ingestor/parquet@1', config: { path: output } },
            },
          ],
          edges: [],
        },
      },
    })
    console.log(`  written to ${output}:`)
    console.log(table(written.nodes[0]?.rows ?? []))

    console.log(`\n${bold('5. Backfill')} 2026-11-02 to 2026-11-04 (one run per day; re-submitting is safe)`)
    const backfill = await client.backfill({
      body: { pipeline: 'daily-revenue', start: '2026-11-02', end: '2026-11-04', grain: 'day' },
    })
    if ('id' in backfill) {
      let summary = await client.getBackfill({ params: { id: backfill.id } })
      const deadline = Date.now() + 600_000
      let shown = ''
      while (summary.status === 'running' && Date.now() < deadline) {
        const line = `  ${Object.entries(summary.counts)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')}`
        if (line !== shown) console.log(line)
        shown = line
        await new Promise((r) => setTimeout(r, 1000))
        summary = await client.getBackfill({ params: { id: backfill.id } })
      }
      console.log(
        `  backfill ${backfill.id}: ${summary.status}, ${summary.counts['succeeded'] ?? 0}/${summary.partitions} partitions succeeded`,
      )
      ok = summary.counts['succeeded'] === summary.partitions && ok
    }

    console.log(`\n${bold('Done')} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    console.log(`  API docs:      ${server.url}/docs`)
    console.log(`  OpenAPI:       ${server.url}/openapi.json`)
    console.log(`  outputs:       ${join(dataDir, 'output')}`)
    console.log(`  git history:   git --git-dir ${join(dataDir, 'repo.git')} log --oneline`)
    if (keep) {
      console.log(
        `\nThe server keeps running (Ctrl-C to stop). Try: curl -H "Authorization: Bearer $(cat ${keyFile})" ${server.url}/api/v1/pipelines`,
      )
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop())
        process.once('SIGTERM', () => resolveStop())
      })
    }
  } finally {
    await server.stop()
  }
  if (!ok) process.exitCode = 1
}

await main()
