const tails = new Map<string, Promise<void>>()

/**
 * Runs `fn` when every earlier call with the same `key` (a repository's real path) has finished, so writes to one
 * repository from one process never overlap, whichever store instance makes them. Other processes are kept safe by
 * the compare-and-swap of `git update-ref`, not by this lock.
 */
export async function withRepoLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve()
  let release!: () => void
  const mine = new Promise<void>((resolve) => {
    release = resolve
  })
  const tail = previous.then(() => mine)
  tails.set(key, tail)
  await previous
  try {
    return await fn()
  } finally {
    release()
    if (tails.get(key) === tail) tails.delete(key)
  }
}
