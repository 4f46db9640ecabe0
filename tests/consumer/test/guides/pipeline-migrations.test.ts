// docs/guides/pipeline-migrations.md, as a reader runs it with the packed packages installed by npm: the one-document
// migration, then both repository scripts on a bare repository made with the git CLI that holds a document of the
// first version (flat nodes) and a current one, both reading raw data under /data/raw. Without GITHUB_TOKEN the
// pull-request script commits its branch locally, as the guide says; no pull request is opened (no hosting provider).
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { outsiderEnv, runNode } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, writeBlock } from './lib.ts'

const guide = new Guide('pipeline-migrations.md')

/** A document of the first format, as old repositories hold them. */
const VERSION_1 = {
  schemaVersion: 1,
  name: 'daily-revenue',
  params: { ds: { type: 'date' } },
  nodes: [
    { id: 'orders', component: 'ingestor/csv@1', config: { path: '/data/raw/orders/{{ds}}.csv' } },
    { id: 'paid', component: 'transformer/filter@1', config: { condition: "status = 'paid'" } },
    { id: 'out', component: 'sink/parquet@1', config: { path: '/data/out/ds={{ds}}', mode: 'overwrite' } },
  ],
  edges: [
    { from: 'orders', to: 'paid' },
    { from: 'paid', to: 'out' },
  ],
}

/** A current document. */
const CURRENT = {
  schemaVersion: 2,
  name: 'customers',
  nodes: [
    {
      id: 'crm',
      position: { x: 0, y: 0 },
      data: { component: 'ingestor/parquet@1', config: { path: '/data/raw/crm/customers' } },
    },
    {
      id: 'out',
      position: { x: 240, y: 0 },
      data: { component: 'sink/parquet@1', config: { path: '/data/out/customers', mode: 'overwrite' } },
    },
  ],
  edges: [{ id: 'e1', source: 'crm', target: 'out' }],
}

const git = (args: string[], cwd: string) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: outsiderEnv({
      GIT_AUTHOR_NAME: 'Team',
      GIT_AUTHOR_EMAIL: 'team@example.com',
      GIT_COMMITTER_NAME: 'Team',
      GIT_COMMITTER_EMAIL: 'team@example.com',
    }),
  })

/** The team's repository: both pipelines committed on main, as a bare repository. */
async function teamRepository(): Promise<string> {
  const root = join(inject('consumerRoot'), 'migrations')
  const work = join(root, 'work')
  for (const doc of [VERSION_1, CURRENT]) {
    await mkdir(join(work, 'pipelines', doc.name), { recursive: true })
    await writeFile(join(work, 'pipelines', doc.name, 'pipeline.json'), `${JSON.stringify(doc, null, 2)}\n`)
  }
  git(['init', '-q', '-b', 'main'], work)
  git(['add', '.'], work)
  git(['commit', '-q', '-m', 'Two pipelines'], work)
  const bare = join(root, 'repo.git')
  git(['clone', '-q', '--bare', work, bare], root)
  return bare
}

const pipelineAt = (repo: string, ref: string, name: string) =>
  JSON.parse(git(['--git-dir', repo, 'show', `${ref}:pipelines/${name}/pipeline.json`], repo)) as {
    schemaVersion: number
    nodes: { id: string; data: { config: { path?: string } } }[]
  }

describe('guide: scripting pipeline migrations', () => {
  itInstallsWhatItImports(guide)

  it('migrates one document of the first version and validates the result', async () => {
    const file = await writeBlock(guide, guide.run('## One document'), 'one-document.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv() })
    expect(stdout).toMatch(/^version 1 -> 2$/m)
    expect(stdout).toMatch(/^document \/nodes /m)
    expect(stdout.trim().split('\n').at(-1)).toBe('valid')
  })

  it('migrates every pipeline of a repository in one commit on a new branch (dry run first)', async () => {
    const repo = await teamRepository()
    const file = await writeBlock(guide, guide.run('## Every pipeline of a repository, as one pull request'), 'all.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv({ SPARKLE_REPO: repo }) })
    const dryRun = /^1 to migrate, 1 current, base ([0-9a-f]{40})$/m.exec(stdout)
    expect(dryRun, stdout).not.toBeNull()
    expect(stdout).toMatch(/^ {2}daily-revenue: /m)
    const done = /^commit ([0-9a-f]{40}) on (migrate\/sdk-\d{4}-\d{2}-\d{2}) \(not pushed\)$/m.exec(stdout)
    expect(done, stdout).not.toBeNull()
    const branch = done?.[2] ?? ''
    expect(pipelineAt(repo, branch, 'daily-revenue').schemaVersion).toBe(2)
    expect(pipelineAt(repo, 'main', 'daily-revenue').schemaVersion).toBe(1)
  })

  it('applies its own change to every pipeline, a document of the first version included', async () => {
    const repo = join(inject('consumerRoot'), 'migrations', 'repo.git')
    const file = await writeBlock(guide, guide.run('## Your own changes'), 'own-change.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv({ SPARKLE_REPO: repo }) })
    expect(stdout).toMatch(/^commit [0-9a-f]{40} on move-raw-data-to-s3$/m)
    expect(stdout).toMatch(/^customers crm .*\/data\/raw\/crm\/customers -> s3a:\/\/acme-raw\/crm\/customers$/m)
    const old = pipelineAt(repo, 'move-raw-data-to-s3', 'daily-revenue')
    expect(old.schemaVersion).toBe(2)
    expect(old.nodes.find((n) => n.id === 'orders')?.data.config.path).toBe('s3a://acme-raw/orders/{{ds}}.csv')
    const current = pipelineAt(repo, 'move-raw-data-to-s3', 'customers')
    expect(current.nodes.find((n) => n.id === 'crm')?.data.config.path).toBe('s3a://acme-raw/crm/customers')
  })

  itAccountsForEveryBlock(guide)
})
