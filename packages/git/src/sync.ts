import { StudioError } from '@sparkle-studio/core'
import { isBlobEntry, isTreeEntry } from './git-objects.ts'
import { assertBranchName, PIPELINE_FILE, PIPELINES_DIR, revisionName, showInput } from './names.ts'
import { parsePipelineText } from './pipeline-document.ts'
import { porcelain, porcelainFailure, porcelainMessage } from './porcelain.ts'
import type { GitRepository } from './repository.ts'

/** A local branch. */
export interface BranchInfo {
  /** Branch name, e.g. `main`. */
  readonly name: string
  /** Its head commit. */
  readonly commit: string
  /** True for the store's own branch. */
  readonly current: boolean
  /** The commit of its remote-tracking branch (as of the last fetch), `null` when the remote has no such branch. */
  readonly remoteCommit: string | null
}

/** How a branch stands against its remote-tracking branch. */
export interface BranchStatus {
  /** Branch name. */
  readonly branch: string
  /** The remote compared with; `null` when the repository has no such remote configured. */
  readonly remote: string | null
  /** Local head; `null` before the first commit. */
  readonly commit: string | null
  /** The remote-tracking head (as of the last fetch); `null` when the remote has no such branch. */
  readonly remoteCommit: string | null
  /** Local commits the remote lacks. */
  readonly ahead: number
  /** Remote commits the branch lacks. */
  readonly behind: number
  /**
   * The summary: push when `ahead`, pull when `behind`, pull (rebase) then push when `diverged`; `no-remote` when the
   * repository has no remote to sync with (`ahead` then counts every commit of the branch).
   */
  readonly state: 'up-to-date' | 'ahead' | 'behind' | 'diverged' | 'no-remote-branch' | 'no-remote' | 'empty'
}

/** Options of `pull`. */
export interface PullOptions {
  /** Branch to update. */
  readonly branch: string
  /** Remote to pull from. */
  readonly remote: string
  /**
   * With local commits the remote lacks: `rebase` replays them on the remote's head (linear history, as most
   * Git-backed editors do), `ff-only` refuses with `CONFLICT`. @default 'rebase'
   */
  readonly mode?: 'rebase' | 'ff-only' | undefined
  /** Cancels the pull (before the branch is updated). */
  readonly signal?: AbortSignal | undefined
}

/** What a pull did. */
export interface PullResult {
  /** Branch updated. */
  readonly branch: string
  /** Its head after the pull. */
  readonly commit: string
  /** `up-to-date` (nothing new), `ahead` (only local commits), `fast-forward`, or `rebased`. */
  readonly status: 'up-to-date' | 'ahead' | 'fast-forward' | 'rebased'
  /** Local commits replayed by a rebase. */
  readonly replayed: number
}

/** Options of `push`. */
export interface PushOptions {
  /** Branch to push. */
  readonly branch: string
  /** Remote to push to. */
  readonly remote: string
  /** Cancels the push. */
  readonly signal?: AbortSignal | undefined
}

/** What a push did. */
export interface PushResult {
  /** Branch pushed. */
  readonly branch: string
  /** Remote pushed to. */
  readonly remote: string
  /** The commit the remote branch now points at. */
  readonly commit: string
  /** `pushed`, or `up-to-date` when the remote already had it. */
  readonly status: 'pushed' | 'up-to-date'
}

const heads = 'refs/heads/'

function remoteRef(remote: string, branch: string): string {
  return `refs/remotes/${remote}/${branch}`
}

