import { createHash } from 'node:crypto'
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { StudioError } from '@sparkle-studio/core'
import { type CommitObject, parseCommit, parseTree, type TreeEntry } from './git-objects.ts'
import { type GitOutput, type GitProcessListener, runGit } from './git-process.ts'
import { type GitIdentity, identityEnv } from './identity.ts'
import { LruMap } from './lru.ts'
import { ObjectReader } from './object-reader.ts'
import { withRepoLock } from './repo-lock.ts'

/** One path to set (`oid`) or remove (`oid: null`) in a tree built by {@link GitRepository.buildTree}. */
export interface IndexChange {
  /** Repository path, e.g. `pipelines/orders/pipeline.json`. */
  readonly path: string
  /** The blob to put there, or `null` to remove the path. */
  readonly oid: string | null
  /** File mode. @default '100644' */
  readonly mode?: string | undefined
}

/** Options of {@link GitRepository.open}. */
export interface OpenRepositoryOptions {
  readonly committer: GitIdentity
  readonly now: () => Date
  /** Told about every git process started for this repository. */
  readonly onGitProcess?: GitProcessListener | undefined
  readonly signal?: AbortSignal | undefined
}

/**
 * One bare repository as the store uses it: a long-lived object reader with caches of immutable trees and commits,
 * git commands run in the repository, and the pieces of an index-free commit (blobs, trees, commit objects) that
 * `writeChanges` puts together under the per-repository write lock.
 */
export class GitRepository {
  /** Absolute, symlink-free path of the git directory; also the write-lock key. */
  readonly gitDir: string
  /** Bytes of a raw object id (20 for SHA-1, 32 for SHA-256). */
  readonly idBytes: number
  /** The branch `HEAD` points at, as a full ref (`refs/heads/main`). */
  readonly headRef: string
  /** The shared reader. */
  readonly reader: ObjectReader
  /** Told about every git process started for this repository (reads, writes, fetch and push). */
  readonly onGitProcess: GitProcessListener | undefined
  readonly #committer: GitIdentity
  readonly #now: () => Date
  readonly #trees = new LruMap<string, readonly TreeEntry[]>(8192)
  readonly #commits = new LruMap<string, CommitObject>(8192)
  #indexDir: string | undefined
  /** The tree the temporary index holds, so an unchanged head needs no `read-tree`. */
  #indexTree: string | null | undefined

  private constructor(gitDir: string, idBytes: number, headRef: string, options: OpenRepositoryOptions) {
    this.gitDir = gitDir
    this.idBytes = idBytes
    this.headRef = headRef
    this.onGitProcess = options.onGitProcess
    this.reader = new ObjectReader(gitDir, options.onGitProcess)
    this.#committer = options.committer
    this.#now = options.now
  }

  /**
   * Opens a bare repository at exactly `path`.
   *
   * @throws StudioError `BAD_REQUEST` when `path` is not a repository's root or has a work tree.
   */
  static async open(path: string, options: OpenRepositoryOptions): Promise<GitRepository> {
    let real: string
    try {
      real = await realpath(resolve(path))
    } catch {
      throw new StudioError(
        'NOT_FOUND',
        `no repository at ${path}: create it with initRepository() or cloneRepository()`,
        {
          path,
        },
      )
    }
    const probe = await runGit(['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--show-object-format'], {
      cwd: real,
      okCodes: [128],
      signal: options.signal,
      onGitProcess: options.onGitProcess,
      env: { GIT_CEILING_DIRECTORIES: resolve(real, '..') },
    })
    const [bare, dir, format] = probe.stdout.trim().split('\n')
    if (probe.code !== 0 || !dir)
      throw new StudioError('BAD_REQUEST', `${path} is not a git repository: open a bare clone of the pipelines repo`, {
        path,
      })
    if (bare !== 'true')
      throw new StudioError(
        'BAD_REQUEST',
        `${path} has a work tree: the pipeline store writes commits without touching any index or checkout, so it ` +
          'works on a bare repository; open a bare clone (cloneRepository(url, dir) makes one)',
        { path },
      )
    if ((await realpath(dir)) !== real)
      throw new StudioError('BAD_REQUEST', `${path} is inside a repository, not its root: open the bare repository`, {
        path,
      })
    const head = await runGit(['symbolic-ref', '--quiet', 'HEAD'], {
      cwd: real,
      okCodes: [1],
      signal: options.signal,
      onGitProcess: options.onGitProcess,
    })
    const headRef = head.stdout.trim().startsWith('refs/heads/') ? head.stdout.trim() : 'refs/heads/main'
    return new GitRepository(real, format === 'sha256' ? 32 : 20, headRef, options)
  }

