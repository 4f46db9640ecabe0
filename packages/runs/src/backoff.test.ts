import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { retryDelayMs } from './backoff.ts'

describe('retryDelayMs', () => {
  it('grows exponentially up to the cap, without jitter', () => {
    const policy = { baseMs: 1_000, factor: 2, maxMs: 10_000, jitter: 0 }
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
  })

  it('takes up to `jitter` of the delay off at random, never more', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, r) => {
        const policy = { baseMs: 500, factor: 3, maxMs: 60_000, jitter: 0.4 }
        const full = retryDelayMs(n, { ...policy, jitter: 0 })
        const delay = retryDelayMs(n, policy, () => r)
        return delay <= full && delay >= Math.floor(full * 0.6) && full <= 60_000
      }),
    )
  })

  it('rejects a policy that makes no sense', () => {
    expect(() => retryDelayMs(1, { factor: 0.5 })).toThrow(/factor/)
    expect(() => retryDelayMs(1, { baseMs: 10, maxMs: 5 })).toThrow(/maxMs/)
    expect(() => retryDelayMs(1, { jitter: 2 })).toThrow(/jitter/)
  })
})
