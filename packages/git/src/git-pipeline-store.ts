import { hasErrorCode, StudioError } from '@sparkle-studio/core'
import { assertExpected } from './expected.ts'
import type { CommitObject } from './git-objects.ts'
import { historyPaging, type PipelineHistoryEntry, readHistory } from './history.ts'
import { assertIdentity, DEFAULT_COMMITTER, type GitIdentity } from './identity.ts'
import { PipelineLister } from './list-pipelines.ts'
import { migrateAll } from './migrate-all.ts'
import type { MigrateAllOptions, MigrateAllResult } from './migrate-types.ts'
import {
  assertBranchName,
  assertPipelineName,
  assertRemoteName,
  pipelinePath,
  revisionName,
  showInput,
} from './names.ts'
import { diffPipelineDocuments } from './pipeline-diff.ts'
import type { PipelineDocumentLike, ValidatePipeline } from './pipeline-document.ts'
import type { PipelineEdit } from './pipeline-edits.ts'
import { locatePipeline, readPipelineDocument } from './pipeline-tree.ts'
import { prepareDocument } from './prepare-document.ts'
import { GitRepository } from './repository.ts'
import {
  type BranchInfo,
  type BranchStatus,
  branchStatus,
  createBranch,
  deleteBranch,
  listBranches,
  type PullOptions,
  type PullResult,
  type PushOptions,
  type PushResult,
  pull,
  push,
} from './sync.ts'
import type {
  ExportResult,
  GitPipelineStoreOptions,
  GitWriteListener,
  GitWriteOperation,
  GitWriteOutcome,
  HistoryOptions,
  ListOptions,
  PipelineDiff,
  PipelineList,
  ReadOptions,
  StoredPipeline,
} from './types.ts'
import { commitMessage, type WriteOutcome, writeChanges } from './write-changes.ts'
import type { CommitResult, PipelineChange, WriteOptions, WriteResult } from './write-types.ts'

/** Where and how a write commits, from its options. */
interface WriteContext {
  readonly ref: string
  readonly author: GitIdentity
  readonly message: string
  readonly expected: string | null | undefined
  readonly allowCreate: boolean
}

/**
 * Pipelines stored in a git repository, one folder each (`pipelines/<name>/pipeline.json`), where every save is a commit.
 * Writes never touch an index or work tree and never lose an update: a save names what it last read (`expected`) and
 * gets a `CONFLICT` when that pipeline changed meanwhile, while saves of different pipelines all land, also from
 * several processes. Every write answers the summary of the commit it made (id, author, date, message). Reads go
 * through one long-lived `git cat-file --batch` process.
 *
 * @typeParam T The document type `get` returns (core's `PipelineDocument` once the host wires core's validator).
 * @example
 * ```ts
 * import { GitPipelineStore, initRepository } from '@sparkle-studio/git'
 *
 * await initRepository('/srv/pipelines.git')
 * const store = await GitPipelineStore.open({ repo: '/srv/pipelines.git' })
 * const doc = { schemaVersion: 1, name: 'orders', nodes: [], edges: [] }
 * const saved = await store.save('orders', doc, { expected: null, message: 'Create orders' })
 * const { document, blob } = await store.get('orders')
 * await store.save('orders', { ...document, description: 'Daily orders' }, { expected: blob })
 * console.log(saved.commit, saved.date, (await store.history('orders')).map((h) => h.message))
 * await store.close()
 * ```
 */
export class GitPipelineStore<T extends object = PipelineDocumentLike> {
  readonly #repo: GitRepository
  readonly #branchRef: string
  readonly #validate: ValidatePipeline<T> | undefined
  readonly #author: GitIdentity
  readonly #remote: string
  readonly #maxBytes: number
  readonly #lister: PipelineLister
  readonly #onWrite: GitWriteListener | undefined

  private constructor(repo: GitRepository, branchRef: string, options: GitPipelineStoreOptions<T>) {
    this.#repo = repo
    this.#branchRef = branchRef
    this.#validate = options.validate
    this.#author = options.author ?? options.committer ?? DEFAULT_COMMITTER
    this.#remote = options.remote ?? 'origin'
    this.#maxBytes = options.maxDocumentBytes ?? 1024 * 1024
    this.#lister = new PipelineLister(repo)
    this.#onWrite = options.onWrite
  }

