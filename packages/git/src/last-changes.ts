import { type CommitSummary, summarizeCommit } from './commit-summary.ts'
import { type CommitObject, isTreeEntry } from './git-objects.ts'
import { LruMap } from './lru.ts'
import { PIPELINE_FILE, PIPELINES_DIR } from './names.ts'
import type { GitRepository } from './repository.ts'

interface Position {
  /** The pipeline's folder tree at that commit. */
  readonly folder: string
  /** Its `pipeline.json` blob. */
  readonly blob: string
}

/** Head commits whose complete answers are kept, so a list after a few saves only walks the new commits. */
const MEMO_HEADS = 32

/**
 * Finds, for every pipeline at a head commit, the newest commit that changed its `pipeline.json`, with git's
 * history simplification for one path: a commit whose file equals one parent's is skipped in favour of that parent
 * (so a merged pull request shows the commit that made the change, as `git log -- <file>` does). It walks commits
 * through the shared object reader (no process per pipeline or per commit) and remembers the answers per head.
 */
export class LastChanges {
  readonly #repo: GitRepository
  readonly #memo = new LruMap<string, ReadonlyMap<string, CommitSummary>>(MEMO_HEADS)
  readonly #folders = new LruMap<string, ReadonlyMap<string, string>>(256)

  constructor(repo: GitRepository) {
    this.#repo = repo
  }

  /** The pipeline folders (name to tree id) at a commit. */
  async #foldersAt(commit: CommitObject, signal?: AbortSignal | undefined): Promise<ReadonlyMap<string, string>> {
    const dir = await this.#repo.entryAt(commit.tree, [PIPELINES_DIR], signal)
    if (!dir || !isTreeEntry(dir)) return new Map()
    const cached = this.#folders.get(dir.oid)
    if (cached) return cached
    const map = new Map<string, string>()
    for (const e of await this.#repo.readTree(dir.oid, signal)) if (isTreeEntry(e)) map.set(e.name, e.oid)
    this.#folders.set(dir.oid, map)
    return map
  }

  async #blobIn(folder: string, signal?: AbortSignal | undefined): Promise<string | undefined> {
    const entries = await this.#repo.readTree(folder, signal)
    return entries.find((e) => e.name === PIPELINE_FILE)?.oid
  }

  /**
   * The last change of each pipeline in `pipelines` (name to its folder and `pipeline.json` blob at `head`).
   */
  async at(
    head: string,
    pipelines: ReadonlyMap<string, Position>,
    signal?: AbortSignal | undefined,
  ): Promise<ReadonlyMap<string, CommitSummary>> {
    const memo = this.#memo.get(head)
    if (memo && [...pipelines.keys()].every((n) => memo.has(n))) return memo
    const result = new Map<string, CommitSummary>()
    const pending = new Map<string, Map<string, Position>>([[head, new Map(pipelines)]])
    while (pending.size > 0) {
      let newest: CommitObject | undefined
      for (const oid of pending.keys()) {
        const c = await this.#repo.readCommit(oid, signal)
        if (!newest || c.committedAt > newest.committedAt) newest = c
      }
      if (!newest) break
      const names = pending.get(newest.oid) ?? new Map<string, Position>()
      pending.delete(newest.oid)
      const known = this.#memo.get(newest.oid)
      const needsParents = [...names.keys()].some((n) => !known?.has(n))
      const commit = newest
      const parents = needsParents
        ? await Promise.all(
            commit.parents.map(async (p) => this.#foldersAt(await this.#repo.readCommit(p, signal), signal)),
          )
        : []
      for (const [name, at] of names) {
        const answer = known?.get(name)
        if (answer) {
          result.set(name, answer)
          continue
        }
        let followed = false
        for (const [i, folders] of parents.entries()) {
          const folder = folders.get(name)
          if (folder === undefined) continue
          if (folder === at.folder || (await this.#blobIn(folder, signal)) === at.blob) {
            const parent = newest.parents[i] as string
            const queue = pending.get(parent) ?? new Map<string, Position>()
            queue.set(name, { folder, blob: at.blob })
            pending.set(parent, queue)
            followed = true
            break
          }
        }
        if (!followed) result.set(name, summarizeCommit(newest))
      }
    }
    this.#memo.set(head, result)
    return result
  }
}
