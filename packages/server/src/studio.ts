import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  type ComponentRegistry,
  compilePipeline,
  createDefaultRegistry,
  type ExecutionPolicy,
  type PipelineDocument,
  validatePipeline,
} from '@sparkle-studio/core'
import {
  cloneRepository,
  type GitIdentity,
  GitPipelineStore,
  type GitProcessListener,
  initRepository,
  type PullRequestProvider,
} from '@sparkle-studio/git'
import { migrateToLatest, openDatabase, RunQueue, RunStore, type UsageBudgets } from '@sparkle-studio/runs'
import {
  findSparkRuntime,
  type Previewer,
  PreviewSession,
  type SparkRuntime,
  type Submitter,
} from '@sparkle-studio/spark'
import {
  type ConnectionString,
  ConnectPreviewSession,
  SparkConnectClient,
  SparkConnectSubmitter,
} from '@sparkle-studio/spark/connect'
import type { Kysely } from 'kysely'
import { createStudioApi } from './api/index.ts'
import type { StudioApi } from './api/types.ts'
import { ArtifactRecords } from './artifacts/records.ts'
import { S3ArtifactStorage, type S3ArtifactStorageOptions } from './artifacts/s3-storage.ts'
import { ArtifactService } from './artifacts/service.ts'
import { type ArtifactStorage, LocalArtifactStorage } from './artifacts/storage.ts'
import { AuditLog } from './auth/audit.ts'
import { bearerAuthenticator } from './auth/authenticate.ts'
import { bootstrapAdminKey } from './auth/bootstrap.ts'
import { createJwtAuthenticator, type JwtAuthenticatorOptions } from './auth/jwt.ts'
import { ApiKeys } from './auth/keys.ts'
import { type ApiSchema, migrateApiTables } from './auth/tables.ts'
import { OpenLineageEmitter, type OpenLineageOptions, openLineageSubmitter } from './lineage/index.ts'
import { createLogger, type Logger } from './logger.ts'
import { createStudioMetrics, type MetricsOptions } from './metrics/studio-metrics.ts'
import type { StudioParts } from './parts.ts'
import { frozenPolicy, savePolicyIssues, studioDefaultPolicy, underPolicy } from './policy.ts'
import type { Authenticate } from './principal.ts'
import { createSubmitter } from './submitter.ts'
import { type PipelineTemplate, sampleTemplates } from './templates.ts'
import { type WebhookDispatchOptions, WebhookService } from './webhooks/service.ts'

