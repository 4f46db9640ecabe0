// The store's onWrite listener: told of every write with its operation, how it ended and how long it took.
import { describe, expect, it } from 'vitest'
import { bareStore, pipelineDoc } from '../test/helpers.ts'
import type { GitWriteEvent } from './types.ts'

describe('GitPipelineStore onWrite', () => {
  it('tells each save, commit, rename and delete, with conflicts and unchanged saves told apart', async () => {
    const events: GitWriteEvent[] = []
    const { store, cleanup } = await bareStore({ onWrite: (e) => events.push(e) })
    try {
      const first = await store.save('orders', pipelineDoc('orders'), { expected: null })
      await store.save('orders', pipelineDoc('orders'), { expected: first.blob })
      await expect(store.save('orders', pipelineDoc('orders'), { expected: null })).rejects.toThrow()
      await store.commit([{ name: 'users', document: pipelineDoc('users') }])
      await store.rename('users', 'customers')
      await store.delete('customers')
      expect(events.map((e) => `${e.operation}:${e.outcome}`)).toEqual([
        'save:committed',
        'save:unchanged',
        'save:conflict',
        'commit:committed',
        'rename:committed',
        'delete:committed',
      ])
      for (const e of events) expect(e.durationMs).toBeGreaterThanOrEqual(0)
    } finally {
      await cleanup()
    }
  })

  it('keeps a write that a throwing listener was told of', async () => {
    const { store, cleanup } = await bareStore({
      onWrite: () => {
        throw new Error('listener broke')
      },
    })
    try {
      const saved = await store.save('orders', pipelineDoc('orders'), { expected: null })
      expect((await store.get('orders')).blob).toBe(saved.blob)
    } finally {
      await cleanup()
    }
  })
})
