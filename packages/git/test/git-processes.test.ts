import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bareStore, pipelineDoc } from './helpers.ts'

describe('git processes a store starts (onGitProcess)', () => {
  let started: string[]
  let ctx: Awaited<ReturnType<typeof bareStore>>
  beforeEach(async () => {
    started = []
    ctx = await bareStore({ onGitProcess: (args) => started.push(args[0] ?? '') })
  })
  afterEach(async () => {
    await ctx.cleanup()
  })

  /** The git commands `fn` starts, sorted (some run side by side, in either order). */
  async function processesOf(fn: () => Promise<unknown>): Promise<string[]> {
    started = []
    await fn()
    return started.sort()
  }

  it('a save starts exactly 5 git processes; reads and an unchanged save start none', async () => {
    const { store } = ctx
    expect(started).toEqual(['rev-parse', 'symbolic-ref'])
    // The first write also starts the long-lived reader and loads the empty tree into the private index.
    const first = await processesOf(() => store.save('orders', pipelineDoc('orders'), { expected: null }))
    expect(first).toEqual(
      ['cat-file', 'read-tree', 'hash-object', 'update-index', 'write-tree', 'commit-tree', 'update-ref'].sort(),
    )
    const { blob } = await store.get('orders')
    const save = await processesOf(() =>
      store.save('orders', pipelineDoc('orders', { description: 'v2' }), { expected: blob }),
    )
    expect(save).toEqual(['commit-tree', 'hash-object', 'update-index', 'update-ref', 'write-tree'])
    expect(save).toHaveLength(5)
    const other = await processesOf(() => store.save('returns', pipelineDoc('returns'), { expected: null }))
    expect(other).toHaveLength(5)
    const reads = await processesOf(async () => {
      await store.get('orders')
      await store.list()
    })
    expect(reads).toEqual([])
    const unchanged = await processesOf(() => store.save('returns', pipelineDoc('returns')))
    expect(unchanged).toEqual([])
  })
})
