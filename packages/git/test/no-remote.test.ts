// A store whose repository has no remote: status says so, and every operation that needs one (fetch, pull, push,
// export) is a typed GIT_NO_REMOTE instead of git's message about access rights.
import { join } from 'node:path'
import { hasErrorCode } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import { initRepository } from '../src/repository-setup.ts'
import { fixedClock, pipelineDoc } from './helpers.ts'

describe('a repository without a remote (real git)', () => {
  let dir: TempDir
  let repo: string
  let store: GitPipelineStore

  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-no-remote-')
    repo = await initRepository(join(dir.path, 'repo.git'))
    store = await GitPipelineStore.open({ repo, now: fixedClock() })
    await store.save('orders', pipelineDoc('orders'), { message: 'Seed orders' })
  })
  afterEach(async () => {
    await store.close()
    await dir.remove()
  })

  it('reports no remote, with every commit of the branch ahead', async () => {
    expect(await store.status()).toMatchObject({ remote: null, remoteCommit: null, state: 'no-remote', ahead: 1 })
  })

  it('answers GIT_NO_REMOTE (409) to fetch, pull, push and export, and changes nothing', async () => {
    const before = (await runGit(['rev-parse', 'refs/heads/main'], { cwd: repo })).stdout.trim()
    const calls = [() => store.status({ fetch: true }), () => store.pull(), () => store.push(), () => store.export()]
    for (const call of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(hasErrorCode(error, 'GIT_NO_REMOTE'), String(error)).toBe(true)
      expect(error).toMatchObject({ details: { remote: 'origin' } })
    }
    expect((await runGit(['rev-parse', 'refs/heads/main'], { cwd: repo })).stdout.trim()).toBe(before)
  })

  it('reports the remote again once one is configured', async () => {
    const remote = await initRepository(join(dir.path, 'remote.git'))
    await runGit(['remote', 'add', 'origin', remote], { cwd: repo })
    expect(await store.status()).toMatchObject({ remote: 'origin', state: 'no-remote-branch' })
    await store.push()
    expect(await store.status()).toMatchObject({ remote: 'origin', state: 'up-to-date' })
  })
})
