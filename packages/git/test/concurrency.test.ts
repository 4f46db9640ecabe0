import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isStudioError } from '@sparkle-studio/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import { bareStore, fsck, pipelineDoc, treeFiles } from './helpers.ts'

describe('concurrent saves (real git)', () => {
  let ctx: Awaited<ReturnType<typeof bareStore>>
  beforeEach(async () => {
    ctx = await bareStore()
  })
  afterEach(async () => {
    await ctx.cleanup()
  })

  it('lands 50 concurrent saves to 50 different pipelines, with no lock error, and fsck is clean', async () => {
    const { store, repo } = ctx
    await store.save('seed', pipelineDoc('seed'))
    const names = Array.from({ length: 50 }, (_, i) => `pipeline-${String(i).padStart(2, '0')}`)
    const results = await Promise.allSettled(names.map((n) => store.save(n, pipelineDoc(n), { expected: null })))
    const failures = results.filter((r) => r.status === 'rejected')
    expect(failures).toEqual([])
    const commits = results.map((r) => (r.status === 'fulfilled' ? r.value.commit : ''))
    expect(new Set(commits).size).toBe(50)
    expect(await treeFiles(repo)).toEqual(['seed', ...names].sort().map((n) => `pipelines/${n}/pipeline.json`))
    const count = await runGit(['rev-list', '--count', 'refs/heads/main'], { cwd: repo })
    expect(count.stdout.trim()).toBe('51')
    expect((await store.list()).pipelines).toHaveLength(51)
    expect(await fsck(repo)).not.toMatch(/error|missing|broken/i)
  })

  it('gives exactly one success and 49 typed CONFLICTs for 50 saves of one pipeline with the same expected', async () => {
    const { store, repo } = ctx
    const v1 = await store.save('orders', pipelineDoc('orders'), { expected: null })
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.save('orders', pipelineDoc('orders', { description: `edit ${i}` }), { expected: v1.blob }),
      ),
    )
    const ok = results.filter((r) => r.status === 'fulfilled')
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    expect(ok).toHaveLength(1)
    expect(rejected).toHaveLength(49)
    expect(rejected.every((e) => isStudioError(e) && e.code === 'CONFLICT')).toBe(true)
    expect(rejected.some((e) => /index\.lock|\.lock/.test(String((e as Error).message)))).toBe(false)
    const winner = (ok[0] as PromiseFulfilledResult<{ commit: string; blob: string | null }>).value
    for (const e of rejected)
      expect((e as { details: unknown }).details).toEqual({
        name: 'orders',
        currentRevision: winner.commit,
        currentBlob: winner.blob,
      })
    const count = await runGit(['rev-list', '--count', 'refs/heads/main'], { cwd: repo })
    expect(count.stdout.trim()).toBe('2')
    expect(await fsck(repo)).not.toMatch(/error|missing|broken/i)
  })

  it('keeps saves safe against another process committing to the same branch (update-ref compare-and-swap)', async () => {
    const { store, repo, dir } = ctx
    await store.save('seed', pipelineDoc('seed'))
    // Another writer, outside this process: plain git plumbing with its own index, retrying on a moved branch.
    const script = join(dir.path, 'other-writer.sh')
    await writeFile(
      script,
      [
        'set -u',
        'export GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=other@example.com',
        'export GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=other@example.com',
        `export GIT_INDEX_FILE="${join(dir.path, 'other-index')}"`,
        'for i in $(seq -w 1 25); do',
        '  blob=$(printf \'{"schemaVersion":1,"name":"outside-%s","nodes":[],"edges":[]}\\n\' "$i" | git hash-object -w --stdin)',
        '  until',
        '    head=$(git rev-parse refs/heads/main) &&',
        '    git read-tree "$head" &&',
        '    git update-index --add --cacheinfo "100644,$blob,pipelines/outside-$i/pipeline.json" &&',
        '    tree=$(git write-tree) &&',
        '    commit=$(echo "outside $i" | git commit-tree "$tree" -p "$head") &&',
        '    git update-ref refs/heads/main "$commit" "$head" 2>/dev/null',
        '  do :; done',
        'done',
      ].join('\n'),
    )
    const other = new Promise<number>((resolve, reject) => {
      const child = spawn('bash', [script], { cwd: repo, stdio: 'ignore', env: { PATH: process.env['PATH'] ?? '' } })
      child.once('error', reject)
      child.once('close', (code) => resolve(code ?? -1))
    })
    // Start once the other writer is committing, then save in waves so both write at the same time.
    const seed = (await runGit(['rev-parse', 'refs/heads/main'], { cwd: repo })).stdout.trim()
    while ((await runGit(['rev-parse', 'refs/heads/main'], { cwd: repo })).stdout.trim() === seed) await sleep(5)
    const names = Array.from({ length: 25 }, (_, i) => `inside-${String(i + 1).padStart(2, '0')}`)
    const results: PromiseSettledResult<unknown>[] = []
    for (let i = 0; i < names.length; i += 5)
      results.push(
        ...(await Promise.allSettled(
          names.slice(i, i + 5).map((n) => store.save(n, pipelineDoc(n), { expected: null })),
        )),
      )
    expect(await other).toBe(0)
    expect(results.filter((r) => r.status === 'rejected')).toEqual([])
    const files = await treeFiles(repo)
    expect(files.filter((f) => f.includes('/inside-'))).toHaveLength(25)
    expect(files.filter((f) => f.includes('/outside-'))).toHaveLength(25)
    expect(await fsck(repo)).not.toMatch(/error|missing|broken/i)
    // 50 racing commits of two writers take a few seconds; on a loaded machine more than vitest's default 5.
  }, 30_000)

  it('serializes writes of two store instances on the same repository in one process', async () => {
    const { store, repo } = ctx
    const second = await GitPipelineStore.open({ repo })
    try {
      const saves = Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? store : second).save(`both-${i}`, pipelineDoc(`both-${i}`), { expected: null }),
      )
      const results = await Promise.allSettled(saves)
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      expect(await treeFiles(repo)).toHaveLength(20)
    } finally {
      await second.close()
    }
  })
})
