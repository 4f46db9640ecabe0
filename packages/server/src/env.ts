// Configuration from environment variables, validated, with embedded defaults so a server starts with no set-up: what
// the example server and worker processes read.
import { resolve } from 'node:path'
import { type ExecutionPolicy, StudioError } from '@sparkle-studio/core'
import { GitHubProvider, GitLabProvider, type PullRequestProvider } from '@sparkle-studio/git'
import type { UsageBudgets } from '@sparkle-studio/runs'
import { type ConnectionString, parseConnectionString } from '@sparkle-studio/spark/connect'
import { z } from 'zod'
import type { JwtAuthenticatorOptions } from './auth/jwt.ts'
import type { HandlerOptions } from './http/handler.ts'
import { SAFETY_DEFAULTS } from './http/safety.ts'
import type { LogLevel } from './logger.ts'
import { studioDefaultPolicy } from './policy.ts'
import type { ArtifactsOptions, AuthenticationOptions, StudioOptions } from './studio.ts'

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )

const DURATION_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A duration such as `90s`, `60m`, `6h` or `1d`, in milliseconds. */
const duration = z
  .string()
  .regex(/^\d{1,6}[smhd]$/, 'a duration such as 90s, 60m, 6h or 1d')
  .transform((v) => Number(v.slice(0, -1)) * (DURATION_MS[v.slice(-1)] ?? 0))
  .pipe(z.number().int().min(1000))

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern)
    return true
  } catch {
    return false
  }
}

const EnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  SPARKLE_DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z.string().url().optional(),
  SPARKLE_REPO: z.string().optional(),
  SPARKLE_BRANCH: z
    .string()
    .regex(/^(?!-)[A-Za-z0-9._/-]+$/)
    .default('main'),
  SPARKLE_REMOTE: z.string().optional(),
  SPARK_MASTER: z.string().default('local[2]'),
  SPARK_REMOTE: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined || value === '') return
      try {
        parseConnectionString(value)
      } catch (error) {
        // The message names the rule broken, never the token.
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'not an sc:// URL' })
      }
    }),
  SPARKLE_CORS_ORIGINS: csv,
  SPARKLE_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 512kb or 1mb')
    .default('1mb'),
  SPARKLE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SPARKLE_PREVIEW_IDLE_MS: z.coerce.number().int().min(1000).default(300_000),
  SPARKLE_PR_PROVIDER: z.enum(['github', 'gitlab']).optional(),
  SPARKLE_PR_REPO: z.string().optional(),
  SPARKLE_PR_TOKEN: z.string().optional(),
  SPARKLE_PR_API_URL: z.string().url().optional(),
  SPARKLE_WORKER: z.enum(['embedded', 'off']).optional(),
  SPARKLE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  SPARKLE_AUTHOR_NAME: z.string().default('Sparkle Studio'),
  SPARKLE_AUTHOR_EMAIL: z.string().default('studio@sparkle.invalid'),
  SPARKLE_ALLOWED_HOSTS: csv,
  SPARKLE_RATE_LIMIT: z
    .string()
    .regex(/^(?:off|\d+\/\d+[sm])$/, 'requests per window such as 600/60s or 1000/5m, or off')
    .default(`${SAFETY_DEFAULTS.requests}/${SAFETY_DEFAULTS.windowS}s`),
  SPARKLE_MAX_STREAMS: z.coerce.number().int().min(1).optional(),
  SPARKLE_MAX_STREAMS_PER_CALLER: z.coerce.number().int().min(1).default(SAFETY_DEFAULTS.maxStreamsPerCaller),
  SPARKLE_MAX_PREVIEWS_PER_CALLER: z.coerce.number().int().min(1).default(SAFETY_DEFAULTS.maxPreviewsPerCaller),
  SPARKLE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).default(SAFETY_DEFAULTS.requestTimeoutMs),
  SPARKLE_ADMIN_KEY: z.string().min(32, 'at least 32 characters').startsWith('sk_', 'must start with sk_').optional(),
  SPARKLE_METRICS_TOKEN: z
    .string()
    .min(32, 'at least 32 characters')
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
  SPARKLE_DAILY_CORE_SECONDS: z.coerce.number().min(0).optional(),
  SPARKLE_PIPELINE_BUDGETS: z
    .string()
    .regex(
      /^\s*(?:[a-z0-9][a-z0-9_-]*\s*=\s*\d+(?:\.\d+)?\s*(?:,\s*|$))*$/,
      'pipeline=core-seconds pairs, comma separated, such as orders=3600,revenue=600',
    )
    .optional(),
  SPARKLE_JWT_JWKS_URL: z.string().url().optional(),
  SPARKLE_JWT_PUBLIC_KEY: z.string().optional(),
  SPARKLE_JWT_ISSUER: z.string().optional(),
  SPARKLE_JWT_AUDIENCE: z.string().optional(),
  SPARKLE_JWT_ALGORITHMS: csv,
  SPARKLE_JWT_ROLE_CLAIM: z.string().default('role'),
  SPARKLE_READ_ROOTS: csv,
  SPARKLE_WRITE_ROOTS: csv,
  SPARKLE_JDBC_URLS: csv.refine((patterns) => patterns.every(isRegExp), 'regular expressions, comma separated'),
  SPARKLE_MAX_RUN_TIME: duration.optional(),
  SPARKLE_DEFAULT_RUN_TIME: duration.optional(),
  SPARKLE_MAX_BACKFILL_PARTITIONS: z.coerce.number().int().min(1).max(1_000_000).optional(),
  SPARKLE_MIN_SCHEDULE_INTERVAL: z.coerce.number().int().min(1).max(527_040).optional(),
  SPARKLE_ARTIFACTS_MAX_BYTES: z
    .string()
    .regex(/^\d+(b|kb|mb|gb)$/i, 'a size such as 512mb or 2gb')
    .optional(),
  SPARKLE_ARTIFACTS_DIR: z.string().optional(),
  SPARKLE_ARTIFACTS_S3_BUCKET: z.string().min(3).max(63).optional(),
  SPARKLE_ARTIFACTS_S3_PREFIX: z.string().max(512).optional(),
  SPARKLE_ARTIFACTS_S3_ENDPOINT: z.string().url().optional(),
  SPARKLE_ARTIFACTS_S3_REGION: z.string().min(1).max(64).optional(),
})

