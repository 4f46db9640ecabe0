import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commitFiles } from '../test/helpers.ts'
import type { CommitObject } from './git-objects.ts'
import { runGit } from './git-process.ts'
import { DEFAULT_COMMITTER } from './identity.ts'
import { GitRepository } from './repository.ts'
import { initRepository } from './repository-setup.ts'

describe('GitRepository.commit (real git)', () => {
  let dir: TempDir
  let path: string
  let repo: GitRepository
  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-repo-')
    path = await initRepository(join(dir.path, 'r.git'))
    repo = await GitRepository.open(path, { committer: DEFAULT_COMMITTER, now: () => new Date(0) })
  })
  afterEach(async () => {
    await repo.close()
    await dir.remove()
  })

  it('re-reads the head and re-plans when another process moves the branch before update-ref', async () => {
    await commitFiles(path, { 'pipelines/a/pipeline.json': '{}\n' })
    const heads: (string | undefined)[] = []
    const blob = await repo.writeBlob('{"b":1}\n')
    const outcome = await repo.lock(() =>
      repo.commit('refs/heads/main', {
        allowCreate: false,
        plan: async (head: CommitObject | null) => {
          heads.push(head?.oid)
          // The first time, another writer commits right after this plan read the head.
          if (heads.length === 1) await commitFiles(path, { 'pipelines/c/pipeline.json': '{}\n' })
          return {
            changes: [{ path: 'pipelines/b/pipeline.json', oid: blob }],
            message: 'add b',
            author: DEFAULT_COMMITTER,
            result: heads.length,
          }
        },
      }),
    )
    expect(heads).toHaveLength(2)
    expect(heads[0]).not.toBe(heads[1])
    expect(outcome).toMatchObject({ changed: true, result: 2 })
    const files = await runGit(['ls-tree', '-r', '--name-only', 'refs/heads/main'], { cwd: path })
    expect(files.stdout.split('\n').filter(Boolean)).toEqual([
      'pipelines/a/pipeline.json',
      'pipelines/b/pipeline.json',
      'pipelines/c/pipeline.json',
    ])
    const parent = await runGit(['rev-parse', 'refs/heads/main^'], { cwd: path })
    expect(parent.stdout.trim()).toBe(heads[1])
  })

  it('waits for a ref lock held by another process instead of failing', async () => {
    await commitFiles(path, { 'pipelines/a/pipeline.json': '{}\n' })
    const { writeFile, rm } = await import('node:fs/promises')
    const lockFile = join(path, 'refs', 'heads', 'main.lock')
    await writeFile(lockFile, '')
    const blob = await repo.writeBlob('{}\n')
    let planned = 0
    const pending = repo.lock(() =>
      repo.commit('refs/heads/main', {
        allowCreate: false,
        plan: async () => {
          planned++
          return {
            changes: [{ path: 'x/pipeline.json', oid: blob }],
            message: 'x',
            author: DEFAULT_COMMITTER,
            result: 1,
          }
        },
      }),
    )
    while (planned < 2) await new Promise((r) => setTimeout(r, 5))
    await rm(lockFile)
    expect(await pending).toMatchObject({ changed: true })
  })

  it('computes blob ids exactly as git does', async () => {
    for (const text of ['', '{}\n', 'héllo wörld ✓\n', 'x'.repeat(10_000)])
      expect(repo.blobId(text)).toBe(await repo.writeBlob(text))
  })
})
