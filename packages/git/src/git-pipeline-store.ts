import { StudioError, ValidationError } from '@sparkle-studio/core'
import { type CommitObject, isBlobEntry, isTreeEntry, type TreeEntry } from './git-objects.ts'
import { HISTORY_FORMAT, type PipelineHistoryEntry, parseHistory } from './history.ts'
import { assertIdentity, DEFAULT_COMMITTER, type GitIdentity } from './identity.ts'
import { type CommitSummary, LastChanges } from './last-changes.ts'
import { LruMap } from './lru.ts'
import { type MigrateAllOptions, type MigrateAllResult, migrateAll } from './migrate-all.ts'
import {
  assertBranchName,
  assertPipelineName,
  assertRemoteName,
  isObjectId,
  PIPELINE_FILE,
  PIPELINES_DIR,
  pipelinePath,
  revisionName,
  showInput,
} from './names.ts'
import { diffPipelineDocuments, type PipelineChanges } from './pipeline-diff.ts'
import {
  checkPipelineShape,
  type PipelineDocumentLike,
  parsePipelineText,
  type ValidatePipeline,
} from './pipeline-document.ts'
import { GitRepository, type IndexChange } from './repository.ts'
import { jsonIssues, stringifyPipeline } from './stable-json.ts'
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
import { validationFailure } from './validation-failure.ts'

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
  /** Cancels opening. */
  readonly signal?: AbortSignal | undefined
}

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

/** What a write did. */
export interface WriteResult {
  /** The pipeline's name (the new name for a rename). */
  readonly name: string
  /** The branch head after the write: the new commit, or the unchanged head when nothing changed. */
  readonly commit: string
  /** The pipeline's `pipeline.json` blob after the write (`null` after a delete). */
  readonly blob: string | null
  /** False when the document was already exactly this (no commit was made). */
  readonly changed: boolean
}

/** One change of {@link GitPipelineStore.commit}: a document to save, or `null` to delete the pipeline. */
export interface PipelineChange {
  readonly name: string
  readonly document: unknown
  /** The blob or commit the caller read, `null` for "must not exist yet"; absent for no check. */
  readonly expected?: string | null | undefined
}

/** The result of {@link GitPipelineStore.commit}. */
export interface CommitResult {
  /** The new commit, or the unchanged head when nothing changed. */
  readonly commit: string
  readonly changed: boolean
  /** The blob of each saved pipeline (null for deletions). */
  readonly blobs: Readonly<Record<string, string | null>>
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

interface Located {
  readonly folder: TreeEntry
  readonly file: TreeEntry | null
}

type Summary =
  | {
      readonly ok: true
      readonly description?: string
      readonly tags: readonly string[]
      readonly version?: number
      /** Listed, but also reported (the document's name differs from its folder). */
      readonly warning?: { readonly code: string; readonly message: string }
    }
  | { readonly ok: false; readonly code: string; readonly message: string }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Pipelines stored in a git repository, one folder each (`pipelines/<name>/pipeline.json`), where every save is a commit.
 * Writes never touch an index or work tree and never lose an update: a save names what it last read (`expected`) and
 * gets a `CONFLICT` when that pipeline changed meanwhile, while saves of different pipelines all land, also from
 * several processes. Reads go through one long-lived `git cat-file --batch` process.
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
 * console.log((await store.history('orders')).map((h) => h.message), saved.commit)
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
  readonly #lastChanges: LastChanges
  readonly #summaries = new LruMap<string, Summary>(16384)

  private constructor(repo: GitRepository, branchRef: string, options: GitPipelineStoreOptions<T>) {
    this.#repo = repo
    this.#branchRef = branchRef
    this.#validate = options.validate
    this.#author = options.author ?? options.committer ?? DEFAULT_COMMITTER
    this.#remote = options.remote ?? 'origin'
    this.#maxBytes = options.maxDocumentBytes ?? 1024 * 1024
    this.#lastChanges = new LastChanges(repo)
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

  async #locate(commit: CommitObject | null, name: string, signal?: AbortSignal): Promise<Located | null> {
    if (!commit) return null
    const folder = await this.#repo.entryAt(commit.tree, [PIPELINES_DIR, name], signal)
    if (!folder || !isTreeEntry(folder)) return null
    const entries = await this.#repo.readTree(folder.oid, signal)
    return { folder, file: entries.find((e) => e.name === PIPELINE_FILE) ?? null }
  }

