import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import { bareStore, pipelineDoc, snapshot } from './helpers.ts'

describe('GitPipelineStore.commit: several pipelines in one commit (real git)', () => {
  let repo: { path: string }
  let store: GitPipelineStore
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    const made = await bareStore()
    repo = { path: made.repo }
    store = made.store
    cleanup = made.cleanup
  })
  afterEach(async () => {
    await cleanup()
  })

  const commitCount = async () =>
    Number((await runGit(['rev-list', '--count', 'main'], { cwd: repo.path })).stdout.trim())

  it('saves and deletes several pipelines as one commit, checking each expected', async () => {
    const a = await store.save('alpha', pipelineDoc('alpha'))
    await store.save('beta', pipelineDoc('beta'))
    const before = await commitCount()
    const result = await store.commit(
      [
        { name: 'alpha', document: pipelineDoc('alpha', { description: 'changed' }), expected: a.blob },
        { name: 'beta', document: null },
        { name: 'gamma', document: pipelineDoc('gamma'), expected: null },
      ],
      { message: 'Batch change' },
    )
    expect(result.changed).toBe(true)
    expect(await commitCount()).toBe(before + 1)
    const list = await store.list()
    expect(list.pipelines.map((p) => p.name)).toEqual(['alpha', 'gamma'])
    expect((await store.get('alpha')).document.description).toBe('changed')
    expect((await runGit(['log', '-1', '--format=%s', 'main'], { cwd: repo.path })).stdout.trim()).toBe('Batch change')
  })

  it('writes nothing when one change conflicts or is invalid', async () => {
    const a = await store.save('alpha', pipelineDoc('alpha'))
    await store.save('alpha', pipelineDoc('alpha', { description: 'someone else' }), { expected: a.blob })
    const before = await snapshot(repo.path)
    await expect(
      store.commit([
        { name: 'new-one', document: pipelineDoc('new-one') },
        { name: 'alpha', document: pipelineDoc('alpha', { description: 'mine' }), expected: a.blob },
      ]),
    ).rejects.toMatchObject({ code: 'CONFLICT', details: { name: 'alpha' } })
    await expect(store.commit([{ name: 'x', document: { nodes: 'nope' } }])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await expect(store.commit([{ name: 'ghost', document: null }])).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(store.commit([{ name: '../x', document: null }])).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(store.commit([])).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    expect(await snapshot(repo.path)).toBe(before)
    expect((await store.list()).pipelines.map((p) => p.name)).toEqual(['alpha'])
  })
})
