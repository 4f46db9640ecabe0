import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commitFiles } from '../test/helpers.ts'
import { runGit } from './git-process.ts'
import { DEFAULT_COMMITTER } from './identity.ts'
import { GitRepository } from './repository.ts'
import { initRepository } from './repository-setup.ts'
import { writeChanges } from './write-changes.ts'

describe('writeChanges: the one write primitive (real git)', () => {
  let dir: TempDir
  let path: string
  let repo: GitRepository
  /** The parent of every commit object the primitive wrote, in order (one per attempt). */
  let attempts: string[]
  /** Runs once, between the first attempt's planning and its update-ref (as another process would). */
  let meanwhile: (() => Promise<void>) | undefined
  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-write-')
    path = await initRepository(join(dir.path, 'r.git'))
    repo = await GitRepository.open(path, { committer: DEFAULT_COMMITTER, now: () => new Date(0) })
    attempts = []
    meanwhile = undefined
    const commitTree = repo.commitTree.bind(repo)
    repo.commitTree = async (tree, parents, message, author, options) => {
      attempts.push(parents[0] ?? '')
      const interfere = meanwhile
      meanwhile = undefined
      await interfere?.()
      return commitTree(tree, parents, message, author, options)
    }
  })
  afterEach(async () => {
    await repo.close()
    await dir.remove()
  })

  const files = async () =>
    (await runGit(['ls-tree', '-r', '--name-only', 'refs/heads/main'], { cwd: path })).stdout
      .split('\n')
      .filter(Boolean)

  it('plans again on the new head when another process moves the branch before update-ref', async () => {
    await commitFiles(path, { 'pipelines/a/pipeline.json': '{}\n' })
    meanwhile = () => commitFiles(path, { 'pipelines/c/pipeline.json': '{}\n' }).then(() => undefined)
    const outcome = await writeChanges(repo, {
      ref: 'refs/heads/main',
      edits: [{ kind: 'put', name: 'b', text: '{"b":1}\n', expected: null }],
      message: 'add b',
      author: DEFAULT_COMMITTER,
    })
    expect(attempts).toHaveLength(2)
    expect(attempts[0]).not.toBe(attempts[1])
    expect(outcome.changed).toBe(true)
    expect(await files()).toEqual([
      'pipelines/a/pipeline.json',
      'pipelines/b/pipeline.json',
      'pipelines/c/pipeline.json',
    ])
    const parent = await runGit(['rev-parse', 'refs/heads/main^'], { cwd: path })
    expect(parent.stdout.trim()).toBe(attempts[1])
  })

  it('answers CONFLICT, writing nothing, when the other process changed a pipeline the write checks', async () => {
    await commitFiles(path, { 'pipelines/a/pipeline.json': '{}\n' })
    const blob = repo.blobId('{}\n')
    meanwhile = () => commitFiles(path, { 'pipelines/a/pipeline.json': '{"theirs":1}\n' }).then(() => undefined)
    await expect(
      writeChanges(repo, {
        ref: 'refs/heads/main',
        edits: [{ kind: 'put', name: 'a', text: '{"mine":1}\n', expected: blob }],
        message: 'change a',
        author: DEFAULT_COMMITTER,
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT', details: { name: 'a', currentBlob: repo.blobId('{"theirs":1}\n') } })
    expect(attempts).toHaveLength(1)
    const shown = await runGit(['show', 'refs/heads/main:pipelines/a/pipeline.json'], { cwd: path })
    expect(shown.stdout).toBe('{"theirs":1}\n')
  })

  it('waits for a ref lock held by another process instead of failing', async () => {
    await commitFiles(path, { 'pipelines/a/pipeline.json': '{}\n' })
    const { rm } = await import('node:fs/promises')
    const lockFile = join(path, 'refs', 'heads', 'main.lock')
    await writeFile(lockFile, '')
    const pending = writeChanges(repo, {
      ref: 'refs/heads/main',
      edits: [{ kind: 'put', name: 'x', text: '{}\n' }],
      message: 'x',
      author: DEFAULT_COMMITTER,
    })
    while (attempts.length < 2) await new Promise((r) => setTimeout(r, 5))
    await rm(lockFile)
    expect(await pending).toMatchObject({ changed: true })
    expect(await files()).toContain('pipelines/x/pipeline.json')
  })

  it('creates a new branch at startAt, and refuses one that exists', async () => {
    const base = await commitFiles(path, { 'pipelines/a/pipeline.json': '{}\n' })
    const request = {
      ref: 'refs/heads/next',
      startAt: base,
      edits: [{ kind: 'put', name: 'a', text: '{"v":2}\n' }] as const,
      message: 'migrate',
      author: DEFAULT_COMMITTER,
    }
    const outcome = await writeChanges(repo, request)
    const parent = await runGit(['rev-parse', 'refs/heads/next^'], { cwd: path })
    expect(parent.stdout.trim()).toBe(base)
    expect(outcome.blobs.get('a')).toBe(repo.blobId('{"v":2}\n'))
    await expect(writeChanges(repo, request)).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { branch: 'next' },
    })
  })
})
