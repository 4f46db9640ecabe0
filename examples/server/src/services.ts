// Composes the packages into what the API needs: registry, git store, run store, Spark (preview and runs).
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ComponentRegistry,
  compilePipeline,
  createDefaultRegistry,
  type ExecutionPlan,
  type PipelineDocument,
  StudioError,
  validatePipeline,
} from '@sparkle-studio/core'
import {
  cloneRepository,
  GitHubProvider,
  GitLabProvider,
  GitPipelineStore,
  initRepository,
  type PullRequestProvider,
} from '@sparkle-studio/git'
import {
  findSparkRuntime,
  LocalSubmitter,
  PreviewSession,
  type SparkRuntime,
  StandaloneSubmitter,
  type Submitter,
} from '@sparkle-studio/spark'
import { migrateToLatest, openDatabase, type Run, RunStore, type StoreDatabase } from '@sparkle-studio/spark/store'
import type { ServerConfig } from './config.ts'
import type { Logger } from './logger.ts'
import { ensureSampleData, type PipelineTemplate, pipelineTemplates } from './templates.ts'

/** Everything the API handlers use. */
export interface Services {
  readonly config: ServerConfig
  readonly log: Logger
  readonly registry: ComponentRegistry
  readonly pipelines: GitPipelineStore<PipelineDocument>
  readonly database: StoreDatabase
  readonly runs: RunStore
  readonly templates: readonly PipelineTemplate[]
  readonly provider: PullRequestProvider | undefined
  /** Spark, found lazily; the error says what is missing when it is not there. */
  spark(): Promise<SparkRuntime>
  /** The warm preview session, started on first use. */
  preview(): Promise<PreviewSession>
  /** The submitter runs go to (the worker's; the server uses it for logs of runs). */
  submitter(): Promise<Submitter>
  /** Compiles a run's pipeline at its revision with its params (what the worker submits). */
  resolvePlan(run: Run, options?: { readonly signal?: AbortSignal }): Promise<ExecutionPlan>
  close(): Promise<void>
}

/** Validation for git saves: everything but "has a sink" (drafts may be saved). */
export function saveValidator(registry: ComponentRegistry) {
  return (document: unknown) => {
    const result = validatePipeline(document, registry, { mode: 'preview' })
    return result.ok
      ? { ok: true as const, document: document as PipelineDocument }
      : { ok: false as const, issues: result.issues }
  }
}

/** The submitter for a master URL: `local[N]`/`local[*]` runs spark-submit locally, `spark://…` on a standalone cluster. */
export function createSubmitter(
  config: Pick<ServerConfig, 'sparkMaster' | 'dataDir'>,
  runtime: SparkRuntime,
  env: Readonly<Record<string, string>>,
): Submitter {
  const baseDir = join(config.dataDir, 'runs')
  if (config.sparkMaster.startsWith('spark://'))
    return new StandaloneSubmitter({ runtime, baseDir, master: config.sparkMaster, env })
  const m = /^local\[(\d+|\*)\]$/.exec(config.sparkMaster)
  if (!m?.[1])
    throw new StudioError(
      'BAD_REQUEST',
      `SPARK_MASTER must be local[N], local[*] or spark://host:port, not "${config.sparkMaster}"`,
    )
  return new LocalSubmitter({ runtime, baseDir, env, threads: m[1] === '*' ? '*' : Number(m[1]) })
}

/** Opens the repository (creating or cloning it when missing), the database, and the lazy Spark pieces. */
export async function createServices(config: ServerConfig, log: Logger): Promise<Services> {
  await mkdir(config.dataDir, { recursive: true })
  const registry = createDefaultRegistry()
  if (!existsSync(join(config.repoDir, 'HEAD'))) {
    if (config.remote) await cloneRepository(config.remote, config.repoDir, { branch: config.branch })
    else await initRepository(config.repoDir, { initialBranch: config.branch })
    log.info('pipelines repository created', { repo: config.repoDir })
  }
  const pipelines = await GitPipelineStore.open<PipelineDocument>({
    repo: config.repoDir,
    branch: config.branch,
    validate: saveValidator(registry),
    author: config.author,
    ...(config.remote ? { remote: 'origin' } : {}),
  })
  const database = await openDatabase(
    config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, 'db') },
  )
  await migrateToLatest(database.db)
  const runs = new RunStore({ db: database.db })
  const sampleDir = await ensureSampleData(join(config.dataDir, 'sample'))
  const templates = pipelineTemplates(sampleDir, join(config.dataDir, 'output'))

  let provider: PullRequestProvider | undefined
  const pr = config.pullRequests
  if (pr?.provider === 'github') {
    const [owner, repo] = pr.repo.split('/')
    if (!owner || !repo) throw new StudioError('BAD_REQUEST', 'SPARKLE_PR_REPO must be owner/repo for GitHub')
    provider = new GitHubProvider({ owner, repo, token: pr.token, ...(pr.apiUrl ? { baseUrl: pr.apiUrl } : {}) })
  } else if (pr?.provider === 'gitlab') {
    provider = new GitLabProvider({ baseUrl: pr.apiUrl ?? 'https://gitlab.com', projectId: pr.repo, token: pr.token })
  }

  let runtime: Promise<SparkRuntime> | undefined
  let session: PreviewSession | undefined
  let submitter: Submitter | undefined
  const spark = () => {
    runtime ??= findSparkRuntime().catch((error: unknown) => {
      runtime = undefined
      throw error
    })
    return runtime
  }
  const secretEnv = Object.fromEntries(Object.entries(config.secrets).map(([k, v]) => [`SPARKLE_SECRET_${k}`, v]))

  return {
    config,
    log,
    registry,
    pipelines,
    database,
    runs,
    templates,
    provider,
    spark,
    async preview() {
      session ??= new PreviewSession({ runtime: await spark(), idleTimeoutMs: config.previewIdleMs, env: secretEnv })
      return session
    },
    async submitter() {
      submitter ??= createSubmitter(config, await spark(), secretEnv)
      return submitter
    },
    async resolvePlan(run, options = {}) {
      const stored = await pipelines.get(run.pipeline, {
        ...(run.revision ? { ref: run.revision } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      })
      // A backfill offers every run its partition (ds or ts, start, end); the pipeline takes those it declares.
      const declared = new Set((stored.document.params ?? []).map((p) => p.name))
      const params = run.backfillId
        ? Object.fromEntries(
            Object.entries(run.params).filter(([k]) => declared.has(k) || !['ds', 'ts', 'start', 'end'].includes(k)),
          )
        : run.params
      return compilePipeline(stored.document, registry, { params, revision: stored.revision })
    },
    async close() {
      await session?.close()
      await pipelines.close()
      await database.destroy()
    },
  }
}