  async #blobAt(commit: CommitObject | null, name: string, signal?: AbortSignal): Promise<string | null> {
    const found = await this.#locate(commit, name, signal)
    return found?.file ? found.file.oid : null
  }

  async #readDocument(file: TreeEntry, path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const data = isBlobEntry(file) ? await this.#repo.readBlob(file.oid, signal) : null
    if (!data)
      throw new ValidationError(`${path} is not a file: replace it with the pipeline's JSON document`, [
        { path: '', code: 'invalid_document', message: `${path} is not a regular file` },
      ])
    return parsePipelineText(data.toString('utf8'), path)
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
    const dir = await this.#repo.entryAt(commit.tree, [PIPELINES_DIR], signal)
    if (!dir || !isTreeEntry(dir)) return { revision: commit.oid, pipelines: [], problems: [] }
    const entries = await this.#repo.readTree(dir.oid, signal)
    const problems: PipelineProblem[] = []
    const found = await Promise.all(
      entries.map(async (entry) => {
        const path = `${PIPELINES_DIR}/${entry.name}`
        if (!isTreeEntry(entry)) {
          problems.push({
            name: entry.name,
            path,
            code: 'not_a_pipeline',
            message: `${path} is not a pipeline folder: pipelines live in ${PIPELINES_DIR}/<name>/${PIPELINE_FILE}`,
          })
          return undefined
        }
        try {
          assertPipelineName(entry.name)
        } catch (e) {
          problems.push({ name: entry.name, path, code: 'invalid_name', message: (e as Error).message })
          return undefined
        }
        const file = (await this.#repo.readTree(entry.oid, signal)).find((e) => e.name === PIPELINE_FILE)
        const filePath = `${path}/${PIPELINE_FILE}`
        if (!file || !isBlobEntry(file)) {
          problems.push({
            name: entry.name,
            path: filePath,
            code: 'missing_document',
            message: `${filePath} is missing: add the pipeline's document or remove the folder`,
          })
          return undefined
        }
        const summary = await this.#summary(file.oid, filePath, entry.name, signal)
        if (!summary.ok) {
          problems.push({ name: entry.name, path: filePath, code: summary.code, message: summary.message })
          return undefined
        }
        if (summary.warning) problems.push({ name: entry.name, path: filePath, ...summary.warning })
        return { name: entry.name, folder: entry.oid, blob: file.oid, summary }
      }),
    )
    // Git orders folders as if their names ended in "/", so "a-b" comes before "a": sort by name for callers.
    const listed = found.filter((f) => f !== undefined).sort((x, y) => (x.name < y.name ? -1 : 1))
    const last =
      options.lastCommit === false
        ? undefined
        : await this.#lastChanges.at(
            commit.oid,
            new Map(listed.map((f) => [f.name, { folder: f.folder, blob: f.blob }])),
            signal,
          )
    const pipelines = listed.map(({ name, blob, summary: s }): PipelineSummary => {
      const lastCommit = last?.get(name)
      return {
        name,
        ...(s.description === undefined ? {} : { description: s.description }),
        tags: s.tags,
        ...(s.version === undefined ? {} : { schemaVersion: s.version }),
        blob,
        ...(lastCommit ? { lastCommit } : {}),
      }
    })
    problems.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    return { revision: commit.oid, pipelines, problems }
  }

  /** The list fields of one blob, cached by blob id (blobs never change). */
  async #summary(blob: string, path: string, name: string, signal?: AbortSignal): Promise<Summary> {
    const key = `${blob}:${name}`
    const cached = this.#summaries.get(key)
    if (cached) return cached
    const data = await this.#repo.readBlob(blob, signal)
    let summary: Summary
    try {
      const doc = parsePipelineText(data?.toString('utf8') ?? '', path)
      const tags = Array.isArray(doc['tags']) ? doc['tags'].filter((t): t is string => typeof t === 'string') : []
      const description = typeof doc['description'] === 'string' ? doc['description'] : undefined
      const version = typeof doc['schemaVersion'] === 'number' ? doc['schemaVersion'] : undefined
      const mismatch = doc['name'] !== undefined && doc['name'] !== name
      summary = {
        ok: true,
        tags,
        ...(description === undefined ? {} : { description }),
        ...(version === undefined ? {} : { version }),
        ...(mismatch
          ? {
              warning: {
                code: 'name_mismatch',
                message: `${path} has name ${showInput(doc['name'])}, not "${name}": set "name" to the folder's name`,
              },
            }
          : {}),
      }
    } catch (e) {
      const issue = (e as ValidationError).issues?.[0]
      summary = { ok: false, code: issue?.code ?? 'invalid_json', message: (e as Error).message }
    }
    this.#summaries.set(key, summary)
    return summary
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
    const found = await this.#locate(commit, name, signal)
    if (!commit || !found?.file)
      throw new StudioError(
        'NOT_FOUND',
        `pipeline "${name}" not found${options.ref === undefined ? ` on branch ${this.branch}` : ` at ${showInput(options.ref)}`}`,
        { name, revision: commit?.oid ?? null },
      )
    const path = pipelinePath(name)
    const document = await this.#readDocument(found.file, path, signal)
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
    const limit = options.limit ?? 50
    const skip = options.skip ?? 0
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000 || !Number.isInteger(skip) || skip < 0)
      throw new StudioError('BAD_REQUEST', 'history paging needs an integer limit of 1..10000 and skip >= 0', {
        limit,
        skip,
      })
    const commit = await this.#commitAt(options.ref, options.signal)
    if (!commit) return []
    const out = await this.#repo.git(
      [
        'log',
        '--follow',
        '--no-abbrev',
        '--raw',
        '-z',
        `--format=${HISTORY_FORMAT}`,
        `--max-count=${limit}`,
        `--skip=${skip}`,
        commit.oid,
        '--',
        pipelinePath(name),
      ],
      { signal: options.signal },
    )
    return parseHistory(out.stdout, name, this.#repo.zeroId)
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
        const found = await this.#locate(commit, name, signal)
        const document = found?.file ? await this.#readDocument(found.file, pipelinePath(name), signal) : null
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

  #writeContext(options: WriteOptions, fallbackMessage: string) {
    const expected: unknown = options.expected
    if (expected !== undefined && expected !== null && !isObjectId(expected))
      throw new StudioError(
        'BAD_REQUEST',
        `expected must be a blob or commit id (as returned by get or list), or null for a new pipeline; got ${showInput(expected)}`,
        { expected: typeof expected === 'string' ? expected.slice(0, 100) : typeof expected },
      )
    const author = options.author ?? this.#author
    assertIdentity(author, 'author')
    const message = options.message?.trim() || fallbackMessage
    if (message.includes('\0')) throw new StudioError('BAD_REQUEST', 'a commit message cannot contain NUL characters')
    const ref = this.#branchFor(options.branch)
    return { ref, author, message, expected, allowCreate: ref === this.#branchRef }
  }

  /** Throws `CONFLICT` when what the caller last read (`expected`) is no longer what the branch holds. */
  async #checkExpected(
    name: string,
    expected: string | null | undefined,
    head: CommitObject | null,
    current: string | null,
    signal?: AbortSignal,
  ): Promise<void> {
    if (expected === undefined || expected === current) return
    if (expected !== null && current !== null && (await this.#repo.objectType(expected, signal)) === 'commit') {
      const then = await this.#blobAt(await this.#repo.readCommit(expected, signal), name, signal)
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

  /** Checks and serializes a document; throws before anything is written. */
  async #prepare(name: string, document: unknown): Promise<string> {
    const subject = `pipeline "${name}"`
    if (!isObject(document))
      throw validationFailure(subject, [
        { path: '', code: 'invalid_type', message: 'a pipeline document is an object' },
      ])
    const named = document['name'] === undefined ? { ...document, name } : document
    const checkName = (doc: Record<string, unknown>) => {
      if (doc['name'] !== name)
        throw validationFailure(subject, [
          {
            path: '/name',
            code: 'name_mismatch',
            message: `the document's name ${showInput(doc['name'])} differs from the pipeline name "${name}" (use rename to change a name)`,
          },
        ])
    }
    checkName(named)
    const notJson = jsonIssues(named)
    if (notJson.length > 0) throw validationFailure(subject, notJson)
    let result: unknown = named
    if (this.#validate) {
      const answer = await this.#validate(named)
      if (!answer.ok) throw validationFailure(subject, answer.issues)
      result = answer.document
      if (!isObject(result)) throw new StudioError('INTERNAL', 'the validate option returned a non-object document')
      checkName(result)
      const changed = jsonIssues(result)
      if (changed.length > 0) throw validationFailure(subject, changed)
    } else {
      const issues = checkPipelineShape(named)
      if (issues.length > 0) throw validationFailure(subject, issues)
    }
    const text = stringifyPipeline(result)
    const bytes = Buffer.byteLength(text)
    if (bytes > this.#maxBytes)
      throw new StudioError(
        'PAYLOAD_TOO_LARGE',
        `${subject} is ${bytes} bytes, over the ${this.#maxBytes}-byte limit: split it into smaller pipelines or raise maxDocumentBytes`,
        { name, bytes, limit: this.#maxBytes },
      )
    return text
  }

  /**
   * Saves a pipeline as one commit on its branch. The document is validated first (a {@link ValidationError}, or
   * `SECRET_IN_PLAINTEXT` for a plaintext secret; nothing is written). Its `name` must equal the pipeline's name; when
   * absent it is set. Saving exactly the stored document makes no commit (`changed: false`).
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `CONFLICT` with details `{ name, currentRevision,
   * currentBlob }` when `expected` is stale; `BAD_REQUEST`, `VALIDATION_FAILED`, `SECRET_IN_PLAINTEXT`,
   * `PAYLOAD_TOO_LARGE`, `NOT_FOUND` (unknown branch).
   */
  async save(name: string, document: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    assertPipelineName(name)
    const ctx = this.#writeContext(options, `Save pipeline ${name}`)
    const text = await this.#prepare(name, document)
    const { signal } = options
    // The blob id is computed here and the blob written only once the save is known to commit (so a conflict or a
    // no-op leaves no object behind), in parallel with building the tree and commit; the branch waits for it.
    const blob = this.#repo.blobId(text)
    let writing: Promise<void> | undefined
    const outcome = await this.#repo.lock(() =>
      this.#repo.commit(ctx.ref, {
        allowCreate: ctx.allowCreate,
        signal,
        plan: async (head) => {
          const current = await this.#blobAt(head, name, signal)
          await this.#checkExpected(name, ctx.expected, head, current, signal)
          if (current === blob) return { noop: undefined }
          writing ??= this.#repo.writeBlob(text, signal).then((id) => {
            if (id !== blob) throw new StudioError('INTERNAL', `git stored the document as ${id}, expected ${blob}`)
          })
          const changes = [{ path: pipelinePath(name), oid: blob }]
          return { changes, message: ctx.message, author: ctx.author, result: undefined, ready: writing }
        },
      }),
    )
    return { name, commit: outcome.commit ?? '', blob, changed: outcome.changed }
  }

  /**
   * Saves and deletes several pipelines as one commit: each change is a document to save, or `null` to delete the
   * pipeline. Every document is validated and every `expected` checked before anything is written; one problem and
   * nothing is committed. Changes that leave a pipeline as it is are skipped; when nothing changes, no commit is made.
   *
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
    }
    const ctx = this.#writeContext(options, `Save ${changes.length} pipelines`)
    const prepared = await Promise.all(
      changes.map(async (c) => {
        if (c.document === null) return { change: c, text: null, blob: null }
        const text = await this.#prepare(c.name, c.document)
        return { change: c, text, blob: this.#repo.blobId(text) }
      }),
    )
    const { signal } = options
    let writing: Promise<void> | undefined
    const outcome = await this.#repo.lock(() =>
      this.#repo.commit(ctx.ref, {
        allowCreate: ctx.allowCreate,
        signal,
        plan: async (head) => {
          const indexChanges: IndexChange[] = []
          const toWrite: { text: string; blob: string }[] = []
          for (const { change, text, blob } of prepared) {
            if (text === null || blob === null) {
              const found = await this.#locate(head, change.name, signal)
              if (!found)
                throw new StudioError('NOT_FOUND', `pipeline "${change.name}" not found on ${refLabel(ctx.ref)}`, {
                  name: change.name,
                })
              await this.#checkExpected(change.name, change.expected, head, found.file?.oid ?? null, signal)
              const files = await this.#files(found.folder.oid, `${PIPELINES_DIR}/${change.name}`, signal)
              indexChanges.push(...files.map(({ path }) => ({ path, oid: null })))
              continue
            }
            const current = await this.#blobAt(head, change.name, signal)
            await this.#checkExpected(change.name, change.expected, head, current, signal)
            if (current === blob) continue
            indexChanges.push({ path: pipelinePath(change.name), oid: blob })
            toWrite.push({ text, blob })
          }
          if (indexChanges.length === 0) return { noop: undefined }
          writing ??= Promise.all(
            toWrite.map(({ text, blob }) =>
              this.#repo.writeBlob(text, signal).then((id) => {
                if (id !== blob) throw new StudioError('INTERNAL', `git stored a document as ${id}, expected ${blob}`)
              }),
            ),
          ).then(() => undefined)
          return { changes: indexChanges, message: ctx.message, author: ctx.author, result: undefined, ready: writing }
        },
      }),
    )
    return {
      commit: outcome.commit ?? '',
      changed: outcome.changed,
      blobs: Object.fromEntries(prepared.map((p) => [p.change.name, p.blob])),
    }
  }

  /** Every file under a folder, as index paths to add (or, with `remove`, to delete). */
  async #files(folder: string, prefix: string, signal?: AbortSignal): Promise<{ path: string; entry: TreeEntry }[]> {
    const out: { path: string; entry: TreeEntry }[] = []
    for (const entry of await this.#repo.readTree(folder, signal)) {
      const path = `${prefix}/${entry.name}`
      if (isTreeEntry(entry)) out.push(...(await this.#files(entry.oid, path, signal)))
      else out.push({ path, entry })
    }
    return out
  }

  /**
   * Deletes a pipeline (its whole folder) as one commit.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND`, or `CONFLICT` when `expected` is stale.
   */
  async delete(name: string, options: WriteOptions = {}): Promise<WriteResult> {
    assertPipelineName(name)
    const ctx = this.#writeContext(options, `Delete pipeline ${name}`)
    const { signal } = options
    const outcome = await this.#repo.lock(() =>
      this.#repo.commit(ctx.ref, {
        allowCreate: false,
        signal,
        plan: async (head) => {
          const found = await this.#locate(head, name, signal)
          if (!found)
            throw new StudioError('NOT_FOUND', `pipeline "${name}" not found on ${refLabel(ctx.ref)}`, { name })
          await this.#checkExpected(name, ctx.expected, head, found.file?.oid ?? null, signal)
          const files = await this.#files(found.folder.oid, `${PIPELINES_DIR}/${name}`, signal)
          const changes = files.map(({ path }) => ({ path, oid: null }))
          return { changes, message: ctx.message, author: ctx.author, result: undefined }
        },
      }),
    )
    return { name, commit: outcome.commit ?? '', blob: null, changed: outcome.changed }
  }

  /**
   * Renames a pipeline as one commit: its folder moves (with any other files in it) and the document's `name` follows.
   * `expected` refers to the pipeline under its old name.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `NOT_FOUND` (no `from`), `CONFLICT` (`to` exists, or
   * `expected` is stale), `BAD_REQUEST` (invalid names, or the same name twice).
   */
  async rename(from: string, to: string, options: WriteOptions = {}): Promise<WriteResult> {
    assertPipelineName(from)
    assertPipelineName(to)
    if (from === to) throw new StudioError('BAD_REQUEST', `cannot rename "${from}" to itself`, { name: from })
    const ctx = this.#writeContext(options, `Rename pipeline ${from} to ${to}`)
    const { signal } = options
    const outcome = await this.#repo.lock(() =>
      this.#repo.commit(ctx.ref, {
        allowCreate: false,
        signal,
        plan: async (head) => {
          const found = await this.#locate(head, from, signal)
          if (!found?.file)
            throw new StudioError('NOT_FOUND', `pipeline "${from}" not found on ${refLabel(ctx.ref)}`, { name: from })
          await this.#checkExpected(from, ctx.expected, head, found.file.oid, signal)
          const existing = await this.#locate(head, to, signal)
          if (existing)
            throw new StudioError('CONFLICT', `pipeline "${to}" already exists: choose another name`, {
              name: to,
              currentRevision: head?.oid ?? null,
              currentBlob: existing.file?.oid ?? null,
            })
          const document = await this.#readDocument(found.file, pipelinePath(from), signal)
          const blob = await this.#repo.writeBlob(stringifyPipeline({ ...document, name: to }), signal)
          const files = await this.#files(found.folder.oid, `${PIPELINES_DIR}/${from}`, signal)
          const changes: IndexChange[] = files.map(({ path }) => ({ path, oid: null }))
          for (const { path, entry } of files) {
            const moved = `${PIPELINES_DIR}/${to}${path.slice(PIPELINES_DIR.length + 1 + from.length)}`
            const oid = path === pipelinePath(from) ? blob : entry.oid
            changes.push({ path: moved, oid, mode: entry.mode })
          }
          return { changes, message: ctx.message, author: ctx.author, result: blob }
        },
      }),
    )
    return { name: to, commit: outcome.commit ?? '', blob: outcome.result, changed: outcome.changed }
  }

  /**
   * Applies a document migration to every pipeline and commits all changes as one commit on a new branch, optionally
   * pushing it and opening a pull request. With `dryRun` it only reports what would change. All or nothing: when any
   * migrated document is invalid, nothing is written and the error lists the issues per pipeline.
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
  ): Promise<{ readonly branch: string; readonly commit: string; readonly remote: string }> {
    const result = await this.push(options)
    return { branch: result.branch, commit: result.commit, remote: result.remote }
  }
}

function short(oid: string | null | undefined): string {
  return oid ? oid.slice(0, 12) : '(none)'
}

function refLabel(ref: string): string {
  return `branch ${ref.replace(/^refs\/heads\//, '')}`
}