/** A server's configuration, as read from the environment by {@link loadServerConfig}. */
export interface ServerConfig {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  /** PostgreSQL URL of the run store; embedded PGlite in `dataDir/db` when absent. */
  readonly databaseUrl: string | undefined
  /** The pipelines repository (bare); `dataDir/repo.git` by default, created when missing. */
  readonly repoDir: string
  readonly branch: string
  /** A remote to clone from, pull from and push to. */
  readonly remote: string | undefined
  readonly sparkMaster: string
  /** The Spark Connect server runs and previews go to (`SPARK_REMOTE`); local or standalone Spark when absent. */
  readonly sparkRemote: ConnectionString | undefined
  readonly corsOrigins: readonly string[]
  /** Largest JSON body, in bytes. */
  readonly bodyLimit: number
  readonly logLevel: LogLevel
  readonly previewIdleMs: number
  readonly pullRequests:
    | {
        readonly provider: 'github' | 'gitlab'
        readonly repo: string
        readonly token: string
        readonly apiUrl: string | undefined
      }
    | undefined
  readonly author: { readonly name: string; readonly email: string }
  /**
   * `embedded` runs a worker inside the server process (the default with the embedded database, which one process
   * owns); `off` leaves runs to examples/worker processes (the default with PostgreSQL).
   */
  readonly worker: 'embedded' | 'off'
  readonly workerConcurrency: number
  /** Values of `SPARKLE_SECRET_*` variables, by secret name: what `{ "$secret": "NAME" }` resolves to. */
  readonly secrets: Readonly<Record<string, string>>
  /** `Host` names the API answers for besides the loopback names (`SPARKLE_ALLOWED_HOSTS`). */
  readonly allowedHosts: readonly string[]
  /** Requests per caller per window (`SPARKLE_RATE_LIMIT`), or `false` when it is `off`. */
  readonly rateLimit: { readonly requests: number; readonly windowS: number } | false
  /** Event streams open at once, all callers together (`SPARKLE_MAX_STREAMS`; 1000 with PostgreSQL, else 100). */
  readonly maxStreams: number
  /** Event streams one caller may hold open (`SPARKLE_MAX_STREAMS_PER_CALLER`). */
  readonly maxStreamsPerCaller: number
  /** Previews one caller may have running (`SPARKLE_MAX_PREVIEWS_PER_CALLER`). */
  readonly maxPreviewsPerCaller: number
  /** The longest a non-streaming request may take, in milliseconds; 0 for no limit (`SPARKLE_REQUEST_TIMEOUT_MS`). */
  readonly requestTimeoutMs: number
  /** Authentication: the operator's admin key (`SPARKLE_ADMIN_KEY`) and JWT settings (`SPARKLE_JWT_*`). */
  readonly authentication: AuthenticationOptions
  /**
   * What pipelines may do: core's default policy with the roots (`SPARKLE_READ_ROOTS`, `SPARKLE_WRITE_ROOTS`; by
   * default `dataDir/sample` and `dataDir/output`, and `dataDir/output`), JDBC URL patterns (`SPARKLE_JDBC_URLS`),
   * run times (`SPARKLE_DEFAULT_RUN_TIME`, `SPARKLE_MAX_RUN_TIME`), backfill and schedule limits
   * (`SPARKLE_MAX_BACKFILL_PARTITIONS`, `SPARKLE_MIN_SCHEDULE_INTERVAL` in minutes) the environment sets.
   */
  readonly policy: ExecutionPolicy
  /** Where data artifacts are stored, and the largest upload. */
  readonly artifacts: ArtifactsOptions
  /**
   * A bearer token that may read `GET /metrics` besides API keys and JWTs (`SPARKLE_METRICS_TOKEN`, at least 32
   * characters), for Prometheus; without it, scrapes need an API key or a JWT.
   */
  readonly metricsToken: string | undefined
  /**
   * Daily core-seconds budgets: the default (`SPARKLE_DAILY_CORE_SECONDS`) and per pipeline
   * (`SPARKLE_PIPELINE_BUDGETS`, `orders=3600,revenue=600`); none when neither is set.
   */
  readonly budgets: UsageBudgets | undefined
}

