import { join } from 'node:path'
import { isStudioError, type StudioError } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import type { PipelineDocumentLike } from '../src/pipeline-document.ts'
import { cloneRepository, initRepository } from '../src/repository-setup.ts'
import { fixedClock, fsck, pipelineDoc } from './helpers.ts'

async function caught(promise: Promise<unknown>): Promise<StudioError> {
  try {
    await promise
  } catch (error) {
    if (isStudioError(error)) return error
    throw error
  }
  throw new Error('expected a StudioError, but the call succeeded')
}

async function localRefs(repo: string): Promise<string> {
  return (await runGit(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'], { cwd: repo })).stdout
}

async function head(repo: string, branch = 'main'): Promise<string> {
  return (await runGit(['rev-parse', `refs/heads/${branch}`], { cwd: repo })).stdout.trim()
}

function withNodeConfig(doc: PipelineDocumentLike, nodeIndex: number, config: Record<string, unknown>) {
  return {
    ...doc,
    nodes: doc.nodes.map((n, i) =>
      i === nodeIndex ? { ...n, data: { ...n.data, config: { ...n.data.config, ...config } } } : n,
    ),
  }
}

describe('branches and sync: a bare remote and two clones (real git)', () => {
  let dir: TempDir
  let remote: string
  let a: GitPipelineStore
  let b: GitPipelineStore
  let pathA: string
  let pathB: string

  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-sync-')
    remote = await initRepository(join(dir.path, 'remote.git'))
    const seed = await GitPipelineStore.open({ repo: remote, now: fixedClock() })
    await seed.save('orders', pipelineDoc('orders'), { message: 'Seed orders' })
    await seed.close()
    pathA = await cloneRepository(remote, join(dir.path, 'alice.git'))
    pathB = await cloneRepository(remote, join(dir.path, 'bob.git'))
    a = await GitPipelineStore.open({ repo: pathA, author: { name: 'Alice', email: 'alice@example.com' } })
    b = await GitPipelineStore.open({ repo: pathB, author: { name: 'Bob', email: 'bob@example.com' } })
  })
  afterEach(async () => {
    await a.close()
    await b.close()
    await dir.remove()
  })

  it('clones as bare repositories with remote-tracking branches, and reports ahead/behind', async () => {
    expect(a.branch).toBe('main')
    expect(await a.status()).toMatchObject({ state: 'up-to-date', ahead: 0, behind: 0, remote: 'origin' })
    const { blob } = await a.get('orders')
    await a.save('orders', pipelineDoc('orders', { description: 'by alice' }), { expected: blob })
    await a.save('alpha', pipelineDoc('alpha'))
    expect(await a.status()).toMatchObject({ state: 'ahead', ahead: 2, behind: 0 })
    const pushed = await a.push()
    expect(pushed).toMatchObject({ status: 'pushed', commit: await head(pathA), remote: 'origin', branch: 'main' })
    expect(await head(remote)).toBe(pushed.commit)
    expect(await a.status()).toMatchObject({ state: 'up-to-date' })
    expect(await b.status()).toMatchObject({ state: 'up-to-date' })
    expect(await b.status({ fetch: true })).toMatchObject({ state: 'behind', behind: 2, ahead: 0 })
  })

  it('pulls with a fast-forward', async () => {
    await a.save('alpha', pipelineDoc('alpha'))
    const pushed = await a.push()
    const pulled = await b.pull()
    expect(pulled).toEqual({ branch: 'main', commit: pushed.commit, status: 'fast-forward', replayed: 0 })
    expect((await b.get('alpha')).revision).toBe(pushed.commit)
    expect(await b.pull()).toMatchObject({ status: 'up-to-date' })
  })

  it('turns a real non-fast-forward push rejection into GIT_REMOTE_REJECTED, then pull rebases and push succeeds', async () => {
    await a.save('alpha', pipelineDoc('alpha'), { message: 'Alice adds alpha' })
    await a.push()
    await b.save('beta', pipelineDoc('beta'), { message: 'Bob adds beta' })
    const remoteBefore = await head(remote)
    const rejected = await caught(b.push())
    expect(rejected.code).toBe('GIT_REMOTE_REJECTED')
    expect(rejected.details).toEqual({ branch: 'main', remote: 'origin', reason: 'non-fast-forward' })
    expect(rejected.message).toContain('Pull first')
    expect(await head(remote)).toBe(remoteBefore)
    expect(await b.status({ fetch: true })).toMatchObject({ state: 'diverged', ahead: 1, behind: 1 })

    const pulled = await b.pull()
    expect(pulled).toMatchObject({ status: 'rebased', replayed: 1 })
    expect((await b.list()).pipelines.map((p) => p.name)).toEqual(['alpha', 'beta', 'orders'])
    const log = await runGit(['log', '--format=%s|%an', 'refs/heads/main'], { cwd: pathB })
    expect(log.stdout.trim().split('\n')).toEqual([
      'Bob adds beta|Bob',
      'Alice adds alpha|Alice',
      'Seed orders|Sparkle Studio',
    ])
    expect((await b.push()).status).toBe('pushed')
    expect(await a.pull()).toMatchObject({ status: 'fast-forward', commit: await head(remote) })
    expect(await fsck(pathB)).not.toMatch(/error|missing|broken/i)
    expect(await fsck(remote)).not.toMatch(/error|missing|broken/i)
  })

  it('merges edits of different parts of the same pipeline when pulling', async () => {
    const base = (await a.get('orders')).document
    await a.save('orders', { ...base, description: 'Alice wrote this' })
    await a.push()
    const mine = withNodeConfig((await b.get('orders')).document, 1, { mode: 'append' })
    await b.save('orders', mine)
    expect(await b.pull()).toMatchObject({ status: 'rebased', replayed: 1 })
    const merged = (await b.get('orders')).document
    expect(merged.description).toBe('Alice wrote this')
    expect(merged.nodes[1]?.data.config['mode']).toBe('append')
  })

  it('stops a pull on a real conflict with GIT_MERGE_CONFLICT listing the pipeline, leaving the branch as it was', async () => {
    await a.save('alpha', pipelineDoc('alpha'))
    const theirs = withNodeConfig((await a.get('orders')).document, 0, { path: '/data/alice.csv' })
    await a.save('orders', theirs)
    await a.push()
    const { document, blob } = await b.get('orders')
    const mine = await b.save('orders', withNodeConfig(document, 0, { path: '/data/bob.csv' }), { expected: blob })
    const before = await localRefs(pathB)
    const error = await caught(b.pull())
    expect(error.code).toBe('GIT_MERGE_CONFLICT')
    expect(error.details).toMatchObject({
      branch: 'main',
      pipelines: ['orders'],
      files: ['pipelines/orders/pipeline.json'],
    })
    expect(error.message).toContain('orders')
    expect(await localRefs(pathB)).toBe(before)
    expect((await b.get('orders')).blob).toBe(mine.blob)
    expect((await b.get('orders')).document.nodes[0]?.data.config['path']).toBe('/data/bob.csv')
    expect(await b.status()).toMatchObject({ state: 'diverged', ahead: 1, behind: 2 })
    expect(await fsck(pathB)).not.toMatch(/error|missing|broken/i)
    // Saves keep working after a failed pull.
    await b.save('gamma', pipelineDoc('gamma'))
  })

  it('refuses a diverged pull in ff-only mode with CONFLICT', async () => {
    await a.save('alpha', pipelineDoc('alpha'))
    await a.push()
    await b.save('beta', pipelineDoc('beta'))
    const before = await localRefs(pathB)
    expect((await caught(b.pull({ mode: 'ff-only' }))).code).toBe('CONFLICT')
    expect(await localRefs(pathB)).toBe(before)
  })

  it('exports a branch: pushes it and answers the commit the remote now has', async () => {
    await a.createBranch('feature')
    const saved = await a.save('alpha', pipelineDoc('alpha'), { branch: 'feature' })
    const exported = await a.export({ branch: 'feature' })
    expect(exported).toEqual({ branch: 'feature', commit: saved.commit, remote: 'origin' })
    expect(await head(remote, 'feature')).toBe(saved.commit)
    expect(await a.export({ branch: 'feature' })).toEqual(exported)
  })

  it('lists, creates and deletes branches, refusing to lose unpushed work or the store branch', async () => {
    const created = await a.createBranch('feature/orders')
    expect(created).toMatchObject({ name: 'feature/orders', commit: await head(pathA) })
    expect((await caught(a.createBranch('feature/orders'))).code).toBe('CONFLICT')
    expect((await caught(a.createBranch('x', { from: 'nope' }))).code).toBe('NOT_FOUND')
    await a.save('alpha', pipelineDoc('alpha'), { branch: 'feature/orders' })
    const branches = await a.listBranches()
    expect(branches.map((br) => [br.name, br.current, br.remoteCommit !== null])).toEqual([
      ['feature/orders', false, false],
      ['main', true, true],
    ])
    expect((await caught(a.deleteBranch('feature/orders'))).code).toBe('CONFLICT')
    expect((await caught(a.deleteBranch('main'))).code).toBe('BAD_REQUEST')
    expect((await caught(a.deleteBranch('nope'))).code).toBe('NOT_FOUND')
    await a.push({ branch: 'feature/orders' })
    await a.deleteBranch('feature/orders')
    await a.createBranch('scratch')
    await a.save('beta', pipelineDoc('beta'), { branch: 'scratch' })
    await a.deleteBranch('scratch', { force: true })
    expect((await a.listBranches()).map((br) => br.name)).toEqual(['main'])
  })

  it('answers NOT_FOUND when pulling a branch the remote does not have, and GIT_FAILED for an unreachable remote', async () => {
    await a.createBranch('local-only')
    expect((await caught(a.pull({ branch: 'local-only' }))).code).toBe('NOT_FOUND')
    await runGit(['remote', 'set-url', 'origin', join(dir.path, 'gone.git')], { cwd: pathA })
    const error = await caught(a.push())
    expect(error.code).toBe('GIT_FAILED')
  })
})

describe('cloneRepository', () => {
  it('refuses URLs that look like options or use command transports', async () => {
    const dir = await makeTempDir('sparkle-git-clone-')
    try {
      for (const url of ['--upload-pack=touch /tmp/x', '-u', 'ext::sh -c touch% /tmp/x', 'a\nb', ''])
        expect((await caught(cloneRepository(url, join(dir.path, 'x.git')))).code).toBe('BAD_REQUEST')
      const failed = await caught(
        cloneRepository('https://user:sekrit-token@127.0.0.1:9/none.git', join(dir.path, 'y.git')),
      )
      expect(failed.code).toBe('GIT_FAILED')
      expect(failed.message).not.toContain('sekrit-token')
    } finally {
      await dir.remove()
    }
  })
})
