import { setTimeout as sleep } from 'node:timers/promises'
import { StudioError } from '@sparkle-studio/core'
import { type CommitSummary, messageText, summarizeCommit } from './commit-summary.ts'
import { isoDate } from './git-objects.ts'
import { type GitIdentity, recordedIdentity } from './identity.ts'
import { type PipelineEdit, planEdits } from './pipeline-edits.ts'
import type { GitRepository } from './repository.ts'

/** Attempts of a write before giving up when other processes keep moving the branch or holding its lock. */
const MAX_WRITE_ATTEMPTS = 50

/** One write: edits to pipelines, made as one commit on one branch. */
export interface WriteRequest {
  /** The branch, as a full ref (`refs/heads/main`). */
  readonly ref: string
  /** The pipeline changes, with the `expected` checks; planned afresh against every head tried. */
  readonly edits: readonly PipelineEdit[]
  /** The commit message (see {@link commitMessage}). */
  readonly message: string
  /** Who wrote the change (checked by the caller). */
  readonly author: GitIdentity
  /** May the branch be created by this commit (the store's own branch in an empty repository)? @default false */
  readonly allowCreate?: boolean | undefined
  /**
   * Create the branch at this commit instead: the edits are planned against it, the commit is its child, and the
   * write fails with `CONFLICT` if the branch exists (a migration's new branch).
   */
  readonly startAt?: string | undefined
  /** Cancels the write (before the branch moves). */
  readonly signal?: AbortSignal | undefined
}

/** What a write did. */
export interface WriteOutcome {
  /** The branch head after the write: the new commit, or the unchanged head when nothing had to change. */
  readonly summary: CommitSummary
  /** False when nothing had to change (no commit was made). */
  readonly changed: boolean
  /** Each touched pipeline's `pipeline.json` blob after the write (`null` once deleted), by name. */
  readonly blobs: ReadonlyMap<string, string | null>
}

/**
 * A commit message as a write records it: trimmed, `fallback` when empty.
 *
 * @throws StudioError `BAD_REQUEST` for a NUL character (git would cut the message there).
 */
export function commitMessage(message: string | undefined, fallback: string): string {
  const text = message?.trim() || fallback
  if (text.includes('\0')) throw new StudioError('BAD_REQUEST', 'a commit message cannot contain NUL characters')
  return text
}

/**
 * The one way this package writes pipelines. Under the repository's write lock, each attempt reads the branch head,
 * plans the edits against it (checking every `expected`), writes the new blobs while the tree is built in a private
 * index, writes the commit and moves the branch with `update-ref <ref> <new> <old>`. That compare-and-swap keeps
 * other processes safe: when one moved the branch meanwhile, the next attempt plans again on the new head (so a save
 * lands unless its own pipelines changed); when one holds the ref's lock, it waits and tries again. Never touches a
 * work tree or the repository's index.
 *
 * The result describes the commit from what was written (message, author as git records it, the commit time), so
 * no caller has to read it back.
 *
 * @throws StudioError `NOT_FOUND` (no such branch, or a pipeline to delete or rename), `CONFLICT` (a stale
 * `expected`, a rename onto an existing pipeline, `startAt` on an existing branch, or other writers that never stop).
 */
export function writeChanges(repo: GitRepository, request: WriteRequest): Promise<WriteOutcome> {
  return repo.lock(() => commitWithRetries(repo, request))
}

async function commitWithRetries(repo: GitRepository, request: WriteRequest): Promise<WriteOutcome> {
  const { ref, signal } = request
  const branch = ref.replace(/^refs\/heads\//, '')
  const start = request.startAt === undefined ? null : await repo.readCommit(request.startAt, signal)
  const written = new Map<string, Promise<void>>()
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    const headId = await repo.resolveCommit(ref, signal)
    if (start && headId !== null)
      throw new StudioError('CONFLICT', `branch ${branch} was created meanwhile: choose another branch`, { branch })
    if (!start && headId === null && !request.allowCreate)
      throw new StudioError('NOT_FOUND', `branch ${branch} does not exist: create it first`, { ref })
    const head = headId === null ? null : await repo.readCommit(headId, signal)
    const base = start ?? head
    const plan = await planEdits(repo, base, request.edits, ref, signal)
    // Only a new branch commits without changes (it has nothing to stay the same as).
    if (head && plan.changes.length === 0) return { summary: summarizeCommit(head), changed: false, blobs: plan.blobs }
    const storing = writeBlobs(repo, plan.texts, written, signal)
    storing.catch(() => {})
    const tree = await repo.buildTree(base?.tree ?? null, plan.changes, signal, plan.texts.size > 0)
    if (head && tree === head.tree) return { summary: summarizeCommit(head), changed: false, blobs: plan.blobs }
    const date = repo.now()
    const commit = await repo.commitTree(tree, base ? [base.oid] : [], request.message, request.author, {
      date,
      signal,
    })
    await storing
    const updated = await repo.git(['update-ref', ref, commit, headId ?? ''], { okCodes: [1, 128], signal })
    if (updated.code === 0) {
      const author = recordedIdentity(request.author)
      const summary = {
        commit,
        author: { name: author.name, email: author.email },
        date: isoDate(Math.floor(date.getTime() / 1000), '+0000'),
        message: messageText(request.message),
      }
      return { summary, changed: true, blobs: plan.blobs }
    }
    if (attempt >= MAX_WRITE_ATTEMPTS)
      throw new StudioError(
        'CONFLICT',
        `could not update ${ref} after ${attempt} attempts: other writers keep changing it; try again`,
        { ref },
      )
    // Moved by another process: plan again on the new head. Locked by another process: wait for it to finish.
    if ((await repo.resolveCommit(ref, signal)) === headId) {
      if (!/Unable to create|File exists/i.test(updated.stderr))
        throw new StudioError('GIT_FAILED', `git update-ref failed: ${updated.stderr.trim()}`, { ref })
      await sleep(2 + Math.random() * 20 * Math.min(attempt, 5))
    }
  }
}

/**
 * Writes the blobs of `texts` not written yet by an earlier attempt (one git process for all of them) and checks git
 * stored each under the id computed in Node; settles when every blob of `texts` is in the repository.
 */
function writeBlobs(
  repo: GitRepository,
  texts: ReadonlyMap<string, string>,
  written: Map<string, Promise<void>>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const missing = [...texts].filter(([id]) => !written.has(id))
  if (missing.length > 0) {
    const writing = repo
      .writeBlobs(
        missing.map(([, text]) => text),
        signal,
      )
      .then((ids) => {
        for (const [i, [expected]] of missing.entries())
          if (ids[i] !== expected)
            throw new StudioError('INTERNAL', `git stored a document as ${ids[i]}, expected ${expected}`)
      })
    for (const [id] of missing) written.set(id, writing)
  }
  return Promise.all([...texts.keys()].map((id) => written.get(id))).then(() => undefined)
}
