import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_COMMITTER } from './identity.ts'
import { GitRepository } from './repository.ts'
import { initRepository } from './repository-setup.ts'

describe('GitRepository (real git)', () => {
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

  it('computes blob ids exactly as git does', async () => {
    for (const text of ['', '{}\n', 'héllo wörld ✓\n', 'x'.repeat(10_000)])
      expect(repo.blobId(text)).toBe(await repo.writeBlob(text))
  })
})
