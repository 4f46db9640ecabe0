// The public types of GitPipelineStore.migrateAll.
import type { CommitSummary } from './commit-summary.ts'
import type { GitIdentity } from './identity.ts'
import type { PipelineChanges } from './pipeline-diff.ts'
import type { PullRequestProvider, PullRequestRef } from './pull-request-provider.ts'
import type { PipelineProblem } from './types.ts'

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

/** What `migrateAll` found, whether it wrote anything or not. */
export interface MigrateAllReport {
  /** True when nothing was written. */
  readonly dryRun: boolean
  /** The base branch. */
  readonly base: string
  /** The base commit every document was read at. */
  readonly baseRevision: string
  /** The new branch. */
  readonly branch: string
  /** The pipelines the migration changes. */
  readonly changed: readonly MigratedPipeline[]
  /** The pipelines it leaves as they are. */
  readonly unchanged: readonly string[]
  /** Files that are not readable pipelines; they are left alone. */
  readonly problems: readonly PipelineProblem[]
  /** The pull request opened, when asked for. */
  readonly pullRequest?: PullRequestRef
}

/**
 * What `migrateAll` did (or, in a dry run, would do): the report, and the summary of the migration commit, or
 * `commit: null` in a dry run or when nothing changed (then no branch is created). Test `commit !== null` to read
 * the commit's `author`, `date` and `message`.
 */
export type MigrateAllResult = MigrateAllReport & (CommitSummary | { readonly commit: null })