/** A root as the policy takes it: URIs (`s3a://bucket/raw/`) as they are, local paths made absolute. */
function rootOf(root: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(root) ? root : resolve(root)
}

function policyOf(e: z.output<typeof EnvSchema>, dataDir: string): ExecutionPolicy {
  const base = studioDefaultPolicy(dataDir)
  const maxRunTimeMs = e.SPARKLE_MAX_RUN_TIME ?? base.maxRunTimeMs
  if (e.SPARKLE_DEFAULT_RUN_TIME !== undefined && e.SPARKLE_DEFAULT_RUN_TIME > maxRunTimeMs) {
    throw new StudioError(
      'BAD_REQUEST',
      'Invalid configuration: SPARKLE_DEFAULT_RUN_TIME is longer than SPARKLE_MAX_RUN_TIME (6h unless set)',
    )
  }
  return Object.freeze({
    ...base,
    readRoots: Object.freeze(e.SPARKLE_READ_ROOTS.length > 0 ? e.SPARKLE_READ_ROOTS.map(rootOf) : base.readRoots),
    writeRoots: Object.freeze(e.SPARKLE_WRITE_ROOTS.length > 0 ? e.SPARKLE_WRITE_ROOTS.map(rootOf) : base.writeRoots),
    jdbcUrlPatterns: Object.freeze([...e.SPARKLE_JDBC_URLS]),
    defaultRunTimeMs: e.SPARKLE_DEFAULT_RUN_TIME ?? Math.min(base.defaultRunTimeMs, maxRunTimeMs),
    maxRunTimeMs,
    maxBackfillPartitions: e.SPARKLE_MAX_BACKFILL_PARTITIONS ?? base.maxBackfillPartitions,
    minScheduleIntervalMinutes: e.SPARKLE_MIN_SCHEDULE_INTERVAL ?? base.minScheduleIntervalMinutes,
  })
}

