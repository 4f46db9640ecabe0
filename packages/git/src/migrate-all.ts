import { isStudioError, StudioError, type ValidationIssue } from '@sparkle-studio/core'
import type { PipelineList, PipelineProblem, StoredPipeline } from './git-pipeline-store.ts'
import { assertIdentity, type GitIdentity } from './identity.ts'
import { assertBranchName, pipelinePath } from './names.ts'
import { diffPipelineDocuments, jsonEqual, type PipelineChanges } from './pipeline-diff.ts'
import type { PullRequestProvider, PullRequestRef } from './pull-request-provider.ts'
import type { GitRepository, IndexChange } from './repository.ts'
import { pointer } from './stable-json.ts'
import { push } from './sync.ts'
import { validationFailure } from './validation-failure.ts'

/** Options of `migrateAll`. */
export interface MigrateAllOptions<T> {
  /**
   * Turns one document into its migrated form. It gets its own copy (mutating it is fine) and returns the new document;
   * returning `undefined` or an equal document leaves the pipeline unchanged.
   */
  readonly migrate: (document: T, context: { readonly name: string }) => unknown
  /** The new branch that receives the one commit; it must not exist yet. */
  readonly branch: string
  /** The branch migrated (and the pull request's base). @default the store's branch */
  readonly base?: string | undefined
  /** The commit message. @default `Migrate <n> pipelines` */
  readonly message?: string | undefined
  /** The commit's author. @default the store's author */
  readonly author?: GitIdentity | undefined
  /** Only report what would change; write nothing. @default false */
  readonly dryRun?: boolean | undefined
  /** Push the branch and open a pull request into `base` through this provider. */
  readonly pullRequest?:
    | {
        /** The hosting service. */
        readonly provider: PullRequestProvider
        /** @default the commit message */
        readonly title?: string | undefined
        /** @default a list of the migrated pipelines */
        readonly body?: string | undefined
        /** @default false */
        readonly draft?: boolean | undefined
      }
    | undefined
  /** Cancels the migration (before the branch is created). */
  readonly signal?: AbortSignal | undefined
}

/** One pipeline a migration changes. */
export interface MigratedPipeline {
  /** The pipeline. */
  readonly name: string
  /** Its blob on the base branch. */
  readonly before: string
  /** Its blob after the migration; `null` in a dry run. */
  readonly after: string | null
  /** What changed, as `diff` reports it. */
  readonly changes: PipelineChanges
}

/** What `migrateAll` did (or, in a dry run, would do). */
export interface MigrateAllResult {
  /** True when nothing was written. */
  readonly dryRun: boolean
  /** The base branch. */
  readonly base: string
  /** The base commit every document was read at. */
  readonly baseRevision: string
  /** The new branch. */
  readonly branch: string
  /** The migration commit; `null` in a dry run or when nothing changed (then no branch is created). */
  readonly commit: string | null
  /** The pipelines the migration changes. */
  readonly changed: readonly MigratedPipeline[]
  /** The pipelines it leaves as they are. */
  readonly unchanged: readonly string[]
  /** Files that are not readable pipelines; they are left alone. */
  readonly problems: readonly PipelineProblem[]
  /** The pull request opened, when asked for. */
  readonly pullRequest?: PullRequestRef
}

/** What `migrateAll` needs from the store. */
export interface MigrationHost<T> {
  /** The repository written to. */
  readonly repo: GitRepository
  /** The store's branch, the default base. */
  readonly branchRef: string
  /** Where the branch is pushed for a pull request. */
  readonly remote: string
  /** The default author. */
  readonly author: GitIdentity
  /** Lists the pipelines at a commit. */
  list(ref: string, signal?: AbortSignal): Promise<PipelineList>
  /** Reads one pipeline at a commit. */
  get(name: string, ref: string, signal?: AbortSignal): Promise<StoredPipeline<T>>
  /** Validates and serializes a document as a save would. */
  prepare(name: string, document: unknown): Promise<string>
}

function issuesOf(error: unknown): readonly ValidationIssue[] | undefined {
  if (!isStudioError(error)) return undefined
  const details = error.details as { issues?: readonly ValidationIssue[] } | undefined
  return details?.issues
}

