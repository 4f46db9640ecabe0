import { join } from 'node:path'
import { isStudioError, type StudioError, type ValidationIssue } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import { GitHubProvider } from '../src/github-provider.ts'
import type { PipelineDocumentLike } from '../src/pipeline-document.ts'
import { cloneRepository, initRepository } from '../src/repository-setup.ts'
import { startGitHubStandIn } from './github-stand-in.ts'
import { commitFiles, fixedClock, fsck, pipelineDoc, snapshot } from './helpers.ts'

async function caught(promise: Promise<unknown>): Promise<StudioError> {
  try {
    await promise
  } catch (error) {
    if (isStudioError(error)) return error
    throw error
  }
  throw new Error('expected a StudioError, but the call succeeded')
}

/** The migration under test: CSV ingestors move from version 1 to 2, renaming `header` to `hasHeader`. */
function csvV2(doc: PipelineDocumentLike): PipelineDocumentLike {
  return {
    ...doc,
    nodes: doc.nodes.map((node) => {
      if (node.data.component !== 'ingestor/csv@1') return node
      const { header, ...config } = node.data.config
      return { ...node, data: { ...node.data, component: 'ingestor/csv@2', config: { ...config, hasHeader: header } } }
    }),
  }
}

describe('migrateAll (real git, bare remote, a clone)', () => {
  let dir: TempDir
  let remote: string
  let clone: string
  let store: GitPipelineStore

  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-migrate-')
    remote = await initRepository(join(dir.path, 'remote.git'))
    clone = await cloneRepository(remote, join(dir.path, 'clone.git'))
    store = await GitPipelineStore.open({ repo: clone, now: fixedClock() })
    for (const name of ['alpha', 'beta', 'gamma']) await store.save(name, pipelineDoc(name))
    await store.save('no-csv', {
      schemaVersion: 1,
      name: 'no-csv',
      nodes: [{ id: 'p', position: { x: 0, y: 0 }, data: { component: 'ingestor/parquet@1', config: { path: '/x' } } }],
      edges: [],
    })
    await commitFiles(clone, { 'pipelines/broken/pipeline.json': '{ nope' })
    await store.push()
  })
  afterEach(async () => {
    await store.close()
    await dir.remove()
  })

  it('dry-run lists what would change and writes nothing', async () => {
    const before = await snapshot(clone)
    const result = await store.migrateAll({ migrate: csvV2, branch: 'migrate/csv-v2', dryRun: true })
    expect(result).toMatchObject({ dryRun: true, commit: null, base: 'main', branch: 'migrate/csv-v2' })
    expect(result.changed.map((c) => c.name)).toEqual(['alpha', 'beta', 'gamma'])
    expect(result.unchanged).toEqual(['no-csv'])
    expect(result.problems.map((p) => [p.name, p.code])).toEqual([['broken', 'invalid_json']])
    const alpha = result.changed[0]
    expect(alpha?.after).toBeNull()
    expect(alpha?.changes.nodes.component).toEqual([
      { id: 'orders', before: 'ingestor/csv@1', after: 'ingestor/csv@2' },
    ])
    expect(alpha?.changes.nodes.config).toEqual([
      { nodeId: 'orders', path: '/hasHeader', kind: 'added', after: true },
      { nodeId: 'orders', path: '/header', kind: 'removed', before: true },
    ])
    expect(await snapshot(clone)).toBe(before)
  })

  it('commits every change as one commit on a new branch, pushes it and opens a pull request through the GitHub API stand-in', async () => {
    const token = 'ghp_migrationStandInToken'
    const standIn = await startGitHubStandIn({ token, owner: 'acme', repo: 'pipelines' })
    try {
      const mainBefore = (await runGit(['rev-parse', 'refs/heads/main'], { cwd: clone })).stdout.trim()
      const result = await store.migrateAll({
        migrate: csvV2,
        branch: 'migrate/csv-v2',
        message: 'Move CSV ingestors to v2',
        author: { name: 'Migration Bot', email: 'bot@example.com' },
        pullRequest: {
          provider: new GitHubProvider({ owner: 'acme', repo: 'pipelines', token, baseUrl: standIn.apiUrl }),
          draft: true,
        },
      })
      expect(result.dryRun).toBe(false)
      expect(result.pullRequest).toEqual({ url: 'https://github.invalid/acme/pipelines/pull/41', number: 41 })
      expect(standIn.violations).toEqual([])
      expect(standIn.requests[0]?.body).toMatchObject({
        head: 'migrate/csv-v2',
        base: 'main',
        title: 'Move CSV ingestors to v2',
        draft: true,
        body: expect.stringContaining('- `alpha`'),
      })
      // One commit, on the new branch, whose parent is main; main is untouched.
      expect((await runGit(['rev-parse', 'refs/heads/main'], { cwd: clone })).stdout.trim()).toBe(mainBefore)
      const parents = await runGit(['rev-list', '--parents', '-n', '1', 'refs/heads/migrate/csv-v2'], { cwd: clone })
      expect(parents.stdout.trim().split(' ')).toEqual([result.commit, mainBefore])
      const changed = await runGit(['diff-tree', '--no-commit-id', '--name-only', '-r', result.commit ?? ''], {
        cwd: clone,
      })
      expect(changed.stdout.trim().split('\n')).toEqual([
        'pipelines/alpha/pipeline.json',
        'pipelines/beta/pipeline.json',
        'pipelines/gamma/pipeline.json',
      ])
      const author = await runGit(['log', '-1', '--format=%an|%s', result.commit ?? ''], { cwd: clone })
      expect(author.stdout.trim()).toBe('Migration Bot|Move CSV ingestors to v2')
      const migrated = await store.get('beta', { ref: 'migrate/csv-v2' })
      expect(migrated.document.nodes[0]?.data).toMatchObject({
        component: 'ingestor/csv@2',
        config: { hasHeader: true },
      })
      expect(migrated.blob).toBe(result.changed[1]?.after)
      expect((await runGit(['rev-parse', 'refs/heads/migrate/csv-v2'], { cwd: remote })).stdout.trim()).toBe(
        result.commit,
      )
      expect(await fsck(clone)).not.toMatch(/error|missing|broken/i)
      // The branch exists now: running the same migration again is refused.
      expect((await caught(store.migrateAll({ migrate: csvV2, branch: 'migrate/csv-v2' }))).code).toBe('CONFLICT')
    } finally {
      await standIn.close()
    }
  })

  it('writes nothing when a migrated document is invalid, and lists the issues per pipeline', async () => {
    const before = await snapshot(clone)
    const error = await caught(
      store.migrateAll({
        branch: 'migrate/broken',
        migrate: (doc, { name }) => {
          if (name === 'beta') return { ...doc, edges: [{ id: 'e9', source: 'orders', target: 'ghost' }] }
          if (name === 'gamma') throw new Error('cannot migrate gamma')
          return csvV2(doc)
        },
      }),
    )
    expect(error.code).toBe('VALIDATION_FAILED')
    const issues = (error.details as { issues: ValidationIssue[] }).issues
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ['/beta/edges/0/target', 'dangling_edge'],
      ['/gamma', 'migration_failed'],
    ])
    expect(await snapshot(clone)).toBe(before)
  })

  it('reports a pull request failure after the push, naming the pushed branch', async () => {
    const token = 'ghp_migrationStandInToken'
    const standIn = await startGitHubStandIn({ token, owner: 'acme', repo: 'pipelines', fail: 422 })
    try {
      const error = await caught(
        store.migrateAll({
          migrate: csvV2,
          branch: 'migrate/again',
          pullRequest: {
            provider: new GitHubProvider({ owner: 'acme', repo: 'pipelines', token, baseUrl: standIn.apiUrl }),
          },
        }),
      )
      expect(error).toMatchObject({ code: 'PROVIDER_FAILED', details: { status: 422, branch: 'migrate/again' } })
      expect(error.message).toContain('was pushed')
      expect(error.message).not.toContain(token)
      expect((await runGit(['rev-parse', '--verify', 'refs/heads/migrate/again'], { cwd: remote })).code).toBe(0)
    } finally {
      await standIn.close()
    }
  })
})
