import { StudioError } from '@sparkle-studio/core'
import type { CommitObject } from './git-objects.ts'
import { isObjectId, showInput } from './names.ts'
import { pipelineBlobAt } from './pipeline-tree.ts'
import type { GitRepository } from './repository.ts'

/**
 * Checks the shape of a write's `expected` before any work: a blob or commit id, `null`, or absent.
 *
 * @throws StudioError `BAD_REQUEST`.
 */
export function assertExpected(expected: unknown): asserts expected is string | null | undefined {
  if (expected !== undefined && expected !== null && !isObjectId(expected))
    throw new StudioError(
      'BAD_REQUEST',
      `expected must be a blob or commit id (as returned by get or list), or null for a new pipeline; got ${showInput(expected)}`,
      { expected: typeof expected === 'string' ? expected.slice(0, 100) : typeof expected },
    )
}

function short(oid: string | null | undefined): string {
  return oid ? oid.slice(0, 12) : '(none)'
}

/**
 * Throws `CONFLICT` with details `{ name, currentRevision, currentBlob }` when what the caller last read (`expected`:
 * a blob, a commit, or `null` for "must not exist") is no longer what `head` holds (`current`, the pipeline's blob).
 */
export async function checkExpected(
  repo: GitRepository,
  name: string,
  expected: string | null | undefined,
  head: CommitObject | null,
  current: string | null,
  signal?: AbortSignal | undefined,
): Promise<void> {
  if (expected === undefined || expected === current) return
  if (expected !== null && current !== null && (await repo.objectType(expected, signal)) === 'commit') {
    const then = await pipelineBlobAt(repo, await repo.readCommit(expected, signal), name, signal)
    if (then === current) return
  }
  const details = { name, currentRevision: head?.oid ?? null, currentBlob: current }
  if (expected === null)
    throw new StudioError(
      'CONFLICT',
      `pipeline "${name}" already exists (revision ${short(head?.oid)}): open it, or choose another name`,
      details,
    )
  if (current === null)
    throw new StudioError(
      'CONFLICT',
      `pipeline "${name}" was deleted or renamed since you loaded it (now at revision ${short(head?.oid)}): save it as a new pipeline (expected: null) if you want to keep it`,
      details,
    )
  throw new StudioError(
    'CONFLICT',
    `pipeline "${name}" was changed by someone else since you loaded it (now at revision ${short(head?.oid)}): reload it, reapply your change and save again`,
    details,
  )
}