/** Lists local branches with their remote-tracking commits in one `for-each-ref`. */
export async function listBranches(
  repo: GitRepository,
  options: { readonly remote: string; readonly current: string; readonly signal?: AbortSignal | undefined },
): Promise<BranchInfo[]> {
  const tracking = `refs/remotes/${options.remote}/`
  const out = await repo.git(['for-each-ref', '--format=%(refname)%00%(objectname)', heads, tracking], {
    signal: options.signal,
  })
  const local = new Map<string, string>()
  const remote = new Map<string, string>()
  for (const line of out.stdout.split('\n')) {
    const [ref = '', oid = ''] = line.split('\0')
    if (ref.startsWith(heads)) local.set(ref.slice(heads.length), oid)
    else if (ref.startsWith(tracking)) remote.set(ref.slice(tracking.length), oid)
  }
  return [...local].map(([name, commit]) => ({
    name,
    commit,
    current: `${heads}${name}` === options.current,
    remoteCommit: remote.get(name) ?? null,
  }))
}

/** Creates a branch at `from` (a branch, ref or commit id). */
export async function createBranch(
  repo: GitRepository,
  name: string,
  options: { readonly from: string; readonly signal?: AbortSignal | undefined },
): Promise<BranchInfo> {
  assertBranchName(name)
  const { signal } = options
  const start = await repo.resolveCommit(revisionName(options.from), signal)
  if (!start) throw new StudioError('NOT_FOUND', `cannot branch from ${showInput(options.from)}: it does not exist`)
  const ref = `${heads}${name}`
  const made = await repo.git(['update-ref', ref, start, ''], { okCodes: [1, 128], signal })
  if (made.code !== 0) {
    if (await repo.resolveCommit(ref, signal))
      throw new StudioError('CONFLICT', `branch ${name} already exists: choose another name`, { name })
    throw new StudioError('GIT_FAILED', `could not create branch ${name}: ${made.stderr.trim()}`, { name })
  }
  return { name, commit: start, current: false, remoteCommit: null }
}

/** Deletes a local branch, refusing to lose unpushed, unmerged commits unless forced. */
export async function deleteBranch(
  repo: GitRepository,
  name: string,
  options: {
    readonly force: boolean
    readonly protectedRef: string
    readonly remote: string
    readonly signal?: AbortSignal | undefined
  },
): Promise<void> {
  assertBranchName(name)
  const { signal } = options
  const ref = `${heads}${name}`
  if (ref === options.protectedRef)
    throw new StudioError('BAD_REQUEST', `branch ${name} is the store's branch and cannot be deleted`, { name })
  const oid = await repo.resolveCommit(ref, signal)
  if (!oid) throw new StudioError('NOT_FOUND', `branch ${name} does not exist`, { name })
  if (!options.force) {
    const keep = [options.protectedRef, remoteRef(options.remote, name)]
    const existing: string[] = []
    for (const k of keep) if (await repo.resolveCommit(k, signal)) existing.push(k)
    const count = await repo.git(['rev-list', '--count', oid, '--not', ...existing], { signal })
    const unmerged = Number(count.stdout.trim())
    if (unmerged > 0)
      throw new StudioError(
        'CONFLICT',
        `branch ${name} has ${unmerged} commit(s) that are neither on ${options.protectedRef.slice(heads.length)} nor pushed: push or merge them, or delete with force`,
        { name, unmerged },
      )
  }
  const deleted = await repo.git(['update-ref', '-d', ref, oid], { okCodes: [1, 128], signal })
  if (deleted.code !== 0)
    throw new StudioError('CONFLICT', `branch ${name} changed while it was being deleted: try again`, { name })
}

/** True when the repository has `remote` configured (a URL in its config). */
export async function hasRemote(
  repo: GitRepository,
  remote: string,
  signal?: AbortSignal | undefined,
): Promise<boolean> {
  const out = await repo.git(['config', '--get', `remote.${remote}.url`], { okCodes: [1], signal })
  return out.code === 0 && out.stdout.trim() !== ''
}

/**
 * Checks that the repository has `remote` before a fetch or a push, so that a store without one answers a typed error
 * rather than git's message about access rights.
 * @throws StudioError `GIT_NO_REMOTE` with details `{ remote }`.
 */