/** Applies a migration to every pipeline of a branch as one commit on a new branch (see `GitPipelineStore.migrateAll`). */
export async function migrateAll<T>(host: MigrationHost<T>, options: MigrateAllOptions<T>): Promise<MigrateAllResult> {
  const { repo, remote } = host
  const { signal } = options
  assertBranchName(options.branch)
  const base = options.base ?? host.branchRef.slice('refs/heads/'.length)
  assertBranchName(base)
  const author = options.author ?? host.author
  assertIdentity(author, 'author')
  const targetRef = `refs/heads/${options.branch}`
  const baseRevision = await repo.resolveCommit(`refs/heads/${base}`, signal)
  if (!baseRevision) throw new StudioError('NOT_FOUND', `branch ${base} has no commits to migrate`, { branch: base })
  if (!options.dryRun && (await repo.resolveCommit(targetRef, signal)))
    throw new StudioError(
      'CONFLICT',
      `branch ${options.branch} already exists: choose a new branch for the migration`,
      {
        branch: options.branch,
      },
    )

  const listing = await host.list(baseRevision, signal)
  const issues: ValidationIssue[] = []
  const planned: { name: string; before: string; text: string; changes: PipelineChanges }[] = []
  const unchanged: string[] = []
  for (const { name } of listing.pipelines) {
    signal?.throwIfAborted()
    const stored = await host.get(name, baseRevision, signal)
    let migrated: unknown
    try {
      migrated = await options.migrate(structuredClone(stored.document), { name })
    } catch (error) {
      issues.push({
        path: pointer('', name),
        code: 'migration_failed',
        message: `${name}: the migration threw: ${error instanceof Error ? error.message : String(error)}`,
      })
      continue
    }
    if (migrated === undefined || jsonEqual(migrated, stored.document)) {
      unchanged.push(name)
      continue
    }
    try {
      const text = await host.prepare(name, migrated)
      planned.push({
        name,
        before: stored.blob,
        text,
        changes: diffPipelineDocuments(stored.document, JSON.parse(text)),
      })
    } catch (error) {
      const found = issuesOf(error)
      if (!found) throw error
      for (const issue of found)
        issues.push({ ...issue, path: `${pointer('', name)}${issue.path}`, message: `${name}: ${issue.message}` })
    }
  }
  if (issues.length > 0) throw validationFailure(`the migration (to branch ${options.branch})`, issues)

  const result = {
    base,
    baseRevision,
    branch: options.branch,
    unchanged,
    problems: listing.problems,
  }
  if (options.dryRun || planned.length === 0) {
    return {
      ...result,
      dryRun: Boolean(options.dryRun),
      commit: null,
      changed: planned.map((p) => ({ name: p.name, before: p.before, after: null, changes: p.changes })),
    }
  }

  const blobs = await repo.writeBlobs(
    planned.map((p) => p.text),
    signal,
  )
  const changes: IndexChange[] = planned.map((p, i) => ({ path: pipelinePath(p.name), oid: blobs[i] ?? null }))
  const message = options.message?.trim() || `Migrate ${planned.length} pipeline${planned.length === 1 ? '' : 's'}`
  const baseCommit = await repo.readCommit(baseRevision, signal)
  const outcome = await repo.lock(() =>
    repo.commit(targetRef, {
      allowCreate: true,
      signal,
      plan: async (head) => {
        if (head)
          throw new StudioError('CONFLICT', `branch ${options.branch} was created meanwhile: choose another branch`, {
            branch: options.branch,
          })
        return { changes, message, author, parent: baseCommit, result: undefined }
      },
    }),
  )
  const commit = outcome.commit
  const changed = planned.map((p, i) => ({
    name: p.name,
    before: p.before,
    after: blobs[i] ?? null,
    changes: p.changes,
  }))
  if (!options.pullRequest || !commit) return { ...result, dryRun: false, commit, changed }

  await push(repo, { branch: options.branch, remote, signal })
  const { provider } = options.pullRequest
  const body =
    options.pullRequest.body ??
    [
      `Migration of ${planned.length} pipeline(s) from \`${base}\` at ${baseRevision.slice(0, 12)}:`,
      '',
      ...planned.map((p) => `- \`${p.name}\``),
    ].join('\n')
  try {
    const pullRequest = await provider.createPullRequest({
      head: options.branch,
      base,
      title: options.pullRequest.title ?? message,
      body,
      draft: options.pullRequest.draft ?? false,
      signal,
    })
    return { ...result, dryRun: false, commit, changed, pullRequest }
  } catch (error) {
    if (!isStudioError(error)) throw error
    throw new StudioError(
      error.code,
      `branch ${options.branch} (commit ${commit.slice(0, 12)}) was pushed, but opening the pull request failed: ${error.message}`,
      { ...(error.details as object | undefined), branch: options.branch, commit },
    )
  }
}
