import { isStudioError, StudioError, type ValidationIssue } from '@sparkle-studio/core'
import { assertIdentity, type GitIdentity } from './identity.ts'
import type { MigrateAllOptions, MigrateAllResult } from './migrate-types.ts'
import { assertBranchName } from './names.ts'
import { diffPipelineDocuments, jsonEqual, type PipelineChanges } from './pipeline-diff.ts'
import type { GitRepository } from './repository.ts'
import { pointer } from './stable-json.ts'
import { push } from './sync.ts'
import type { PipelineList, StoredPipeline } from './types.ts'
import { validationFailure } from './validation-failure.ts'
import { commitMessage, writeChanges } from './write-changes.ts'

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

  const message = commitMessage(options.message, `Migrate ${planned.length} pipeline${planned.length === 1 ? '' : 's'}`)
  const outcome = await writeChanges(repo, {
    ref: targetRef,
    startAt: baseRevision,
    edits: planned.map((p) => ({ kind: 'put', name: p.name, text: p.text, expected: p.before })),
    message,
    author,
    signal,
  })
  const { commit } = outcome.summary
  const changed = planned.map((p) => ({
    name: p.name,
    before: p.before,
    after: outcome.blobs.get(p.name) ?? null,
    changes: p.changes,
  }))
  const written = { ...result, ...outcome.summary, dryRun: false, changed }
  if (!options.pullRequest) return written

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
    return { ...written, pullRequest }
  } catch (error) {
    if (!isStudioError(error)) throw error
    throw new StudioError(
      error.code,
      `branch ${options.branch} (commit ${commit.slice(0, 12)}) was pushed, but opening the pull request failed: ${error.message}`,
      { ...(error.details as object | undefined), branch: options.branch, commit },
    )
  }
}