export async function assertRemote(repo: GitRepository, remote: string, signal?: AbortSignal | undefined) {
  if (!(await hasRemote(repo, remote, signal)))
    throw new StudioError(
      'GIT_NO_REMOTE',
      `the repository has no remote "${remote}" to sync with: clone it from one (SPARKLE_REMOTE in the example server) or add it with git remote add`,
      { remote },
    )
}

/** Fetches one branch into its remote-tracking ref; answers false when the remote has no such branch. */
export async function fetchBranch(
  repo: GitRepository,
  remote: string,
  branch: string,
  signal?: AbortSignal | undefined,
): Promise<boolean> {
  assertBranchName(branch)
  await assertRemote(repo, remote, signal)
  try {
    await porcelain(repo.gitDir, signal, repo.onGitProcess).fetch(
      remote,
      `+${heads}${branch}:${remoteRef(remote, branch)}`,
      {
        '--no-tags': null,
        '--quiet': null,
      },
    )
    return true
  } catch (error) {
    if (/couldn't find remote ref/i.test(porcelainMessage(error))) return false
    throw porcelainFailure('fetch', error, { remote, branch })
  }
}

async function countBetween(
  repo: GitRepository,
  a: string,
  b: string,
  signal?: AbortSignal,
): Promise<[number, number]> {
  const out = await repo.git(['rev-list', '--left-right', '--count', `${a}...${b}`], { signal })
  const [left = '0', right = '0'] = out.stdout.trim().split(/\s+/)
  return [Number(left), Number(right)]
}

/** How a branch stands against its remote-tracking branch. */
export async function branchStatus(
  repo: GitRepository,
  options: {
    readonly branch: string
    readonly remote: string
    readonly fetch: boolean
    readonly signal?: AbortSignal | undefined
  },
): Promise<BranchStatus> {
  const { branch, signal } = options
  assertBranchName(branch)
  if (options.fetch) await fetchBranch(repo, options.remote, branch, signal)
  const remote = (await hasRemote(repo, options.remote, signal)) ? options.remote : null
  const commit = await repo.resolveCommit(`${heads}${branch}`, signal)
  const remoteCommit = remote ? await repo.resolveCommit(remoteRef(remote, branch), signal) : null
  const base = { branch, remote, commit, remoteCommit }
  if (!commit) {
    const behind = remoteCommit ? Number((await repo.git(['rev-list', '--count', remoteCommit], { signal })).stdout) : 0
    return { ...base, ahead: 0, behind, state: behind > 0 ? 'behind' : 'empty' }
  }
  if (!remoteCommit) {
    const ahead = Number((await repo.git(['rev-list', '--count', commit], { signal })).stdout.trim())
    return { ...base, ahead, behind: 0, state: remote ? 'no-remote-branch' : 'no-remote' }
  }
  const [ahead, behind] = await countBetween(repo, commit, remoteCommit, signal)
  const state = ahead && behind ? 'diverged' : ahead ? 'ahead' : behind ? 'behind' : 'up-to-date'
  return { ...base, ahead, behind, state }
}

async function isAncestor(repo: GitRepository, a: string, b: string, signal?: AbortSignal): Promise<boolean> {
  const out = await repo.git(['merge-base', '--is-ancestor', a, b], { okCodes: [1], signal })
  return out.code === 0
}

function pipelineOf(path: string): string | undefined {
  const parts = path.split('/')
  return parts[0] === PIPELINES_DIR && parts.length >= 2 ? parts[1] : undefined
}

function mergeConflict(branch: string, files: readonly string[], commit?: string): StudioError {
  const pipelines = [...new Set(files.map(pipelineOf).filter((p): p is string => p !== undefined))].sort()
  const others = files.filter((f) => pipelineOf(f) === undefined)
  const what = [
    ...(pipelines.length ? [`pipeline(s) ${pipelines.join(', ')}`] : []),
    ...(others.length ? [`file(s) ${others.join(', ')}`] : []),
  ].join(' and ')
  return new StudioError(
    'GIT_MERGE_CONFLICT',
    `pull of ${branch} stopped: ${what} changed both here and on the remote in ways that do not merge. Nothing was changed; ` +
      'reload the remote version and reapply your edits, or save yours on a new branch and open a pull request',
    { branch, pipelines, files: [...files], ...(commit ? { commit } : {}) },
  )
}

/** Three-way merges `theirs` onto `ours` with `base`, through throwaway commits so `merge-tree` uses that base. */
async function replay(
  repo: GitRepository,
  baseTree: string,
  oursTree: string,
  theirsTree: string,
  signal?: AbortSignal,
): Promise<{ tree: string; conflicts: string[] }> {
  const who = { name: 'Sparkle Studio rebase', email: 'rebase@sparkle-studio.invalid' }
  const base = await repo.commitTree(baseTree, [], 'base', who, { signal })
  const ours = await repo.commitTree(oursTree, [base], 'ours', who, { signal })
  const theirs = await repo.commitTree(theirsTree, [base], 'theirs', who, { signal })
  const out = await repo.git(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs], {
    okCodes: [1],
    signal,
  })
  const [tree = '', ...conflicts] = out.stdout.split('\0').filter((s) => s.length > 0)
  return { tree, conflicts: out.code === 1 ? [...new Set(conflicts)] : [] }
}

