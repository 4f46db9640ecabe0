// The migration script on a real repository of 200 version-1 pipelines, and on a small one with changes of your own and
// pipelines that use unknown components.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { builtinComponents, createDefaultRegistry, defineComponent, type PipelineChange } from '@sparkle-studio/core'
import { initRepository, runGit } from '@sparkle-studio/git'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubStandIn } from '../../../packages/git/test/github-stand-in.ts'
import { formatReport, loadChanges, loadComponents, migratePipelines } from '../src/migrate-pipelines.ts'

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

/** A bare repository whose main branch holds `documents` (name -> document) in one commit. */
async function seedRepository(path: string, documents: Readonly<Record<string, unknown>>): Promise<string> {
  const repo = await initRepository(path)
  const lines = ['commit refs/heads/main', 'committer T <t@example.com> 1793000000 +0000', 'data 4', 'seed']
  for (const [name, document] of Object.entries(documents)) {
    const text = `${JSON.stringify(document, null, 2)}\n`
    lines.push(`M 100644 inline pipelines/${name}/pipeline.json`, `data ${Buffer.byteLength(text)}`, text)
  }
  await runGit(['fast-import', '--quiet'], { cwd: repo, input: `${lines.join('\n')}\n`, env: identity })
  return repo
}

describe('examples/scripts/migrate-pipelines (real git, 200 pipelines)', () => {
  let dir: TempDir
  let repo: string
  let remote: string
  const snapshot = async () =>
    (await runGit(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: repo })).stdout

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-migrate-')
    // One commit with 200 pipelines, built with fast-import.
    const documents = Object.fromEntries(
      Array.from({ length: COUNT }, (_, i) => [`pipeline-${i}`, v1(`pipeline-${i}`, i)]),
    )
    repo = await seedRepository(join(dir.path, 'pipelines.git'), documents)
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
      expect(formatReport(report)).toContain(
        `${COUNT} pipelines migrated, 0 already current, 0 left with unknown components, 0 unreadable.`,
      )
      expect(result.pullRequest?.url).toContain('/acme/pipelines/pull/')
      expect(github.violations).toEqual([])
      expect((await runGit(['rev-parse', 'migrate/v2'], { cwd: remote })).stdout.trim()).toBe(result.commit)
    } finally {
      await github.close()
    }
  })
})

