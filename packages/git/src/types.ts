// The public types of the store's options and reads; writes are in write-types.ts.
import type { CommitSummary } from './commit-summary.ts'
import type { GitProcessListener } from './git-process.ts'
import type { GitIdentity } from './identity.ts'
import type { PipelineChanges } from './pipeline-diff.ts'
import type { ValidatePipeline } from './pipeline-document.ts'

/** Options of {@link GitPipelineStore.open}. */
export interface GitPipelineStoreOptions<T> {
  /** Path of the bare repository (see {@link initRepository} and {@link cloneRepository}). */
  readonly repo: string
  /** The branch reads and saves use when none is given. @default the branch the repository's HEAD names */
  readonly branch?: string | undefined
  /**
   * Validates documents before they are saved, typically core's registry validator. Without it the store checks only
   * the document's shape ({@link checkPipelineShape}), and cannot know which config fields are secret.
   */
  readonly validate?: ValidatePipeline<T> | undefined
  /** Recorded as committer of every commit. @default {@link DEFAULT_COMMITTER} */
  readonly committer?: GitIdentity | undefined
  /** Recorded as author when a write names none. @default the committer */
  readonly author?: GitIdentity | undefined
  /** The clock for commit times. @default () => new Date() */
  readonly now?: (() => Date) | undefined
  /** The remote that `pull`, `push` and `status` talk to. @default 'origin' */
  readonly remote?: string | undefined
  /** Largest serialized document accepted. @default 1048576 (1 MiB) */
  readonly maxDocumentBytes?: number | undefined
  /**
   * Told about every git process the store starts (its arguments after `git`), including those of opening it and the
   * long-lived `cat-file` reader, e.g. to assert in a test how many processes a save costs.
   *
   * @example
   * ```ts
   * import { GitPipelineStore } from '@sparkle-studio/git'
   *
   * const started: string[] = []
   * const onGitProcess = (args: readonly string[]) => started.push(args[0] ?? '')
   * const store = await GitPipelineStore.open({ repo: '/srv/pipelines.git', onGitProcess })
   * ```
   */
  readonly onGitProcess?: GitProcessListener | undefined
  /**
   * Told when each write (save, commit, delete, rename) ends, with how long it took under the repository's write lock
   * and how it ended, e.g. to time saves in a metrics registry. A listener that throws does not fail the write.
   *
   * @example
   * ```ts
   * import { GitPipelineStore } from '@sparkle-studio/git'
   *
   * const store = await GitPipelineStore.open({
   *   repo: '/srv/pipelines.git',
   *   onWrite: ({ operation, outcome, durationMs }) => console.log(operation, outcome, durationMs),
   * })
   * ```
   */
  readonly onWrite?: GitWriteListener | undefined
  /** Cancels opening. */
  readonly signal?: AbortSignal | undefined
}

/** What a write was: one of the store's write methods. */
export type GitWriteOperation = 'save' | 'commit' | 'delete' | 'rename'

/**
 * How a write ended: a new commit, nothing to change (no commit), a stale `expected` (`CONFLICT`), or another error.
 */
export type GitWriteOutcome = 'committed' | 'unchanged' | 'conflict' | 'failed'

/** What {@link GitPipelineStoreOptions.onWrite} is told of one write. */
export interface GitWriteEvent {
  readonly operation: GitWriteOperation
  readonly outcome: GitWriteOutcome
  /** From asking for the write lock to the branch update (or the error), in milliseconds. */
  readonly durationMs: number
}

/** Told of each write of a {@link GitPipelineStore} when it ends (see {@link GitPipelineStoreOptions.onWrite}). */
export type GitWriteListener = (event: GitWriteEvent) => void

/** Where to read: a branch name, a full ref name (`refs/tags/v1`) or a full commit id. */
export interface ReadOptions {
  /** @default the store's branch */
  readonly ref?: string | undefined
  /** Cancels the read. */
  readonly signal?: AbortSignal | undefined
}

/** Options of {@link GitPipelineStore.list}. */
export interface ListOptions extends ReadOptions {
  /** Find the commit that last changed each pipeline. @default true */
  readonly lastCommit?: boolean | undefined
}

/** One pipeline in a list. */
export interface PipelineSummary {
  /** The pipeline's name (its folder). */
  readonly name: string
  /** Its description, when it has one. */
  readonly description?: string
  /** Its tags. */
  readonly tags: readonly string[]
  /** Its document's format version, when present. */
  readonly schemaVersion?: number
  /** The `pipeline.json` blob: pass it as `expected` to save without losing anyone's update. */
  readonly blob: string
  /** The commit that last changed the pipeline (absent with `lastCommit: false`). */
  readonly lastCommit?: CommitSummary
}

/** A file in the pipelines folder that could not be listed, reported instead of failing the whole list. */
export interface PipelineProblem {
  /** The folder or file name under `pipelines/`. */
  readonly name: string
  /** The repository path concerned. */
  readonly path: string
  /**
   * `invalid_json` (not JSON), `invalid_document` (JSON but not an object), `missing_document` (a folder without
   * `pipeline.json`), `invalid_name` (a folder name that is not a valid pipeline name), `name_mismatch` (the
   * document's `name` differs from its folder), `not_a_pipeline` (a file directly under `pipelines/`).
   */
  readonly code: string
  /** A sentence naming the file and the fix. */
  readonly message: string
}

/** The pipelines at one revision. */
export interface PipelineList {
  /** The commit listed; `null` for a branch with no commits yet. */
  readonly revision: string | null
  /** Valid pipelines, sorted by name. */
  readonly pipelines: readonly PipelineSummary[]
  /** Everything under `pipelines/` that is not a readable pipeline. */
  readonly problems: readonly PipelineProblem[]
}

/** A pipeline document as read from one revision. */
export interface StoredPipeline<T> {
  /** The pipeline's name. */
  readonly name: string
  /** The document, parsed from JSON (not validated: validate it if it may come from other tools). */
  readonly document: T
  /** The commit it was read at (the branch head for a branch). */
  readonly revision: string
  /** Its `pipeline.json` blob: pass it as `expected` when saving it back. */
  readonly blob: string
  /** Its path in the repository. */
  readonly path: string
}

/** Options of {@link GitPipelineStore.history}. */
export interface HistoryOptions extends ReadOptions {
  /** At most this many entries. @default 50 */
  readonly limit?: number | undefined
  /** Skip this many newest entries (for paging). @default 0 */
  readonly skip?: number | undefined
}

/** The structured difference of one pipeline between two revisions. */
export interface PipelineDiff extends PipelineChanges {
  /** The pipeline compared. */
  readonly name: string
  /** The older side: its commit, and the blob (`null` when the pipeline did not exist there). */
  readonly from: { readonly revision: string; readonly blob: string | null }
  /** The newer side. */
  readonly to: { readonly revision: string; readonly blob: string | null }
}

/** What {@link GitPipelineStore.export} published. */
export interface ExportResult {
  /** The branch pushed. */
  readonly branch: string
  /** The commit the remote's branch now points at. */
  readonly commit: string
  /** The remote pushed to. */
  readonly remote: string
}