/** Pipelines whose `pipeline.json` in `tree` no longer parses (a textual merge can break JSON). */
async function brokenDocuments(repo: GitRepository, tree: string, names: readonly string[], signal?: AbortSignal) {
  const broken: string[] = []
  for (const name of names) {
    const folder = await repo.entryAt(tree, [PIPELINES_DIR, name], signal)
    if (!folder || !isTreeEntry(folder)) continue
    const file = (await repo.readTree(folder.oid, signal)).find((e) => e.name === PIPELINE_FILE)
    if (!file || !isBlobEntry(file)) continue
    const data = await repo.readBlob(file.oid, signal)
    try {
      parsePipelineText(data?.toString('utf8') ?? '', `${PIPELINES_DIR}/${name}/${PIPELINE_FILE}`)
    } catch {
      broken.push(`${PIPELINES_DIR}/${name}/${PIPELINE_FILE}`)
    }
  }
  return broken
}

async function changedPipelines(repo: GitRepository, from: string, to: string, signal?: AbortSignal) {
  const out = await repo.git(['diff-tree', '-r', '--name-only', '-z', '--no-renames', from, to, '--', PIPELINES_DIR], {
    signal,
  })
  return new Set(
    out.stdout
      .split('\0')
      .map(pipelineOf)
      .filter((p): p is string => p !== undefined),
  )
}