function authenticationOf(e: z.output<typeof EnvSchema>): AuthenticationOptions {
  const jwtSource = e.SPARKLE_JWT_JWKS_URL
    ? { jwksUrl: e.SPARKLE_JWT_JWKS_URL }
    : e.SPARKLE_JWT_PUBLIC_KEY
      ? { publicKey: e.SPARKLE_JWT_PUBLIC_KEY }
      : undefined
  if (jwtSource && (!e.SPARKLE_JWT_ISSUER || !e.SPARKLE_JWT_AUDIENCE || e.SPARKLE_JWT_ALGORITHMS.length === 0)) {
    throw new StudioError(
      'BAD_REQUEST',
      'Invalid configuration: JWTs need SPARKLE_JWT_ISSUER, SPARKLE_JWT_AUDIENCE and SPARKLE_JWT_ALGORITHMS (e.g. RS256)',
    )
  }
  return {
    ...(e.SPARKLE_ADMIN_KEY ? { adminKey: e.SPARKLE_ADMIN_KEY } : {}),
    ...(jwtSource
      ? {
          jwt: {
            ...jwtSource,
            issuer: e.SPARKLE_JWT_ISSUER ?? '',
            audience: e.SPARKLE_JWT_AUDIENCE ?? '',
            algorithms: e.SPARKLE_JWT_ALGORITHMS as JwtAuthenticatorOptions['algorithms'],
            roleClaim: e.SPARKLE_JWT_ROLE_CLAIM,
          },
        }
      : {}),
  }
}

function rateLimitOf(value: string): ServerConfig['rateLimit'] {
  const m = /^(\d+)\/(\d+)([sm])$/.exec(value)
  if (!m) return false
  return { requests: Number(m[1]), windowS: Number(m[2]) * (m[3] === 'm' ? 60 : 1) }
}

const UNIT_BYTES: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

function bytes(size: string): number {
  const m = /^(\d+)(b|kb|mb|gb)$/i.exec(size)
  return Number(m?.[1] ?? 0) * (UNIT_BYTES[m?.[2]?.toLowerCase() ?? 'b'] ?? 1)
}

/** Where artifacts are stored: S3 when a bucket is named (credentials from the AWS SDK's own environment), else a folder. */
function artifactsOf(e: z.output<typeof EnvSchema>, dataDir: string): ArtifactsOptions {
  const maxBytes = e.SPARKLE_ARTIFACTS_MAX_BYTES ? bytes(e.SPARKLE_ARTIFACTS_MAX_BYTES) : undefined
  const storage: ArtifactsOptions['storage'] = e.SPARKLE_ARTIFACTS_S3_BUCKET
    ? {
        kind: 's3',
        bucket: e.SPARKLE_ARTIFACTS_S3_BUCKET,
        ...(e.SPARKLE_ARTIFACTS_S3_PREFIX ? { prefix: e.SPARKLE_ARTIFACTS_S3_PREFIX } : {}),
        clientConfig: {
          ...(e.SPARKLE_ARTIFACTS_S3_ENDPOINT
            ? { endpoint: e.SPARKLE_ARTIFACTS_S3_ENDPOINT, forcePathStyle: true }
            : {}),
          ...(e.SPARKLE_ARTIFACTS_S3_REGION ? { region: e.SPARKLE_ARTIFACTS_S3_REGION } : {}),
        },
      }
    : { kind: 'local', root: resolve(e.SPARKLE_ARTIFACTS_DIR ?? `${dataDir}/artifacts`) }
  return { storage, ...(maxBytes !== undefined ? { maxBytes } : {}) }
}

/**
 * Reads and validates a server's configuration from environment variables: `HOST`, `PORT`, `SPARKLE_DATA_DIR`,
 * `DATABASE_URL`, `SPARKLE_REPO`, `SPARKLE_BRANCH`, `SPARKLE_REMOTE`, `SPARK_MASTER`, `SPARK_REMOTE` (an `sc://` Spark
 * Connect server: runs and previews go there), `SPARKLE_CORS_ORIGINS`,
 * `SPARKLE_BODY_LIMIT`, `SPARKLE_LOG_LEVEL`, `SPARKLE_PREVIEW_IDLE_MS`, `SPARKLE_PR_PROVIDER`, `SPARKLE_PR_REPO`,
 * `SPARKLE_PR_TOKEN`, `SPARKLE_PR_API_URL`, `SPARKLE_WORKER`, `SPARKLE_WORKER_CONCURRENCY`, `SPARKLE_AUTHOR_NAME`,
 * `SPARKLE_AUTHOR_EMAIL`, `SPARKLE_ALLOWED_HOSTS`, `SPARKLE_RATE_LIMIT` (`600/60s`, `1000/5m` or `off`),
 * `SPARKLE_MAX_STREAMS`, `SPARKLE_MAX_STREAMS_PER_CALLER`, `SPARKLE_MAX_PREVIEWS_PER_CALLER`,
 * `SPARKLE_REQUEST_TIMEOUT_MS` (0 for none), the execution policy's `SPARKLE_READ_ROOTS`, `SPARKLE_WRITE_ROOTS`,
 * `SPARKLE_JDBC_URLS` (comma lists), `SPARKLE_DEFAULT_RUN_TIME`, `SPARKLE_MAX_RUN_TIME` (`60m`, `6h`),
 * `SPARKLE_MAX_BACKFILL_PARTITIONS`, `SPARKLE_MIN_SCHEDULE_INTERVAL` (minutes), the artifact storage's
 * `SPARKLE_ARTIFACTS_MAX_BYTES` (`1gb`), `SPARKLE_ARTIFACTS_DIR`, `SPARKLE_ARTIFACTS_S3_BUCKET`,
 * `SPARKLE_ARTIFACTS_S3_PREFIX`, `SPARKLE_ARTIFACTS_S3_ENDPOINT`, `SPARKLE_ARTIFACTS_S3_REGION` (S3 credentials come
 * from the AWS SDK's own environment variables), `SPARKLE_METRICS_TOKEN` (a bearer token for `GET /metrics`), the
 * daily core-seconds budgets `SPARKLE_DAILY_CORE_SECONDS` and `SPARKLE_PIPELINE_BUDGETS` (`orders=3600,revenue=600`),
 * and every `SPARKLE_SECRET_<NAME>`.
 * @throws StudioError `BAD_REQUEST` listing every invalid variable (never their values).
 */
