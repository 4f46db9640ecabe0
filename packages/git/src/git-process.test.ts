import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gitEnv, runGit } from './git-process.ts'

describe('runGit (real git)', () => {
  let dir: TempDir
  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('commits through plumbing without touching an index', async () => {
    const cwd = dir.path
    await runGit(['init', '--quiet', '--initial-branch=main'], { cwd })
    const blob = (await runGit(['hash-object', '-w', '--stdin'], { cwd, input: '{"a":1}\n' })).stdout.trim()
    expect(blob).toMatch(/^[0-9a-f]{40}$/)
    const tree = (await runGit(['mktree'], { cwd, input: `100644 blob ${blob}\tpipeline.json\n` })).stdout.trim()
    const identity = {
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    }
    const commit = (await runGit(['commit-tree', tree, '-m', 'first'], { cwd, env: identity })).stdout.trim()
    await runGit(['update-ref', 'refs/heads/main', commit, ''], { cwd })
    const shown = await runGit(['show', 'main:pipeline.json'], { cwd })
    expect(shown.stdout).toBe('{"a":1}\n')
    const fsck = await runGit(['fsck', '--strict'], { cwd })
    expect(fsck.code).toBe(0)
  })

  it('throws GIT_FAILED with git message for a failing command', async () => {
    await expect(runGit(['rev-parse', 'HEAD'], { cwd: dir.path })).rejects.toMatchObject({
      code: 'GIT_FAILED',
      message: expect.stringContaining('not a git repository'),
    })
  })

  it('keeps the caller’s GIT_* variables away from git', () => {
    process.env['GIT_DIR'] = '/somewhere/else'
    try {
      expect(gitEnv()['GIT_DIR']).toBeUndefined()
      expect(gitEnv()['GIT_TERMINAL_PROMPT']).toBe('0')
    } finally {
      delete process.env['GIT_DIR']
    }
  })
})