  /** Runs git in the repository. */
  git(
    args: readonly string[],
    options: {
      readonly input?: string | undefined
      readonly env?: Readonly<Record<string, string>> | undefined
      readonly okCodes?: readonly number[] | undefined
      readonly signal?: AbortSignal | undefined
    } = {},
  ): Promise<GitOutput> {
    return runGit(args, { ...options, cwd: this.gitDir, onGitProcess: this.onGitProcess })
  }

  /** The time a new commit records (the store's clock). */
  now(): Date {
    return this.#now()
  }

  /** The all-zero object id of this repository's hash. */
  get zeroId(): string {
    return '0'.repeat(this.idBytes * 2)
  }

  /** The commit `rev` (object id or full ref name) points at, peeled from tags; `null` when it does not exist. */
  async resolveCommit(rev: string, signal?: AbortSignal | undefined): Promise<string | null> {
    const object = await this.reader.read(`${rev}^{commit}`, signal)
    if (!object) return null
    if (object.type === 'commit' && !this.#commits.get(object.oid))
      this.#commits.set(object.oid, parseCommit(object.oid, object.data))
    return object.oid
  }

  /** A commit, parsed and cached (commits never change). */
  async readCommit(oid: string, signal?: AbortSignal | undefined): Promise<CommitObject> {
    const cached = this.#commits.get(oid)
    if (cached) return cached
    const object = await this.reader.read(oid, signal)
    if (object?.type !== 'commit')
      throw new StudioError('NOT_FOUND', `commit ${oid} is not in the repository`, { revision: oid })
    const commit = parseCommit(object.oid, object.data)
    this.#commits.set(oid, commit)
    return commit
  }

  /** A tree's entries, parsed and cached (trees never change). */
  async readTree(oid: string, signal?: AbortSignal | undefined): Promise<readonly TreeEntry[]> {
    const cached = this.#trees.get(oid)
    if (cached) return cached
    const object = await this.reader.read(oid, signal)
    if (object?.type !== 'tree')
      throw new StudioError('GIT_FAILED', `tree ${oid} is missing from the repository: run git fsck`, { oid })
    const entries = Object.freeze(parseTree(object.data, this.idBytes))
    this.#trees.set(oid, entries)
    return entries
  }

  /** The entry at `path` (segments) under tree `root`, or `null`. */
  async entryAt(root: string, path: readonly string[], signal?: AbortSignal | undefined): Promise<TreeEntry | null> {
    let tree = root
    let found: TreeEntry | null = null
    for (const [i, part] of path.entries()) {
      const entries = await this.readTree(tree, signal)
      found = entries.find((e) => e.name === part) ?? null
      if (!found) return null
      if (i < path.length - 1) {
        if (found.mode !== '40000') return null
        tree = found.oid
      }
    }
    return found
  }

  /** A blob's bytes, or `null` when the object is not a blob. */
  async readBlob(oid: string, signal?: AbortSignal | undefined): Promise<Buffer | null> {
    const object = await this.reader.read(oid, signal)
    return object && object.type === 'blob' ? object.data : null
  }

  /** The type of object `oid`, or `null` when it does not exist. */
  async objectType(oid: string, signal?: AbortSignal | undefined): Promise<string | null> {
    const object = await this.reader.read(oid, signal)
    return object ? object.type : null
  }

  /** The id `text` gets as a blob, computed without git or writing anything. */
  blobId(text: string): string {
    const body = Buffer.from(text, 'utf8')
    return createHash(this.idBytes === 32 ? 'sha256' : 'sha1')
      .update(`blob ${body.length}\0`)
      .update(body)
      .digest('hex')
  }

  /** Writes a blob and answers its id. Safe to run concurrently and outside the write lock. */
  async writeBlob(text: string, signal?: AbortSignal | undefined): Promise<string> {
    return (await this.git(['hash-object', '-w', '--stdin'], { input: text, signal })).stdout.trim()
  }

  /** Writes many blobs with one git process (for bulk migrations); answers their ids in order. */
  async writeBlobs(texts: readonly string[], signal?: AbortSignal | undefined): Promise<string[]> {
    if (texts.length <= 1) return Promise.all(texts.map((t) => this.writeBlob(t, signal)))
    const dir = await mkdtemp(join(tmpdir(), 'sparkle-blobs-'))
    try {
      const paths = await Promise.all(
        texts.map(async (text, i) => {
          const path = join(dir, String(i))
          await writeFile(path, text)
          return path
        }),
      )
      const input = `${paths.join('\n')}\n`
      const out = await this.git(['hash-object', '-w', '--no-filters', '--stdin-paths'], { input, signal })
      return out.stdout.trim().split('\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  /** Runs `fn` under this repository's in-process write lock. */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    return withRepoLock(this.gitDir, fn)
  }

  /**
   * Builds a tree from `base` plus `changes` in this repository's private temporary index; `missingOk` when a blob of
   * `changes` is still being written.
   */
  async buildTree(
    base: string | null,
    changes: readonly IndexChange[],
    signal?: AbortSignal | undefined,
    missingOk = false,
  ): Promise<string> {
    if (!this.#indexDir) this.#indexDir = await mkdtemp(join(tmpdir(), 'sparkle-index-'))
    const env = { GIT_INDEX_FILE: join(this.#indexDir, 'index') }
    try {
      if (this.#indexTree !== base) {
        this.#indexTree = undefined
        await this.git(base ? ['read-tree', base] : ['read-tree', '--empty'], { env, signal })
        this.#indexTree = base
      }
      if (changes.length > 0) {
        this.#indexTree = undefined
        const input = changes
          .map((c) => (c.oid ? `${c.mode ?? '100644'} ${c.oid}\t${c.path}\0` : `0 ${this.zeroId}\t${c.path}\0`))
          .join('')
        await this.git(['update-index', '-z', '--index-info'], { env, input, signal })
      }
      const tree = (
        await this.git(missingOk ? ['write-tree', '--missing-ok'] : ['write-tree'], { env, signal })
      ).stdout.trim()
      this.#indexTree = tree
      return tree
    } catch (error) {
      this.#indexTree = undefined
      throw error
    }
  }

  /** The id of the empty tree (written, so it can be used as a merge base). */
  async emptyTree(signal?: AbortSignal | undefined): Promise<string> {
    return (await this.git(['hash-object', '-t', 'tree', '-w', '--stdin'], { input: '', signal })).stdout.trim()
  }

  /**
   * Writes a commit object (message through standard input, so any text is safe). `date` is the commit time (the
   * store's clock by default); `authorDate` (git's `<seconds> <offset>`) keeps a replayed commit's author time.
   */
  async commitTree(
    tree: string,
    parents: readonly string[],
    message: string,
    author: GitIdentity,
    options: {
      readonly date?: Date | undefined
      readonly authorDate?: string | undefined
      readonly signal?: AbortSignal | undefined
    } = {},
  ): Promise<string> {
    const { signal } = options
    const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p])]
    const env = identityEnv(author, this.#committer, options.date ?? this.#now(), options.authorDate)
    return (await this.git(args, { input: message, env, signal })).stdout.trim()
  }

  /** Ends the reader and removes the temporary index. */
  async close(): Promise<void> {
    await this.lock(async () => {
      await this.reader.close()
      if (this.#indexDir) await rm(this.#indexDir, { recursive: true, force: true })
      this.#indexDir = undefined
    })
  }
}