export function loadServerConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    throw new StudioError('BAD_REQUEST', `Invalid configuration: ${problems.join('; ')}`, { problems })
  }
  const e = parsed.data
  const dataDir = resolve(e.SPARKLE_DATA_DIR)
  let pullRequests: ServerConfig['pullRequests']
  if (e.SPARKLE_PR_PROVIDER) {
    if (!e.SPARKLE_PR_REPO || !e.SPARKLE_PR_TOKEN) {
      throw new StudioError(
        'BAD_REQUEST',
        'Invalid configuration: SPARKLE_PR_PROVIDER needs SPARKLE_PR_REPO and SPARKLE_PR_TOKEN',
      )
    }
    pullRequests = {
      provider: e.SPARKLE_PR_PROVIDER,
      repo: e.SPARKLE_PR_REPO,
      token: e.SPARKLE_PR_TOKEN,
      apiUrl: e.SPARKLE_PR_API_URL,
    }
  }
  const secrets: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('SPARKLE_SECRET_') && v !== undefined) secrets[k.slice('SPARKLE_SECRET_'.length)] = v
  }
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    repoDir: resolve(e.SPARKLE_REPO ?? `${dataDir}/repo.git`),
    branch: e.SPARKLE_BRANCH,
    remote: e.SPARKLE_REMOTE,
    sparkMaster: e.SPARK_MASTER,
    sparkRemote: e.SPARK_REMOTE ? parseConnectionString(e.SPARK_REMOTE) : undefined,
    corsOrigins: e.SPARKLE_CORS_ORIGINS,
    bodyLimit: bytes(e.SPARKLE_BODY_LIMIT),
    logLevel: e.SPARKLE_LOG_LEVEL,
    previewIdleMs: e.SPARKLE_PREVIEW_IDLE_MS,
    pullRequests,
    author: { name: e.SPARKLE_AUTHOR_NAME, email: e.SPARKLE_AUTHOR_EMAIL },
    worker: e.SPARKLE_WORKER ?? (e.DATABASE_URL ? 'off' : 'embedded'),
    workerConcurrency: e.SPARKLE_WORKER_CONCURRENCY,
    secrets,
    allowedHosts: e.SPARKLE_ALLOWED_HOSTS,
    rateLimit: rateLimitOf(e.SPARKLE_RATE_LIMIT),
    maxStreams:
      e.SPARKLE_MAX_STREAMS ?? (e.DATABASE_URL ? SAFETY_DEFAULTS.maxStreams : SAFETY_DEFAULTS.maxStreamsEmbedded),
    maxStreamsPerCaller: e.SPARKLE_MAX_STREAMS_PER_CALLER,
    maxPreviewsPerCaller: e.SPARKLE_MAX_PREVIEWS_PER_CALLER,
    requestTimeoutMs: e.SPARKLE_REQUEST_TIMEOUT_MS,
    authentication: authenticationOf(e),
    policy: policyOf(e, dataDir),
    artifacts: artifactsOf(e, dataDir),
    metricsToken: e.SPARKLE_METRICS_TOKEN,
    budgets: budgetsOf(e),
  })
}

