// The migration script on a real repository of 200 version-1 pipelines.
import { join } from 'node:path'
import { initRepository, runGit } from '@sparkle-studio/git'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubStandIn } from '../../../packages/git/test/github-stand-in.ts'
import { formatReport, migratePipelines } from '../src/migrate-pipelines.ts'

const COUNT = 200
const identity = {
  GIT_AUTHOR_NAME: 'T',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 'T',
  GIT_COMMITTER_EMAIL: 't@example.com',
}

/** A version-1 document (flat nodes, from/to edges, params map, cron string). */
function v1(name: string, i: number) {
  return {
    schemaVersion: 1,
    name,
    params: { ds: { type: 'date', default: '2026-11-01' } },
    schedule: '0 3 * * *',
    nodes: [
      { id: 'src', component: 'ingestor/csv@1', config: { path: `/data/${i}/{{ds}}.csv` } },
      { id: 'keep', component: 'transformer/filter@1', config: { condition: `amount > ${i}` } },
      { id: 'out', component: 'sink/parquet@1', config: { path: `/out/${i}` } },
    ],
    edges: [
      { from: 'src', to: 'keep' },
      { from: 'keep', to: 'out' },
    ],
  }
}

describe('examples/scripts/migrate-pipelines (real git, 200 pipelines)', () => {
  let dir: TempDir
  let repo: string
  let remote: string
  const snapshot = async () =>
    (await runGit(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: repo })).stdout

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-migrate-')
    repo = await initRepository(join(dir.path, 'pipelines.git'))
    // One commit with 200 pipelines, built with fast-import.
    const lines = ['commit refs/heads/main', 'committer T <t@example.com> 1793000000 +0000', 'data 4', 'seed']
    for (let i = 0; i < COUNT; i++) {
      const text = `${JSON.stringify(v1(`pipeline-${i}`, i), null, 2)}\n`
      lines.push(`M 100644 inline pipelines/pipeline-${i}/pipeline.json`, `data ${Buffer.byteLength(text)}`, text)
    }
    await runGit(['fast-import', '--quiet'], { cwd: repo, input: `${lines.join('\n')}\n`, env: identity })
    // The hosting side: a bare remote the migration branch is pushed to before the pull request is opened.
    remote = await initRepository(join(dir.path, 'remote.git'))
    await runGit(['remote', 'add', 'origin', remote], { cwd: repo })
    await runGit(['push', '--quiet', 'origin', 'main'], { cwd: repo })
  })
  afterAll(async () => {
    await dir.remove()
  })

  it('dry run reports every pipeline and touches nothing', async () => {
    const before = await snapshot()
    const report = await migratePipelines({ repo, branch: 'migrate/v2', apply: false })
    expect(report.result.dryRun).toBe(true)
    expect(report.result.changed).toHaveLength(COUNT)
    expect(report.result.commit).toBeNull()
    expect(await snapshot()).toBe(before)
    expect(formatReport(report)).toContain(`Dry run: nothing written.`)
  })

  it('applies as one commit on a new branch with a correct summary, and opens a pull request', async () => {
    const github = await startGitHubStandIn({ token: 'tok', owner: 'acme', repo: 'pipelines' })
    try {
      const { GitHubProvider } = await import('@sparkle-studio/git')
      const provider = new GitHubProvider({ owner: 'acme', repo: 'pipelines', token: 'tok', baseUrl: github.apiUrl })
      const report = await migratePipelines({ repo, branch: 'migrate/v2', apply: true, provider })
      const { result } = report
      expect(result.changed).toHaveLength(COUNT)
      expect(result.commit).toMatch(/^[0-9a-f]{40}$/)
      // One commit on top of main, on the new branch; main is untouched.
      const count = await runGit(['rev-list', '--count', 'main..migrate/v2'], { cwd: repo })
      expect(count.stdout.trim()).toBe('1')
      const files = await runGit(['diff', '--name-only', 'main', 'migrate/v2'], { cwd: repo })
      expect(files.stdout.trim().split('\n')).toHaveLength(COUNT)
      const migrated = JSON.parse(
        (await runGit(['show', 'migrate/v2:pipelines/pipeline-7/pipeline.json'], { cwd: repo })).stdout,
      )
      expect(migrated).toMatchObject({
        schemaVersion: 2,
        schedule: { cron: '0 3 * * *', timezone: 'UTC' },
        edges: [
          { source: 'src', target: 'keep' },
          { source: 'keep', target: 'out' },
        ],
      })
      expect(migrated.nodes[1].data).toEqual({ component: 'transformer/filter@1', config: { condition: 'amount > 7' } })
      for (const [, list] of report.changes)
        expect(list.map((c) => c.path)).toEqual(['/nodes', '/edges', '/params', '/schedule'])
      expect(formatReport(report)).toContain(`${COUNT} pipelines migrated, 0 already current, 0 unreadable.`)
      expect(result.pullRequest?.url).toContain('/acme/pipelines/pull/')
      expect(github.violations).toEqual([])
      expect((await runGit(['rev-parse', 'migrate/v2'], { cwd: remote })).stdout.trim()).toBe(result.commit)
    } finally {
      await github.close()
    }
  })
})