  /**
   * Opens the store on a bare repository. A repository with a work tree is refused: the store updates branches without
   * any checkout, which would leave a work tree silently out of step with its branch.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND` (no such folder), `BAD_REQUEST` (not a
   * bare repository's root, invalid branch or identity).
   */
  static async open<T extends object = PipelineDocumentLike>(
    options: GitPipelineStoreOptions<T>,
  ): Promise<GitPipelineStore<T>> {
    const committer = options.committer ?? DEFAULT_COMMITTER
    assertIdentity(committer, 'committer')
    if (options.author) assertIdentity(options.author, 'author')
    if (options.branch !== undefined) assertBranchName(options.branch)
    if (options.remote !== undefined) assertRemoteName(options.remote)
    const repo = await GitRepository.open(options.repo, {
      committer,
      now: options.now ?? (() => new Date()),
      onGitProcess: options.onGitProcess,
      signal: options.signal,
    })
    const branchRef = options.branch === undefined ? repo.headRef : `refs/heads/${options.branch}`
    return new GitPipelineStore<T>(repo, branchRef, options)
  }

  /** The store's branch (where reads and writes go by default). */
  get branch(): string {
    return this.#branchRef.slice('refs/heads/'.length)
  }

  /** The absolute path of the repository. */
  get path(): string {
    return this.#repo.gitDir
  }

  /** How many `git cat-file` processes this store started for reads (1 unless one died). */
  get readerProcessStarts(): number {
    return this.#repo.reader.processStarts
  }