/** Options of {@link createStudio}. Only `dataDir` is required: everything else has an embedded default. */
export interface StudioOptions {
  /** The folder for the embedded database, run files, sample data and, by default, the repository. */
  readonly dataDir: string
  /** The pipelines repository. */
  readonly repository?:
    | {
        /**
         * Path of the bare repository, created (or cloned from `remote`) when missing.
         * @default `<dataDir>/repo.git`
         */
        readonly dir?: string | undefined
        /**
         * The branch saves go to.
         * @default 'main'
         */
        readonly branch?: string | undefined
        /** A remote to clone from, pull from and push to. */
        readonly remote?: string | undefined
        /**
         * The server's git identity: the committer of every commit (callers are the authors of theirs), and the
         * author of commits no caller is known for.
         * @default `Sparkle Studio <studio@sparkle.invalid>`
         */
        readonly identity?: GitIdentity | undefined
        /** Called with the arguments of every git process the store starts (for tests and instrumentation). */
        readonly onGitProcess?: GitProcessListener | undefined
      }
    | undefined
  /** PostgreSQL URL of the run store; the embedded PGlite in `<dataDir>/db` when absent. */
  readonly databaseUrl?: string | undefined
  /** Spark. */
  readonly spark?:
    | {
        /**
         * Where runs go: `local[N]`, `local[*]` or `spark://host:port`.
         * @default 'local[2]'
         */
        readonly master?: string | undefined
        /**
         * A Spark Connect server (`sc://host:port/;token=...`, as in `SPARK_REMOTE`): runs and previews go there, and
         * this machine needs no Spark; `master` is then unused.
         */
        readonly remote?: string | ConnectionString | undefined
        /**
         * The warm preview driver stops after this long without a request.
         * @default 300_000
         */
        readonly previewIdleMs?: number | undefined
        /**
         * How Spark is found.
         * @default findSparkRuntime (SPARK_HOME, SPARKLE_PYTHON, an active virtualenv's pyspark, ...)
         */
        readonly runtime?: (() => Promise<SparkRuntime>) | undefined
        /**
         * How long the answer "Spark is missing" is kept before Spark is looked for again: health checks, previews
         * and the worker's claims within that time reuse it (a search starts Python and Java). Once found, Spark is
         * kept.
         * @default 5_000
         */
        readonly recheckMs?: number | undefined
      }
    | undefined
  /** Values of secret references (`{ "$secret": "NAME" }`) by name, handed to the runs that use them. */
  readonly secrets?: Readonly<Record<string, string>> | undefined
  /** Where pull requests are opened (`GitHubProvider`, `GitLabProvider`); none by default. */
  readonly pullRequests?: PullRequestProvider | undefined
  /**
   * What `POST /pipelines { template }` offers.
   * @default the sample templates, reading sample data written to `<dataDir>/sample`
   */
  readonly templates?: readonly PipelineTemplate[] | undefined
  /**
   * The component registry.
   * @default createDefaultRegistry()
   */
  readonly registry?: ComponentRegistry | undefined
  /**
   * Where the studio logs (JSON lines).
   * @default createLogger() on stderr, secret values redacted
   */
  readonly logger?: Logger | undefined
  /**
   * The host's own way to identify a caller (its sessions), tried first; when it answers `null`, the bearer token
   * is checked as an API key or (when `authentication.jwt` is set) a JWT. A caller nobody identifies is anonymous:
   * refused everywhere but liveness.
   */
  readonly authenticate?: Authenticate | undefined
  /** API keys, JWTs and the first admin key. Authentication is always on. */
  readonly authentication?: AuthenticationOptions | undefined
  /**
   * What pipelines may do (allowed Spark configuration, read and write roots, JDBC URLs, denied functions, run time,
   * backfill and schedule limits): saves, plans, previews, runs, backfills and schedules are held to it.
   * @default defaultExecutionPolicy({ readRoots: [`<dataDir>/sample`, `<dataDir>/output`], writeRoots: [`<dataDir>/output`] })
   */
  readonly policy?: ExecutionPolicy | undefined
  /**
   * Daily budgets of cluster core-seconds per pipeline (UTC days). Workers of this studio refuse to start a run
   * whose pipeline used its budget that day (the run fails with `BUDGET_EXCEEDED`); `GET /pipelines/{name}/usage`
   * shows each pipeline's budget beside its use. None by default.
   */
  readonly budgets?: UsageBudgets | undefined
  /** Data artifacts (uploaded files): where they are stored and how large they may be. */
  readonly artifacts?: ArtifactsOptions | undefined
  /**
   * Webhooks: whether this process sends deliveries (and reads ended runs for them), the waits between attempts and
   * the time one attempt may take. Receiver URLs are called from this process: subscriptions are for admins only.
   * @default { dispatch: true, retryDelaysMs: DEFAULT_WEBHOOK_RETRY_DELAYS_MS, timeoutMs: 10_000 }
   */
  readonly webhooks?: WebhookDispatchOptions | undefined
  /** Prometheus metrics: always kept (serve them with {@link studioMetricsHandler}); the process's own on request. */
  readonly metrics?: MetricsOptions | undefined
  /**
   * OpenLineage: a RunEvent for every run attempt's start, Spark application and end (with datasets and column
   * lineage) is POSTed to `url`, and every job's Spark conf names the attempt as the parent run of a Spark listener's
   * events. Off by default.
   */
  readonly openLineage?: OpenLineageOptions | undefined
}

