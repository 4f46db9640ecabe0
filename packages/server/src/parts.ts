import type { ComponentRegistry, ExecutionPlan, ExecutionPolicy, PipelineDocument } from '@sparkle-studio/core'
import type { GitPipelineStore, PullRequestProvider } from '@sparkle-studio/git'
import type { Run, RunQueue, RunStore, StoreDatabase, UsageBudgets } from '@sparkle-studio/runs'
import type { Previewer, SparkRuntime, Submitter } from '@sparkle-studio/spark'
import type { ArtifactService } from './artifacts/service.ts'
import type { AuditLog } from './auth/audit.ts'
import type { ApiKeys } from './auth/keys.ts'
import type { Logger } from './logger.ts'
import type { StudioMetrics } from './metrics/studio-metrics.ts'
import type { PipelineTemplate } from './templates.ts'
import type { WebhookService } from './webhooks/service.ts'

/** The pieces a studio is made of: what its use cases and its worker work with. */
export interface StudioParts {
  readonly registry: ComponentRegistry
  /** The git pipeline store (every save a commit). */
  readonly pipelines: GitPipelineStore<PipelineDocument>
  /** The run store as a host uses it (enqueue, list, cancel, retry, backfills). */
  readonly runs: RunStore
  /** The run store as a worker uses it (claims, leases, outcomes). */
  readonly queue: RunQueue
  readonly database: StoreDatabase
  /** What `POST /pipelines { template }` may start from. */
  readonly templates: readonly PipelineTemplate[]
  /** Where pull requests are opened; absent when none is configured. */
  readonly pullRequests: PullRequestProvider | undefined
  readonly log: Logger
  /** Where the studio keeps its files (database, runs, samples); never shown to callers. */
  readonly dataDir: string
  /** The API keys (hashed) in the run store's database. */
  readonly keys: ApiKeys
  /** Who did what through the API. */
  readonly audit: AuditLog
  /** Data artifacts: uploaded files, their metadata and columns, and where Spark reads them. */
  readonly artifacts: ArtifactService
  /** Webhook subscriptions, their delivery outbox and its dispatcher. */
  readonly webhooks: WebhookService
  /** What pipelines may do: every save, compile, preview, run and backfill of the studio is held to it (frozen). */
  readonly policy: ExecutionPolicy
  /** Daily core-seconds budgets per pipeline, enforced by the studio's workers when they claim runs. */
  readonly budgets: UsageBudgets | undefined
  /** Spark, found on first use; the error says what is missing. */
  sparkRuntime(): Promise<SparkRuntime>
  /**
   * Checks Spark as runs will use it: the local installation (its versions), or the Spark Connect server (asked for
   * its version). Rejects with what is missing.
   */
  sparkCheck(): Promise<{ readonly version: string; readonly java?: string; readonly backend: string }>
  /** What answers previews: the warm local driver, or the Spark Connect server; made on first use. */
  previewSession(): Promise<Previewer>
  /** The submitter runs go to (the worker's; the API reads run logs through it). */
  submitter(): Promise<Submitter>
  /** The studio's Prometheus metrics (its own registry): what `GET /metrics` answers, and the hooks that observe. */
  readonly metrics: StudioMetrics
  /** Compiles a run's pipeline at its revision with its params, under the policy: what the worker submits. */
  resolvePlan(run: Run, options?: { readonly signal?: AbortSignal | undefined }): Promise<ExecutionPlan>
}
