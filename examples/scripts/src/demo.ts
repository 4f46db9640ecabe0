// The quick-start demo: a real Spark job, a git repository and a database, touched end to end.
// Run it with `./sparkle demo`; everything it makes lives in .demo/ (git-ignored) and is reused on the next run.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { runGit } from '@sparkle-studio/git'
import { findSparkRuntime, runPlan } from '@sparkle-studio/spark'
import { migrateToLatest, openDatabase } from '@sparkle-studio/spark/store'

const root = resolve(import.meta.dirname, '..', '..', '..')
const demoDir = join(root, '.demo')
const repoDir = join(demoDir, 'repo')
const identity = {
  GIT_AUTHOR_NAME: 'Sparkle Demo',
  GIT_AUTHOR_EMAIL: 'demo@sparkle.invalid',
  GIT_COMMITTER_NAME: 'Sparkle Demo',
  GIT_COMMITTER_EMAIL: 'demo@sparkle.invalid',
}

const pipeline = {
  schemaVersion: 1,
  name: 'daily-revenue',
  description: 'Revenue per day from the demo orders',
  nodes: [
    { id: 'orders', component: 'ingestor/inline@1' },
    { id: 'revenue', component: 'transformer/aggregate@1' },
  ],
  edges: [{ id: 'e1', source: 'orders', target: 'revenue' }],
}

const plan: ExecutionPlan = {
  pipeline: pipeline.name,
  mode: 'run',
  steps: [
    {
      nodeId: 'orders',
      kind: 'view',
      view: 'orders',
      sql: `SELECT * FROM VALUES
        (1, DATE'2026-11-01', 'alice', 120.50), (2, DATE'2026-11-01', 'bob', 80.00),
        (3, DATE'2026-11-02', 'alice', 42.25), (4, DATE'2026-11-02', 'carol', 310.00),
        (5, DATE'2026-11-03', 'bob', 99.99) AS orders(order_id, order_date, customer, amount)`,
    },
    {
      nodeId: 'revenue',
      kind: 'query',
      sql: 'SELECT order_date, count(*) AS orders, sum(amount) AS revenue FROM orders GROUP BY order_date ORDER BY order_date',
      limit: 100,
    },
  ],
}

function table(rows: readonly Record<string, unknown>[]): string {
  const first = rows[0]
  if (!first) return '(no rows)'
  const cols = Object.keys(first)
  const cell = (v: unknown) => (v === null ? 'null' : String(v))
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)))
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ')
  return [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(cols.map((c) => cell(r[c])))),
  ].join('\n')
}

async function commitPipeline(): Promise<string> {
  if (!existsSync(join(repoDir, 'HEAD'))) {
    await mkdir(repoDir, { recursive: true })
    await runGit(['init', '--bare', '--quiet', '--initial-branch=main'], { cwd: repoDir })
  }
  const cwd = repoDir
  const blob = (
    await runGit(['hash-object', '-w', '--stdin'], { cwd, input: `${JSON.stringify(pipeline, null, 2)}\n` })
  ).stdout.trim()
  const inner = (await runGit(['mktree'], { cwd, input: `100644 blob ${blob}\tpipeline.json\n` })).stdout.trim()
  const folder = (await runGit(['mktree'], { cwd, input: `040000 tree ${inner}\t${pipeline.name}\n` })).stdout.trim()
  const tree = (await runGit(['mktree'], { cwd, input: `040000 tree ${folder}\tpipelines\n` })).stdout.trim()
  const head = await runGit(['rev-parse', '--verify', '--quiet', 'refs/heads/main'], { cwd, okCodes: [1] })
  const parent = head.stdout.trim()
  if (parent && (await runGit(['rev-parse', `${parent}^{tree}`], { cwd })).stdout.trim() === tree) return parent
  const args = ['commit-tree', tree, '-m', `save ${pipeline.name}`, ...(parent ? ['-p', parent] : [])]
  const commit = (await runGit(args, { cwd, env: identity })).stdout.trim()
  await runGit(['update-ref', 'refs/heads/main', commit, parent], { cwd })
  return commit
}

async function main(): Promise<void> {
  const started = performance.now()
  const runtime = await findSparkRuntime()
  console.log(
    `Spark ${runtime.sparkVersion} (Scala ${runtime.scalaVersion ?? '?'}) on Java ${runtime.javaVersion}, from ${runtime.source}`,
  )

  const revision = await commitPipeline()
  console.log(`git: pipelines/${pipeline.name}/pipeline.json at ${revision.slice(0, 12)} in ${repoDir}`)

  const store = await openDatabase({ dataDir: join(demoDir, 'db') })
  try {
    await migrateToLatest(store.db)
    const runId = `run-${Date.now().toString(36)}`
    await store.db
      .insertInto('runs')
      .values({
        id: runId,
        pipeline: pipeline.name,
        revision,
        params: '{}',
        status: 'running',
        idempotency_key: null,
        priority: 0,
        attempt: 1,
        max_attempts: 1,
        app_id: null,
        error: null,
      })
      .execute()

    console.log('running on Spark (local[*]) ...')
    const result = await runPlan({ ...plan, revision }, { runtime, workDir: join(demoDir, 'runs', runId) })
    await store.db
      .updateTable('runs')
      .set({
        status: result.status,
        app_id: result.appId ?? null,
        error: result.error ? JSON.stringify(result.error) : null,
        updated_at: new Date(),
        finished_at: new Date(),
      })
      .where('id', '=', runId)
      .execute()
    if (result.status !== 'succeeded') {
      console.error(
        `run failed at node ${result.error?.nodeId ?? '?'}: ${result.error?.message}\nlogs: ${result.logFile}`,
      )
      process.exitCode = 1
      return
    }
    console.log(
      `\nSpark application ${result.appId} finished in ${(result.durationMs / 1000).toFixed(1)} s. Result of node "revenue":\n`,
    )
    console.log(table(result.rows['revenue']?.rows ?? []))
    const { count } = await store.db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('pipeline', '=', pipeline.name)
      .executeTakeFirstOrThrow()
    console.log(`\nrun ${runId} recorded in the embedded database (${count} runs of ${pipeline.name} so far)`)
  } finally {
    await store.destroy()
  }
  console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

await main()