/** The largest upload by default: 1 GiB. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 1024 * 1024 * 1024

/** Where data artifacts are stored and how large they may be (see {@link StudioOptions.artifacts}). */
export interface ArtifactsOptions {
  /**
   * `local` (a folder, `<dataDir>/artifacts` by default, content-addressed), S3-compatible object storage (Spark reads
   * a copy downloaded once into `<dataDir>/artifacts-cache`), or an {@link ArtifactStorage} of your own with the folder
   * its `localPath` answers in (`sparkDir`).
   * @default { kind: 'local' }
   */
  readonly storage?:
    | { readonly kind: 'local'; readonly root?: string | undefined }
    | ({ readonly kind: 's3' } & Omit<S3ArtifactStorageOptions, 'cacheDir'> & {
          readonly cacheDir?: string | undefined
        })
    | { readonly kind: 'custom'; readonly storage: ArtifactStorage; readonly sparkDir: string }
    | undefined
  /**
   * The largest upload, in bytes.
   * @default 1 GiB
   */
  readonly maxBytes?: number | undefined
  /**
   * A CSV or JSON lines file larger than this is sampled, not read whole, for its columns and first rows: Spark reads
   * its first `headBytes` only (cut after a line break). Its row count is counted while it uploads, so stays exact.
   * @default 32 MiB
   */
  readonly sampleAboveBytes?: number | undefined
  /**
   * How much of a sampled file Spark reads.
   * @default 8 MiB
   */
  readonly headBytes?: number | undefined
}

/** The storage of the studio's artifacts, and the folder Spark reads them in (inside the policy's read roots). */
function artifactStorage(
  options: ArtifactsOptions | undefined,
  dataDir: string,
): { storage: ArtifactStorage; sparkDir: string } {
  const chosen = options?.storage ?? { kind: 'local' as const }
  if (chosen.kind === 'custom') return { storage: chosen.storage, sparkDir: resolve(chosen.sparkDir) }
  if (chosen.kind === 's3') {
    const { kind: _kind, cacheDir, ...s3 } = chosen
    const cache = resolve(cacheDir ?? join(dataDir, 'artifacts-cache'))
    return { storage: new S3ArtifactStorage({ ...s3, cacheDir: cache }), sparkDir: cache }
  }
  const root = resolve(chosen.root ?? join(dataDir, 'artifacts'))
  return { storage: new LocalArtifactStorage({ root }), sparkDir: join(root, 'spark') }
}

/** The policy with the artifacts' folder among its read roots: pipelines read artifacts there, and nothing else of it. */
function withArtifactRoot(policy: ExecutionPolicy, sparkDir: string): ExecutionPolicy {
  return policy.readRoots.includes(sparkDir) ? policy : { ...policy, readRoots: [...policy.readRoots, sparkDir] }
}

/** How callers prove who they are (see {@link StudioOptions.authentication}). */
export interface AuthenticationOptions {
  /** Bearer JWTs, verified with these settings (issuer, audience and algorithms pinned). */
  readonly jwt?: JwtAuthenticatorOptions | undefined
  /**
   * An admin key the operator chose (`SPARKLE_ADMIN_KEY`): accepted as an admin API key, stored hashed at start.
   */
  readonly adminKey?: string | undefined
  /**
   * When no key works yet and no `adminKey` is given, create an admin key on start, print it once to stderr and
   * write it to `<dataDir>/admin-key` (mode 0600). Off when the host passes its own `authenticate`.
   * @default true
   */
  readonly bootstrap?: boolean | undefined
}

/** The API as a library: its use cases, the parts they work on, and how to close it. */
export interface Studio extends StudioParts {
  /** Every use case, by route name, each taking the caller's principal. */
  readonly api: StudioApi
  /** Identifies HTTP callers (see {@link StudioOptions.authenticate}). */
  readonly authenticate: Authenticate
  /**
   * Stops the webhook dispatcher and the preview driver and closes the repository and the database. Runs in progress
   * are not touched.
   */
  close(): Promise<void>
}

/**
 * Validation for git saves: everything but "has a sink" (drafts may be saved), and the policy's rules for Spark
 * configuration and schedules. Paths outside the roots may be saved (they may depend on params): compiles refuse them.
 */