/** Fetches and updates a branch (fast-forward or rebase); call under the repository's write lock. */
export async function pull(repo: GitRepository, options: PullOptions): Promise<PullResult> {
  const { branch, remote, signal } = options
  assertBranchName(branch)
  if (!(await fetchBranch(repo, remote, branch, signal)))
    throw new StudioError('NOT_FOUND', `the remote ${remote} has no branch ${branch}: push it first`, {
      branch,
      remote,
    })
  const ref = `${heads}${branch}`
  const theirs = await repo.resolveCommit(remoteRef(remote, branch), signal)
  const ours = await repo.resolveCommit(ref, signal)
  if (!theirs) throw new StudioError('NOT_FOUND', `the remote ${remote} has no branch ${branch}`, { branch, remote })
  const move = async (to: string) => {
    signal?.throwIfAborted()
    const moved = await repo.git(['update-ref', ref, to, ours ?? ''], { okCodes: [1, 128], signal })
    if (moved.code !== 0)
      throw new StudioError('CONFLICT', `branch ${branch} changed during the pull: pull again`, { branch })
  }
  if (!ours || (await isAncestor(repo, ours, theirs, signal))) {
    if (ours === theirs) return { branch, commit: theirs, status: 'up-to-date', replayed: 0 }
    await move(theirs)
    return { branch, commit: theirs, status: 'fast-forward', replayed: 0 }
  }
  if (await isAncestor(repo, theirs, ours, signal)) return { branch, commit: ours, status: 'ahead', replayed: 0 }
  if (options.mode === 'ff-only')
    throw new StudioError(
      'CONFLICT',
      `branch ${branch} and ${remote}/${branch} have diverged: pull with mode 'rebase' to replay local commits`,
      { branch, remote },
    )

  const mergeBase = (await repo.git(['merge-base', ours, theirs], { signal })).stdout.trim()
  const local = (await repo.git(['rev-list', '--reverse', '--no-merges', `${theirs}..${ours}`], { signal })).stdout
    .split('\n')
    .filter(Boolean)
  let onto = await repo.readCommit(theirs, signal)
  let replayed = 0
  for (const oid of local) {
    const commit = await repo.readCommit(oid, signal)
    const parent = commit.parents[0]
    const parentTree = parent ? (await repo.readCommit(parent, signal)).tree : await repo.emptyTree(signal)
    const merged = await replay(repo, parentTree, onto.tree, commit.tree, signal)
    if (merged.conflicts.length > 0) throw mergeConflict(branch, merged.conflicts, oid)
    if (merged.tree === onto.tree) continue
    const next = await repo.commitTree(merged.tree, [onto.oid], commit.message, commit.author, {
      authorDate: commit.authorTime,
      signal,
    })
    onto = await repo.readCommit(next, signal)
    replayed++
  }
  const localChanged = await changedPipelines(repo, mergeBase, ours, signal)
  const remoteChanged = await changedPipelines(repo, mergeBase, theirs, signal)
  const both = [...localChanged].filter((name) => remoteChanged.has(name))
  const broken = await brokenDocuments(repo, onto.tree, both, signal)
  if (broken.length > 0) throw mergeConflict(branch, broken)
  await move(onto.oid)
  return { branch, commit: onto.oid, status: 'rebased', replayed }
}

/** Pushes a branch; a rejection is `GIT_REMOTE_REJECTED`. */
export async function push(repo: GitRepository, options: PushOptions): Promise<PushResult> {
  const { branch, remote, signal } = options
  assertBranchName(branch)
  const ref = `${heads}${branch}`
  const commit = await repo.resolveCommit(ref, signal)
  if (!commit) throw new StudioError('NOT_FOUND', `branch ${branch} has no commits to push`, { branch })
  await assertRemote(repo, remote, signal)
  const before = await repo.resolveCommit(remoteRef(remote, branch), signal)
  try {
    await porcelain(repo.gitDir, signal, repo.onGitProcess).push(remote, `${ref}:${ref}`, ['--porcelain'])
  } catch (error) {
    const text = porcelainMessage(error)
    const line = text.split('\n').find((l) => l.startsWith('!\t') && l.includes(`${ref}:${ref}`))
    if (line) {
      const reason = /\[rejected\] \((non-fast-forward|fetch first)\)/.test(line)
        ? 'non-fast-forward'
        : (/\((.*)\)\s*$/.exec(line)?.[1] ?? 'rejected')
      throw new StudioError(
        'GIT_REMOTE_REJECTED',
        reason === 'non-fast-forward'
          ? `push of ${branch} to ${remote} was rejected: the remote has commits this branch lacks. Pull first (it rebases your commits), then push again`
          : `push of ${branch} to ${remote} was rejected by the remote: ${reason}`,
        { branch, remote, reason },
      )
    }
    throw porcelainFailure('push', error, { branch, remote })
  }
  await repo.git(['update-ref', remoteRef(remote, branch), commit], { signal })
  return { branch, remote, commit, status: before === commit ? 'up-to-date' : 'pushed' }
}
