import { ValidationError } from '@sparkle-studio/core'

/** How long a failed run waits before its next attempt: exponential, capped, with jitter. */
export interface RetryPolicy {
  /**
   * Delay before the second attempt, in milliseconds.
   * @default 10_000
   */
  readonly baseMs?: number | undefined
  /**
   * Growth per attempt.
   * @default 2
   */
  readonly factor?: number | undefined
  /**
   * Longest delay, in milliseconds.
   * @default 3_600_000
   */
  readonly maxMs?: number | undefined
  /**
   * Share of the delay drawn at random (0: none, 1: anywhere between 0 and the delay), so that runs that failed
   * together do not retry together.
   * @default 0.5
   */
  readonly jitter?: number | undefined
}

/** A {@link RetryPolicy} with every field filled in. */
export interface ResolvedRetryPolicy {
  readonly baseMs: number
  readonly factor: number
  readonly maxMs: number
  readonly jitter: number
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = Object.freeze({
  baseMs: 10_000,
  factor: 2,
  maxMs: 3_600_000,
  jitter: 0.5,
})

/**
 * The delay before the attempt after `failedAttempt` (1 for the first attempt): `min(maxMs, baseMs * factor^(n-1))`,
 * reduced by up to `jitter` of itself at random.
 *
 * @param random - a source of numbers in [0, 1), injected for tests.
 * @example
 * ```ts
 * import { retryDelayMs } from '@sparkle-studio/runs'
 *
 * retryDelayMs(3, { baseMs: 1000, jitter: 0 }) // 4000
 * ```
 */
export function retryDelayMs(
  failedAttempt: number,
  policy: RetryPolicy = {},
  random: () => number = Math.random,
): number {
  const p = resolveRetryPolicy(policy)
  const exponent = Math.max(0, failedAttempt - 1)
  const capped = Math.min(p.maxMs, p.baseMs * p.factor ** exponent)
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.round(capped * (1 - p.jitter * r))
}

/** Fills in the defaults of a {@link RetryPolicy} and checks its numbers. */
export function resolveRetryPolicy(policy: RetryPolicy): ResolvedRetryPolicy {
  const p: ResolvedRetryPolicy = {
    baseMs: policy.baseMs ?? DEFAULT_RETRY_POLICY.baseMs,
    factor: policy.factor ?? DEFAULT_RETRY_POLICY.factor,
    maxMs: policy.maxMs ?? DEFAULT_RETRY_POLICY.maxMs,
    jitter: policy.jitter ?? DEFAULT_RETRY_POLICY.jitter,
  }
  const issues = []
  if (!(Number.isFinite(p.baseMs) && p.baseMs >= 0))
    issues.push({ path: '/baseMs', code: 'out_of_range', message: 'baseMs must be a number >= 0' })
  if (!(Number.isFinite(p.factor) && p.factor >= 1))
    issues.push({ path: '/factor', code: 'out_of_range', message: 'factor must be a number >= 1' })
  if (!(Number.isFinite(p.maxMs) && p.maxMs >= p.baseMs))
    issues.push({ path: '/maxMs', code: 'out_of_range', message: 'maxMs must be a number >= baseMs' })
  if (!(p.jitter >= 0 && p.jitter <= 1))
    issues.push({ path: '/jitter', code: 'out_of_range', message: 'jitter must be between 0 and 1' })
  if (issues.length > 0) throw new ValidationError(`invalid retry policy: ${issues[0]?.message}`, issues)
  return p
}