function saveValidator(registry: ComponentRegistry, policy: ExecutionPolicy) {
  return (document: unknown) => {
    const result = validatePipeline(document, registry, { mode: 'preview' })
    const issues = [...(result.ok ? [] : result.issues), ...savePolicyIssues(document, policy)]
    return issues.length === 0
      ? { ok: true as const, document: document as PipelineDocument }
      : { ok: false as const, issues }
  }
}

/** A lazily started resource that is started again after a failed start. */
function lazy<T>(start: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined
  return () => {
    value ??= start().catch((error: unknown) => {
      value = undefined
      throw error
    })
    return value
  }
}

/**
 * Spark, found once and then kept; a failed search is remembered for `recheckMs` (every caller in that time gets
 * the same error without a new search), then tried again, so Spark installed while the studio runs is picked up.
 */
function sparkFinder(find: () => Promise<SparkRuntime>, recheckMs: number): () => Promise<SparkRuntime> {
  let value: Promise<SparkRuntime> | undefined
  return () => {
    value ??= find().catch((error: unknown) => {
      setTimeout(() => {
        value = undefined
      }, recheckMs).unref()
      throw error
    })
    return value
  }
}

/**
 * Opens a studio: the pipelines repository (created or cloned when missing), the run store (migrated), and Spark,
 * found and started on first use (so a studio starts, and serves everything but previews and runs, on a machine
 * without Spark). Mount it with {@link studioRouter} (Express), {@link studioNodeHandler} or
 * {@link studioFetchHandler}; run its worker with {@link createStudioWorker}.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createStudio, studioRouter } from '@sparkle-studio/server'
 *
 * const studio = await createStudio({ dataDir: '.data' })
 * const app = express()
 * app.use('/api/v1', studioRouter(studio))
 * app.listen(3000, '127.0.0.1')
 * ```
 */