  /** Ends the reader process and cleans up; waits for writes in progress. */
  close(): Promise<void> {
    return this.#repo.close()
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  /** The commit a read option names; `null` for the store's branch before its first commit. */
  async #commitAt(ref: string | undefined, signal: AbortSignal | undefined): Promise<CommitObject | null> {
    const name = ref === undefined ? this.#branchRef : revisionName(ref)
    const oid = await this.#repo.resolveCommit(name, signal)
    if (oid === null) {
      if (name === this.#branchRef) return null
      throw new StudioError('NOT_FOUND', `revision ${showInput(ref)} not found in the repository`, { ref })
    }
    return this.#repo.readCommit(oid, signal)
  }

  /**
   * Lists the pipelines at a revision with their description, tags, blob and the commit that last changed them. A file
   * that is not a readable pipeline does not fail the list: it is reported in `problems`.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND` for an unknown `ref`.
   */
  async list(options: ListOptions = {}): Promise<PipelineList> {
    const { signal } = options
    const commit = await this.#commitAt(options.ref, signal)
    if (!commit) return { revision: null, pipelines: [], problems: [] }
    return this.#lister.list(commit, { lastCommit: options.lastCommit !== false, signal })
  }

  /**
   * Reads one pipeline at a revision (the store's branch head by default, or any branch, ref or commit id).
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` (invalid name), `NOT_FOUND` (no such
   * pipeline or revision), or a {@link @sparkle-studio/core!index.ValidationError | ValidationError} with an `invalid_json`
   * issue naming the file when it is not JSON.
   */
  async get(name: string, options: ReadOptions = {}): Promise<StoredPipeline<T>> {
    assertPipelineName(name)
    const { signal } = options
    const commit = await this.#commitAt(options.ref, signal)
    const found = await locatePipeline(this.#repo, commit, name, signal)
    if (!commit || !found?.file)
      throw new StudioError(
        'NOT_FOUND',
        `pipeline "${name}" not found${options.ref === undefined ? ` on branch ${this.branch}` : ` at ${showInput(options.ref)}`}`,
        { name, revision: commit?.oid ?? null },
      )
    const path = pipelinePath(name)
    const document = await readPipelineDocument(this.#repo, found.file, path, signal)
    return { name, document: document as T, revision: commit.oid, blob: found.file.oid, path }
  }

  /**
   * The commits that changed a pipeline, newest first, following renames.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` (invalid name or paging),
   * `NOT_FOUND` (unknown ref).
   */
  async history(name: string, options: HistoryOptions = {}): Promise<PipelineHistoryEntry[]> {
    assertPipelineName(name)
    const paging = historyPaging(options)
    const commit = await this.#commitAt(options.ref, options.signal)
    if (!commit) return []
    return readHistory(this.#repo, commit.oid, name, paging, options.signal)
  }

  /**
   * The structured difference of a pipeline between two revisions (branches, refs or commit ids): nodes added,
   * removed, moved, relabelled, config fields changed (JSON pointers with before/after), edges and top-level fields.
   * A side where the pipeline does not exist compares as empty.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND` when the pipeline exists at neither.
   */
  async diff(name: string, from: string, to: string, options: ReadOptions = {}): Promise<PipelineDiff> {
    assertPipelineName(name)
    const { signal } = options
    const sides = await Promise.all(
      [from, to].map(async (ref) => {
        const commit = await this.#commitAt(ref, signal)
        if (!commit) throw new StudioError('NOT_FOUND', `branch ${showInput(ref)} has no commits yet`, { ref })
        const found = await locatePipeline(this.#repo, commit, name, signal)
        const document = found?.file
          ? await readPipelineDocument(this.#repo, found.file, pipelinePath(name), signal)
          : null
        return { revision: commit.oid, blob: found?.file?.oid ?? null, document }
      }),
    )
    const [a, b] = sides as [(typeof sides)[number], (typeof sides)[number]]
    if (!a.document && !b.document)
      throw new StudioError('NOT_FOUND', `pipeline "${name}" exists at neither revision`, { name, from, to })
    return {
      name,
      from: { revision: a.revision, blob: a.blob },
      to: { revision: b.revision, blob: b.blob },
      ...diffPipelineDocuments(a.document, b.document),
    }
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  #branchFor(branch: string | undefined): string {
    if (branch === undefined) return this.#branchRef
    assertBranchName(branch)
    return `refs/heads/${branch}`
  }

  /** Checks what every write is given and answers where and how it commits. */
  #writeContext(options: WriteOptions, fallbackMessage: string): WriteContext {
    assertExpected(options.expected)
    const author = options.author ?? this.#author
    assertIdentity(author, 'author')
    const message = commitMessage(options.message, fallbackMessage)
    const ref = this.#branchFor(options.branch)
    return { ref, author, message, expected: options.expected, allowCreate: ref === this.#branchRef }
  }

  /** Makes one write through the one write primitive, and tells `onWrite` how long it took and how it ended. */
  async #write(
    operation: GitWriteOperation,
    ctx: WriteContext,
    edits: readonly PipelineEdit[],
    signal: AbortSignal | undefined,
  ): Promise<WriteOutcome> {
    const { ref, author, message, allowCreate } = ctx
    const started = performance.now()
    const told = (outcome: GitWriteOutcome) => {
      try {
        this.#onWrite?.({ operation, outcome, durationMs: performance.now() - started })
      } catch {
        // A listener's failure is its own: the write is done (or failed) either way.
      }
    }
    try {
      const outcome = await writeChanges(this.#repo, { ref, edits, message, author, allowCreate, signal })
      told(outcome.changed ? 'committed' : 'unchanged')
      return outcome
    } catch (error) {
      told(hasErrorCode(error, 'CONFLICT') ? 'conflict' : 'failed')
      throw error
    }
  }

  /** Checks and serializes a document; throws before anything is written. */
  #prepare(name: string, document: unknown): Promise<string> {
    return prepareDocument(name, document, { validate: this.#validate, maxBytes: this.#maxBytes })
  }

  /**
   * Saves a pipeline as one commit on its branch. The document is validated first (a
   * {@link @sparkle-studio/core!index.ValidationError | ValidationError}, or `SECRET_IN_PLAINTEXT` for a plaintext
   * secret; nothing is written). Its `name` must equal the pipeline's name; when absent it is set. Saving exactly the
   * stored document makes no commit (`changed: false`).
   *
   * @returns The summary of the new commit (or of the unchanged head), the pipeline's new blob and whether it changed.
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `CONFLICT` with details `{ name, currentRevision,
   * currentBlob }` when `expected` is stale; `BAD_REQUEST`, `VALIDATION_FAILED`, `SECRET_IN_PLAINTEXT`,
   * `PAYLOAD_TOO_LARGE`, `NOT_FOUND` (unknown branch).
   */
  async save(name: string, document: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    assertPipelineName(name)
    const ctx = this.#writeContext(options, `Save pipeline ${name}`)
    const text = await this.#prepare(name, document)
    const outcome = await this.#write(
      'save',
      ctx,
      [{ kind: 'put', name, text, expected: ctx.expected }],
      options.signal,
    )
    return writeResult(name, outcome)
  }

  /**
   * Saves and deletes several pipelines as one commit: each change is a document to save, or `null` to delete the
   * pipeline. Every document is validated and every `expected` checked before anything is written; one problem and
   * nothing is committed. Changes that leave a pipeline as it is are skipped; when nothing changes, no commit is made.
   *
   * @returns The summary of the new commit (or of the unchanged head) and each pipeline's new blob.
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` (no changes, a name twice),
   * `VALIDATION_FAILED`, `SECRET_IN_PLAINTEXT`, `NOT_FOUND` (deleting a missing pipeline), `CONFLICT` (a stale `expected`).
   */
  async commit(
    changes: readonly PipelineChange[],
    options: Omit<WriteOptions, 'expected'> = {},
  ): Promise<CommitResult> {
    if (changes.length === 0) throw new StudioError('BAD_REQUEST', 'a commit needs at least one change')
    const names = new Set<string>()
    for (const c of changes) {
      assertPipelineName(c.name)
      if (names.has(c.name))
        throw new StudioError('BAD_REQUEST', `pipeline "${c.name}" appears twice in one commit`, { name: c.name })
      names.add(c.name)
      assertExpected(c.expected)
    }
    const ctx = this.#writeContext(options, `Save ${changes.length} pipelines`)
    const edits = await Promise.all(
      changes.map(async ({ name, document, expected }): Promise<PipelineEdit> => {
        if (document === null) return { kind: 'delete', name, expected }
        return { kind: 'put', name, text: await this.#prepare(name, document), expected }
      }),
    )
    const outcome = await this.#write('commit', ctx, edits, options.signal)
    return { ...outcome.summary, changed: outcome.changed, blobs: Object.fromEntries(outcome.blobs) }
  }

  /**
   * Deletes a pipeline (its whole folder) as one commit.
   *
   * @returns The summary of the new commit, with `blob: null`.
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND`, or `CONFLICT` when `expected` is stale.
   */
  async delete(name: string, options: WriteOptions = {}): Promise<WriteResult> {
    assertPipelineName(name)
    const ctx = this.#writeContext(options, `Delete pipeline ${name}`)
    const edit: PipelineEdit = { kind: 'delete', name, expected: ctx.expected }
    const outcome = await this.#write('delete', { ...ctx, allowCreate: false }, [edit], options.signal)
    return writeResult(name, outcome)
  }

  /**
   * Renames a pipeline as one commit: its folder moves (with any other files in it) and the document's `name` follows.
   * `expected` refers to the pipeline under its old name.
   *
   * @returns The summary of the new commit, with the new name and the document's new blob.
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND` (no `from`), `CONFLICT` (`to` exists, or
   * `expected` is stale), `BAD_REQUEST` (invalid names, or the same name twice).
   */
  async rename(from: string, to: string, options: WriteOptions = {}): Promise<WriteResult> {
    assertPipelineName(from)
    assertPipelineName(to)
    if (from === to) throw new StudioError('BAD_REQUEST', `cannot rename "${from}" to itself`, { name: from })
    const ctx = this.#writeContext(options, `Rename pipeline ${from} to ${to}`)
    const edit: PipelineEdit = { kind: 'rename', from, to, expected: ctx.expected }
    const outcome = await this.#write('rename', { ...ctx, allowCreate: false }, [edit], options.signal)
    return writeResult(to, outcome)
  }

  /**
   * Applies a document migration to every pipeline and commits all changes as one commit on a new branch, optionally
   * pushing it and opening a pull request. With `dryRun` it only reports what would change. All or nothing: when any
   * migrated document is invalid, nothing is written and the error lists the issues per pipeline.
   *
   * @returns The report, and the summary of the migration commit (`commit: null` in a dry run or when nothing changed).
   */
  migrateAll(options: MigrateAllOptions<T>): Promise<MigrateAllResult> {
    return migrateAll<T>(
      {
        repo: this.#repo,
        branchRef: this.#branchRef,
        remote: this.#remote,
        author: this.#author,
        list: (ref, signal) => this.list({ ref, lastCommit: false, signal }),
        get: (name, ref, signal) => this.get(name, { ref, signal }),
        prepare: (name, doc) => this.#prepare(name, doc),
      },
      options,
    )
  }

  // ---- branches and sync --------------------------------------------------------------------------------------

  /** The local branches with their head commit and how far each is ahead of / behind its remote-tracking branch. */
  listBranches(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<BranchInfo[]> {
    return listBranches(this.#repo, { remote: this.#remote, current: this.#branchRef, signal: options.signal })
  }

  /**
   * Creates a branch at another branch's head (the store's branch by default), a ref or a commit.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `CONFLICT` when it exists, `NOT_FOUND` when `from` does not.
   */
  createBranch(
    name: string,
    options: { readonly from?: string | undefined; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<BranchInfo> {
    return createBranch(this.#repo, name, { from: options.from ?? this.branch, signal: options.signal })
  }

  /**
   * Deletes a local branch. Refuses the store's own branch, and a branch with commits that are neither on the store's
   * branch nor pushed to the remote unless `force` is set.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND`, `BAD_REQUEST`, `CONFLICT` (unmerged).
   */
  deleteBranch(
    name: string,
    options: { readonly force?: boolean | undefined; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    return deleteBranch(this.#repo, name, {
      force: options.force ?? false,
      protectedRef: this.#branchRef,
      remote: this.#remote,
      signal: options.signal,
    })
  }

  /** How a branch stands against its remote (ahead/behind), optionally fetching first. */
  status(
    options: {
      readonly branch?: string | undefined
      readonly fetch?: boolean | undefined
      readonly signal?: AbortSignal | undefined
    } = {},
  ): Promise<BranchStatus> {
    return branchStatus(this.#repo, {
      branch: options.branch ?? this.branch,
      remote: this.#remote,
      fetch: options.fetch ?? false,
      signal: options.signal,
    })
  }

  /**
   * Fetches the branch and brings it up to date: a fast-forward when it has no local commits, otherwise its local
   * commits are rebased onto the remote's (`mode: 'rebase'`, the default) or the pull is refused (`'ff-only'`).
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `GIT_MERGE_CONFLICT` with details `{ pipelines, files }`
   * when both sides changed the same pipeline incompatibly; the branch is left exactly as it was.
   */
  pull(
    options: Omit<PullOptions, 'remote' | 'branch'> & { readonly branch?: string | undefined } = {},
  ): Promise<PullResult> {
    return this.#repo.lock(() =>
      pull(this.#repo, { ...options, branch: options.branch ?? this.branch, remote: this.#remote }),
    )
  }

  /**
   * Pushes a branch to the remote.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `GIT_REMOTE_REJECTED` (details `{ branch, remote,
   * reason }`, reason `non-fast-forward` when the remote has commits this branch lacks: pull first).
   */
  push(
    options: Omit<PushOptions, 'remote' | 'branch'> & { readonly branch?: string | undefined } = {},
  ): Promise<PushResult> {
    return push(this.#repo, { ...options, branch: options.branch ?? this.branch, remote: this.#remote })
  }

  /**
   * Publishes a branch: pushes it and answers the commit the remote now has, e.g. to run or promote exactly that
   * revision.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} like {@link GitPipelineStore.push}, and `NOT_FOUND`
   * for a branch without commits.
   */
  async export(
    options: { readonly branch?: string | undefined; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<ExportResult> {
    const result = await this.push(options)
    return { branch: result.branch, commit: result.commit, remote: result.remote }
  }
}

/** A write's result for one pipeline: the commit's summary, the pipeline's blob after it, and whether it changed. */
function writeResult(name: string, outcome: WriteOutcome): WriteResult {
  return { ...outcome.summary, name, blob: outcome.blobs.get(name) ?? null, changed: outcome.changed }
}