describe('examples/scripts/migrate-pipelines: changes of your own, unknown components', () => {
  let dir: TempDir
  let repo: string
  /** The team wrote `sep` for the CSV delimiter; the ingestor's field is `delimiter`. */
  const renameSep: PipelineChange = (document) => {
    for (const node of document.nodes) {
      const { component, config } = node.data
      if (component === 'ingestor/csv@1' && config && 'sep' in config) {
        const { sep, ...rest } = config
        node.data.config = { ...rest, delimiter: sep }
      }
    }
  }
  const masked = (name: string, schemaVersion: 1 | 2) =>
    schemaVersion === 1
      ? {
          ...v1(name, 1),
          nodes: [
            ...v1(name, 1).nodes,
            { id: 'mask', component: 'transformer/mask-pii@2', config: { columns: ['email'] } },
          ],
          edges: [
            { from: 'src', to: 'keep' },
            { from: 'keep', to: 'mask' },
            { from: 'mask', to: 'out' },
          ],
        }
      : {
          schemaVersion: 2,
          name,
          nodes: [
            { id: 'src', position: { x: 0, y: 0 }, data: { component: 'ingestor/parquet@1', config: { path: '/in' } } },
            {
              id: 'mask',
              position: { x: 1, y: 0 },
              data: { component: 'transformer/mask-pii@2', config: { columns: ['email'] } },
            },
            { id: 'out', position: { x: 2, y: 0 }, data: { component: 'sink/parquet@1', config: { path: '/out' } } },
          ],
          edges: [
            { id: 'e1', source: 'src', target: 'mask' },
            { id: 'e2', source: 'mask', target: 'out' },
          ],
        }
  const current = {
    schemaVersion: 2,
    name: 'current',
    nodes: [
      { id: 'src', position: { x: 0, y: 0 }, data: { component: 'ingestor/parquet@1', config: { path: '/in' } } },
      { id: 'out', position: { x: 1, y: 0 }, data: { component: 'sink/parquet@1', config: { path: '/out' } } },
    ],
    edges: [{ id: 'e1', source: 'src', target: 'out' }],
  }
  const withSep = (name: string) => {
    const doc = v1(name, 2)
    return { ...doc, nodes: doc.nodes.map((n) => (n.id === 'src' ? { ...n, config: { ...n.config, sep: ';' } } : n)) }
  }

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-migrate-own-')
    repo = await seedRepository(join(dir.path, 'pipelines.git'), {
      'legacy-sep': withSep('legacy-sep'),
      'legacy-plain': v1('legacy-plain', 3),
      'legacy-masked': masked('legacy-masked', 1),
      'current-masked': masked('current-masked', 2),
      current,
    })
  })
  afterAll(async () => {
    await dir.remove()
  })

  it('upgrades version-1 documents, then applies your change; pipelines with unknown components are listed apart', async () => {
    const report = await migratePipelines({ repo, branch: 'migrate/own', apply: true, changes: [renameSep] })
    const { result } = report
    expect(result.changed.map((p) => p.name).sort()).toEqual(['legacy-plain', 'legacy-sep'])
    expect([...result.unchanged].sort()).toEqual(['current', 'current-masked', 'legacy-masked'])
    expect([...report.unknown.keys()].sort()).toEqual(['current-masked', 'legacy-masked'])
    expect(report.unknown.get('legacy-masked')).toEqual([
      {
        nodeId: 'mask',
        component: 'transformer/mask-pii@2',
        path: '/nodes/3/data/component',
        reason: 'unknown-component',
      },
    ])
    const migrated = JSON.parse(
      (await runGit(['show', 'migrate/own:pipelines/legacy-sep/pipeline.json'], { cwd: repo })).stdout,
    )
    expect(migrated.schemaVersion).toBe(2)
    expect(migrated.nodes[0].data).toEqual({
      component: 'ingestor/csv@1',
      config: { path: '/data/2/{{ds}}.csv', delimiter: ';' },
    })
    expect(report.changes.get('legacy-sep')?.at(-1)).toMatchObject({ kind: 'custom', nodeId: 'src' })
    // Pipelines with unknown components are not rewritten.
    const files = await runGit(['diff', '--name-only', 'main', 'migrate/own'], { cwd: repo })
    expect(files.stdout.trim().split('\n').sort()).toEqual([
      'pipelines/legacy-plain/pipeline.json',
      'pipelines/legacy-sep/pipeline.json',
    ])

    const text = formatReport(report)
    expect(text).toContain('2 pipelines migrated, 1 already current, 2 left with unknown components, 0 unreadable.')
    expect(text).toContain('  legacy-sep: 4 document changes, 0 component upgrades, 1 change of yours')
    expect(text).toContain('  legacy-plain: 4 document changes, 0 component upgrades\n')
    expect(text).toContain('  ? legacy-masked: unknown components, left as it is: mask (transformer/mask-pii@2)')
    expect(text).toContain('  ? current-masked: unknown components, left as it is: mask (transformer/mask-pii@2)')
  })

  it('migrates them too once their component is registered', async () => {
    // A stand-in for the team's own component package: the shape of drop-columns under another name.
    const dropColumns = builtinComponents.find((c) => c.ref === 'transformer/drop-columns@1')
    if (!dropColumns) throw new Error('drop-columns is a built-in')
    const maskPii = defineComponent({ ...dropColumns, name: 'mask-pii', version: 2 })
    const registry = createDefaultRegistry().register(maskPii)
    const report = await migratePipelines({
      repo,
      branch: 'migrate/registered',
      apply: false,
      registry,
      changes: [renameSep],
    })
    expect(report.unknown.size).toBe(0)
    expect(report.result.changed.map((p) => p.name).sort()).toEqual(['legacy-masked', 'legacy-plain', 'legacy-sep'])
    expect(formatReport(report)).toContain('3 pipelines migrated, 2 already current, 0 left with unknown components')
  })

  it('runs from the command line with a --changes module and prints the summary', async () => {
    const module = join(dir.path, 'changes.mjs')
    await writeFile(
      module,
      `export const changes = [function renameSep(document) {
  for (const node of document.nodes) {
    const config = node.data.config
    if (node.data.component === 'ingestor/csv@1' && config && 'sep' in config) {
      const { sep, ...rest } = config
      node.data.config = { ...rest, delimiter: sep }
    }
  }
}]\n`,
    )
    expect((await loadChanges(module)).map((c) => c.name)).toEqual(['renameSep'])
    const script = join(import.meta.dirname, '..', 'src', 'migrate-pipelines.ts')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@sparkle-studio/source', script, '--repo', repo, '--branch', 'migrate/cli', '--changes', module],
      { cwd: dir.path },
    )
    expect(stdout).toContain('Dry run: nothing written.')
    expect(stdout).toContain('2 pipelines migrated, 1 already current, 2 left with unknown components, 0 unreadable.')
    expect(stdout).toContain('  legacy-sep: 4 document changes, 0 component upgrades, 1 change of yours')
    expect(stdout).toContain('  ? legacy-masked: unknown components, left as it is: mask (transformer/mask-pii@2)')
  })
  it('loads --components and --changes modules, and refuses modules without them', async () => {
    const components = join(dir.path, 'components.mjs')
    await writeFile(
      components,
      `export const a = { ref: 'transformer/a@1', compile() {} }
export const all = [a, { ref: 'transformer/b@1', compile() {} }]
export const notAComponent = { ref: 'transformer/c@1' }\n`,
    )
    expect((await loadComponents(components)).map((c) => c.ref)).toEqual(['transformer/a@1', 'transformer/b@1'])
    const single = join(dir.path, 'single.mjs')
    await writeFile(single, 'export default function tagAll(document) { document.tags = ["migrated"] }\n')
    expect((await loadChanges(single)).map((c) => c.name)).toEqual(['tagAll'])
    const empty = join(dir.path, 'empty.mjs')
    await writeFile(empty, 'export const nothing = 1\n')
    await expect(loadComponents(empty)).rejects.toThrow(TypeError)
    await expect(loadChanges(empty)).rejects.toThrow(TypeError)
  })
})
