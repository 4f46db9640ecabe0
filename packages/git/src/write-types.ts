// The public types of the store's writes: every write answers a CommitSummary of the branch head it left.
import type { CommitSummary } from './commit-summary.ts'
import type { GitIdentity } from './identity.ts'

/** Options shared by writes. */
export interface WriteOptions {
  /** The commit message. Each write has a default such as `Save pipeline orders`. */
  readonly message?: string | undefined
  /** Who wrote the change. @default the store's author */
  readonly author?: GitIdentity | undefined
  /** The branch to commit to (it must exist, except the store's own branch in an empty repository). */
  readonly branch?: string | undefined
  /**
   * What the caller last read, to refuse a lost update: the `blob` from `get`/`list` (a conflict only when this
   * pipeline changed), a commit id (a conflict when the pipeline changed since that commit), or `null` for "must not
   * exist yet". Leave it out only to overwrite unconditionally.
   */
  readonly expected?: string | null | undefined
  /** Cancels the write (before it commits). */
  readonly signal?: AbortSignal | undefined
}

/**
 * What a write of one pipeline did. It is the summary of the branch head after the write: the new commit, or the
 * unchanged head when nothing changed (`changed: false`); `commit` is that commit's id.
 */
export interface WriteResult extends CommitSummary {
  /** The pipeline's name (the new name for a rename). */
  readonly name: string
  /** The pipeline's `pipeline.json` blob after the write (`null` after a delete): the next write's `expected`. */
  readonly blob: string | null
  /** False when the document was already exactly this (no commit was made). */
  readonly changed: boolean
}

/** One change of {@link GitPipelineStore.commit}: a document to save, or `null` to delete the pipeline. */
export interface PipelineChange {
  /** The pipeline. */
  readonly name: string
  /** The document to save, or `null` to delete the pipeline. */
  readonly document: unknown
  /** The blob or commit the caller read, `null` for "must not exist yet"; absent for no check. */
  readonly expected?: string | null | undefined
}

/**
 * The result of {@link GitPipelineStore.commit}: the summary of the branch head after it (the new commit, or the
 * unchanged head when nothing changed).
 */
export interface CommitResult extends CommitSummary {
  /** False when every change left its pipeline as it was (no commit was made). */
  readonly changed: boolean
  /** The blob of each saved pipeline (`null` for deletions), by name. */
  readonly blobs: Readonly<Record<string, string | null>>
}