export async function createStudio(options: StudioOptions): Promise<Studio> {
  const dataDir = resolve(options.dataDir)
  await mkdir(dataDir, { recursive: true })
  const secrets = options.secrets ?? {}
  const log = options.logger ?? createLogger({ secrets: Object.values(secrets) })
  const registry = options.registry ?? createDefaultRegistry()
  const stored = artifactStorage(options.artifacts, dataDir)
  const policy = frozenPolicy(withArtifactRoot(options.policy ?? studioDefaultPolicy(dataDir), stored.sparkDir))
  const repo = options.repository ?? {}
  const repoDir = resolve(repo.dir ?? join(dataDir, 'repo.git'))
  const branch = repo.branch ?? 'main'
  if (!existsSync(join(repoDir, 'HEAD'))) {
    if (repo.remote) await cloneRepository(repo.remote, repoDir, { branch })
    else await initRepository(repoDir, { initialBranch: branch })
    log.info('pipelines repository created', { repo: repoDir })
  }
  const metrics = createStudioMetrics({ ...options.metrics, log })
  const pipelines = await GitPipelineStore.open<PipelineDocument>({
    repo: repoDir,
    branch,
    validate: saveValidator(registry, policy),
    ...(repo.identity ? { author: repo.identity, committer: repo.identity } : {}),
    ...(repo.remote ? { remote: 'origin' } : {}),
    ...(repo.onGitProcess ? { onGitProcess: repo.onGitProcess } : {}),
    onWrite: metrics.observeGitWrite,
  })
  const database = await openDatabase(
    options.databaseUrl ? { url: options.databaseUrl } : { dataDir: join(dataDir, 'db') },
  )
  await migrateToLatest(database.db)
  metrics.watchRunStore(database.db)
  const apiDb = database.db as unknown as Kysely<ApiSchema>
  await migrateApiTables(apiDb)
  const keys = new ApiKeys(apiDb)
  const auth = options.authentication ?? {}
  if (auth.adminKey) {
    await keys.adopt(auth.adminKey, { name: 'SPARKLE_ADMIN_KEY', role: 'admin', createdBy: 'environment' })
  } else if ((auth.bootstrap ?? !options.authenticate) && !(await keys.anyActive())) {
    await bootstrapAdminKey(keys, dataDir, log)
  }
  const templates = options.templates ?? (await sampleTemplates(join(dataDir, 'sample'), join(dataDir, 'output')))

  const sparkOptions = options.spark ?? {}
  const sparkRuntime = sparkFinder(sparkOptions.runtime ?? (() => findSparkRuntime()), sparkOptions.recheckMs ?? 5_000)
  let session: Previewer | undefined
  const remote = sparkOptions.remote
  const previewSession = lazy(async (): Promise<Previewer> => {
    // The driver gets only the secrets a plan references, never as environment variables, and enforces the policy.
    session = remote
      ? new ConnectPreviewSession({ remote, secrets, policy })
      : new PreviewSession({
          runtime: await sparkRuntime(),
          idleTimeoutMs: sparkOptions.previewIdleMs ?? 300_000,
          secrets,
          policy,
        })
    return session
  })
  const submitter = lazy(
    async (): Promise<Submitter> =>
      remote
        ? new SparkConnectSubmitter({ remote, secrets, policy })
        : createSubmitter(
            { master: sparkOptions.master ?? 'local[2]', baseDir: join(dataDir, 'runs'), secrets, policy },
            await sparkRuntime(),
          ),
  )
  const sparkCheck = remote
    ? async () => {
        const client = SparkConnectClient.fromConnectionString(remote)
        try {
          const { rows } = await client.executeSql('SELECT version() AS v', { signal: AbortSignal.timeout(10_000) })
          return { version: String(rows[0]?.['v'] ?? '').split(' ')[0] ?? '', backend: 'connect' }
        } finally {
          await client.close().catch(() => undefined)
        }
      }
    : async () => {
        const runtime = await sparkRuntime()
        return { version: runtime.sparkVersion, java: runtime.javaVersion, backend: 'spark-submit' }
      }

  const artifacts = new ArtifactService({
    records: new ArtifactRecords(apiDb),
    storage: stored.storage,
    maxBytes: options.artifacts?.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES,
    headsDir: join(stored.sparkDir, 'heads'),
    sampleAbove: options.artifacts?.sampleAboveBytes,
    headBytes: options.artifacts?.headBytes,
    registry,
    policy,
    previewSession,
    log,
  })

  const webhooks = new WebhookService({ ...options.webhooks, db: apiDb, runs: new RunStore({ db: database.db }), log })

  const parts: StudioParts = {
    registry,
    pipelines,
    runs: new RunStore({ db: database.db }),
    queue: new RunQueue({ db: database.db }),
    database,
    templates,
    pullRequests: options.pullRequests,
    log,
    dataDir,
    keys,
    audit: new AuditLog(apiDb),
    artifacts,
    webhooks,
    policy,
    budgets: options.budgets,
    sparkRuntime,
    sparkCheck,
    previewSession,
    submitter: openLineageSubmitter(submitter, options.openLineage, database.db),
    metrics,
    async resolvePlan(run, { signal } = {}) {
      const stored = await pipelines.get(run.pipeline, {
        ...(run.revision ? { ref: run.revision } : {}),
        ...(signal ? { signal } : {}),
      })
      return compilePipeline(stored.document, registry, {
        params: run.params,
        revision: stored.revision,
        artifacts: await artifacts.locations(stored.document),
        ...underPolicy(policy),
      })
    },
  }
  webhooks.start()
  const lineage = options.openLineage ? new OpenLineageEmitter(options.openLineage, parts, log) : undefined
  lineage?.start()
  let closing: Promise<void> | undefined
  return Object.freeze({
    ...parts,
    api: createStudioApi(parts),
    authenticate: bearerAuthenticator({
      host: options.authenticate,
      keys,
      jwt: auth.jwt ? createJwtAuthenticator(auth.jwt) : undefined,
    }),
    close() {
      closing ??= (async () => {
        await webhooks.stop()
        await lineage?.stop()
        await session?.close()
        await stored.storage.close()
        await pipelines.close()
        await database.destroy()
      })()
      return closing
    },
  })
}