function budgetsOf(e: z.output<typeof EnvSchema>): UsageBudgets | undefined {
  const pipelines: Record<string, number> = {}
  for (const pair of (e.SPARKLE_PIPELINE_BUDGETS ?? '').split(',')) {
    const [name, seconds] = pair.split('=').map((part) => part.trim())
    if (name && seconds) pipelines[name] = Number(seconds)
  }
  if (e.SPARKLE_DAILY_CORE_SECONDS === undefined && Object.keys(pipelines).length === 0) return undefined
  return {
    ...(e.SPARKLE_DAILY_CORE_SECONDS !== undefined ? { default: e.SPARKLE_DAILY_CORE_SECONDS } : {}),
    ...(Object.keys(pipelines).length > 0 ? { pipelines } : {}),
  }
}

/** The pull request provider a configuration names, if any. */
export function pullRequestProvider(config: Pick<ServerConfig, 'pullRequests'>): PullRequestProvider | undefined {
  const pr = config.pullRequests
  if (pr?.provider === 'github') {
    const [owner, repo, ...rest] = pr.repo.split('/')
    if (!owner || !repo || rest.length > 0) {
      throw new StudioError('BAD_REQUEST', 'Invalid configuration: SPARKLE_PR_REPO must be owner/repo for GitHub')
    }
    return new GitHubProvider({ owner, repo, token: pr.token, ...(pr.apiUrl ? { baseUrl: pr.apiUrl } : {}) })
  }
  if (pr?.provider === 'gitlab') {
    return new GitLabProvider({ baseUrl: pr.apiUrl ?? 'https://gitlab.com', projectId: pr.repo, token: pr.token })
  }
  return undefined
}

/** The options of {@link createStudio} a configuration describes (the logger is the caller's). */
export function studioOptions(config: ServerConfig): StudioOptions {
  return {
    dataDir: config.dataDir,
    repository: {
      dir: config.repoDir,
      branch: config.branch,
      ...(config.remote ? { remote: config.remote } : {}),
      identity: config.author,
    },
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    spark: {
      master: config.sparkMaster,
      previewIdleMs: config.previewIdleMs,
      ...(config.sparkRemote ? { remote: config.sparkRemote } : {}),
    },
    secrets: config.secrets,
    pullRequests: pullRequestProvider(config),
    authentication: config.authentication,
    policy: config.policy,
    artifacts: config.artifacts,
    ...(config.budgets ? { budgets: config.budgets } : {}),
  }
}

/** The `Host` name of a bind address, or `undefined` for loopback and wildcard addresses (accepted or meaningless). */
function boundHostName(host: string): string | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (['localhost', '0.0.0.0', '::', '::1', ''].includes(bare) || /^127\./.test(bare)) return undefined
  return bare.includes(':') ? `[${bare}]` : bare
}

/**
 * The options of the HTTP adapters a configuration describes: body limit, CORS origins, allowed hosts (with the
 * bound `host` when it is not loopback), rate limits (shared over PostgreSQL when `databaseUrl` is set), caps and
 * the request time limit.
 *
 * @example
 * ```ts
 * import { createStudio, handlerOptions, loadServerConfig, studioOptions, studioRouter } from '@sparkle-studio/server'
 *
 * const config = loadServerConfig()
 * const router = studioRouter(await createStudio(studioOptions(config)), handlerOptions(config))
 * ```
 */
export function handlerOptions(config: ServerConfig): HandlerOptions {
  const bound = boundHostName(config.host)
  return {
    bodyLimit: config.bodyLimit,
    corsOrigins: config.corsOrigins,
    allowedHosts: bound && !config.allowedHosts.includes(bound) ? [...config.allowedHosts, bound] : config.allowedHosts,
    rateLimit:
      config.rateLimit === false
        ? false
        : { ...config.rateLimit, ...(config.databaseUrl ? { store: { postgresUrl: config.databaseUrl } } : {}) },
    maxStreams: config.maxStreams,
    maxStreamsPerCaller: config.maxStreamsPerCaller,
    maxPreviewsPerCaller: config.maxPreviewsPerCaller,
    requestTimeoutMs: config.requestTimeoutMs === 0 ? false : config.requestTimeoutMs,
  }
}
