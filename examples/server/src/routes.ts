// The API's handlers: thin glue from the contract's routes to the packages.
import {
  type ComponentType,
  compilePipeline,
  type ListComponentsFilter,
  type PipelineDocument,
  SDK_VERSION,
  StudioError,
  validatePipeline,
} from '@sparkle-studio/core'
import { api } from '@sparkle-studio/core/contract'
import type { CommitSummary, PipelineHistoryEntry } from '@sparkle-studio/git'
import type { RunEvent } from '@sparkle-studio/spark/store'
import { Router } from 'express'
import { backfillDto, runDto } from './dto.ts'
import { mount } from './http.ts'
import type { Services } from './services.ts'
import { streamRunEvents } from './sse.ts'

const commitDto = (c: CommitSummary | PipelineHistoryEntry) => {
  const sha = 'sha' in c ? c.sha : c.commit
  return { sha, author: c.author.name, email: c.author.email, date: c.date, message: c.message }
}

function parseParamsQuery(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // Reported below.
  }
  throw new StudioError('BAD_REQUEST', 'params must be a JSON object, e.g. {"ds":"2026-11-01"}')
}

/** A date-only `end` (2026-11-05) includes that day: the store's range end is exclusive, so it gets the next day. */
function inclusiveEnd(end: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(end)) return end
  const next = new Date(`${end}T00:00:00Z`)
  if (Number.isNaN(next.getTime())) return end
  next.setUTCDate(next.getUTCDate() + 1)
  return next.toISOString().slice(0, 10)
}

/** The API router: every route of the contract, mounted under `/api/v1` by the app. */
export function apiRouter(services: Services): Router {
  const { registry, pipelines, runs, log } = services
  const router = Router()

  mount(router, api.health, async () => {
    const checks: {
      spark: { ok: boolean; version?: string; java?: string; detail?: string }
      git: { ok: boolean; branch?: string; detail?: string }
      database: { ok: boolean; dialect?: string; detail?: string }
    } = { spark: { ok: false }, git: { ok: false }, database: { ok: false } }
    await Promise.all([
      services.spark().then(
        (r) => {
          checks.spark = { ok: true, version: r.sparkVersion, java: r.javaVersion }
        },
        (e: unknown) => {
          checks.spark = { ok: false, detail: (e as Error).message }
        },
      ),
      pipelines.list({ lastCommit: false }).then(
        () => {
          checks.git = { ok: true, branch: pipelines.branch }
        },
        (e: unknown) => {
          checks.git = { ok: false, detail: (e as Error).message }
        },
      ),
      runs.list({ limit: 1 }).then(
        () => {
          checks.database = { ok: true, dialect: services.database.dialect }
        },
        (e: unknown) => {
          checks.database = { ok: false, detail: (e as Error).message }
        },
      ),
    ])
    const ok = checks.spark.ok && checks.git.ok && checks.database.ok
    return { status: ok ? ('ok' as const) : ('degraded' as const), version: SDK_VERSION, checks }
  })

  // Components
  mount(router, api.listComponents, async ({ query }) => registry.list(query as ListComponentsFilter) as never)
  mount(router, api.componentCategories, async () => registry.categories() as never)
  mount(
    router,
    api.searchComponents,
    async ({ query }) => registry.search(query.q, query.limit ? { limit: query.limit } : {}) as never,
  )
  mount(router, api.getComponent, async ({ params, query }) => {
    const c = registry.get(params.type as ComponentType, params.name, query.version)
    if (!c)
      throw new StudioError(
        'NOT_FOUND',
        `component ${params.type}/${params.name}${query.version ? `@${query.version}` : ''} is not registered`,
      )
    return registry.detail(c.ref, query.draft ? { draft: query.draft } : {}) as never
  })
  mount(router, api.validateComponentConfig, async ({ params, query, body }) => {
    const c = registry.get(params.type as ComponentType, params.name, query.version)
    if (!c) throw new StudioError('NOT_FOUND', `component ${params.type}/${params.name} is not registered`)
    const result = registry.validateConfig(c.ref, body.config)
    return result.ok ? { valid: true, config: result.config, issues: [] } : { valid: false, issues: [...result.issues] }
  })

  // Pipelines
  mount(router, api.listTemplates, async () => services.templates.map((t) => ({ ...t })) as never)
  mount(router, api.listPipelines, async ({ query }, { signal }) => {
    const list = await pipelines.list({ ...(query.ref ? { ref: query.ref } : {}), signal })
    for (const p of list.problems) log.warn('unreadable pipeline file', { name: p.name, path: p.path, code: p.code })
    return list.pipelines.map((p) => ({
      name: p.name,
      ...(p.description ? { description: p.description } : {}),
      tags: [...p.tags],
      ...(p.lastCommit ? { lastCommit: commitDto(p.lastCommit) } : {}),
    }))
  })
  mount(router, api.createPipeline, async ({ body }, { signal }) => {
    let document: unknown = body.document
    if (body.template !== undefined) {
      const template = services.templates.find((t) => t.name === body.template)
      if (!template)
        throw new StudioError('NOT_FOUND', `template ${body.template} does not exist`, {
          templates: services.templates.map((t) => t.name),
        })
      document = structuredClone(template.document)
    }
    const named = { ...(document as Record<string, unknown>), name: body.name }
    const saved = await pipelines.save(body.name, named, {
      expected: null,
      message: body.message ?? `Create ${body.name}${body.template ? ` from template ${body.template}` : ''}`,
      signal,
    })
    const [last] = await pipelines.history(body.name, { limit: 1, signal })
    if (!last) throw new StudioError('INTERNAL', 'the new commit is missing from history')
    return { name: body.name, revision: saved.commit, blob: saved.blob ?? '', commit: commitDto(last) }
  })
  mount(router, api.getPipeline, async ({ params, query }, { signal }) => {
    const p = await pipelines.get(params.name, { ...(query.ref ? { ref: query.ref } : {}), signal })
    return {
      name: p.name,
      document: p.document as unknown as Record<string, unknown>,
      revision: p.revision,
      blob: p.blob,
    }
  })
  mount(router, api.savePipeline, async ({ params, headers, body }, { signal }) => {
    const expected = headers['if-match']?.replace(/^W\//, '').replaceAll('"', '')
    const saved = await pipelines.save(params.name, body.document, {
      ...(expected ? { expected } : {}),
      message: body.message ?? `Update ${params.name}`,
      signal,
    })
    const [last] = await pipelines.history(params.name, { limit: 1, signal })
    if (!last) throw new StudioError('INTERNAL', 'the new commit is missing from history')
    return { name: params.name, revision: saved.commit, blob: saved.blob ?? '', commit: commitDto(last) }
  })
  mount(router, api.deletePipeline, async ({ params, headers }, { signal }) => {
    const expected = headers['if-match']?.replaceAll('"', '')
    const result = await pipelines.delete(params.name, {
      ...(expected ? { expected } : {}),
      message: `Delete ${params.name}`,
      signal,
    })
    return { name: params.name, revision: result.commit }
  })
  mount(router, api.exportPipeline, async ({ params }, { signal }) => {
    await pipelines.get(params.name, { signal })
    const pushed = await pipelines.export({ signal })
    return { name: params.name, sha: pushed.commit, branch: pushed.branch }
  })
  mount(router, api.pipelineHistory, async ({ params, query }, { signal }) => {
    const entries = await pipelines.history(params.name, {
      ...(query.limit ? { limit: query.limit } : {}),
      ...(query.ref ? { ref: query.ref } : {}),
      signal,
    })
    if (entries.length === 0) throw new StudioError('NOT_FOUND', `pipeline ${params.name} has no history`)
    return entries.map(commitDto)
  })
  mount(router, api.pipelineDiff, async ({ params, query }, { signal }) => {
    const diff = await pipelines.diff(params.name, query.from, query.to ?? pipelines.branch, { signal })
    return diff as unknown as Record<string, unknown>
  })
  mount(router, api.validatePipeline, async ({ params, body }, { signal }) => {
    const document = body?.document ?? (await pipelines.get(params.name, { signal })).document
    const result = validatePipeline(document, registry, { mode: body?.mode ?? 'run' })
    return result.ok ? { valid: true, issues: [] } : { valid: false, issues: [...result.issues] }
  })
  mount(router, api.pipelinePlan, async ({ params, query }, { signal }) => {
    const stored = await pipelines.get(params.name, { ...(query.ref ? { ref: query.ref } : {}), signal })
    const plan = compilePipeline(stored.document, registry, {
      mode: query.mode ?? 'run',
      revision: stored.revision,
      params: parseParamsQuery(query.params),
    })
    return plan as never
  })

  // Execution
  mount(router, api.dryRun, async ({ body }, { signal }) => {
    let document: unknown = body.document
    let revision: string | undefined
    if (body.pipeline !== undefined) {
      const stored = await pipelines.get(body.pipeline, { ...(body.ref ? { ref: body.ref } : {}), signal })
      document = stored.document
      revision = stored.revision
    }
    const plan = compilePipeline(document, registry, {
      mode: 'preview',
      previewLimit: body.limit ?? 100,
      ...(body.params ? { params: body.params } : {}),
      ...(revision ? { revision } : {}),
    })
    const session = await services.preview()
    const result = await session.preview(plan, { limit: body.limit ?? 100, signal })
    return {
      pipeline: plan.pipeline,
      plan: plan as never,
      durationMs: result.durationMs,
      nodes: result.nodes.map((n) =>
        n.ok
          ? { nodeId: n.nodeId, schema: [...n.schema], rows: [...n.rows], truncated: n.truncated }
          : { nodeId: n.nodeId, error: { errorClass: n.error.errorClass, message: n.error.message } },
      ),
    }
  })
  mount(router, api.run, async ({ body }, { signal }) => {
    const stored = await pipelines.get(body.pipeline, { ...(body.ref ? { ref: body.ref } : {}), signal })
    // Compile now so that a run that cannot start is refused here, with every problem, rather than failing later.
    compilePipeline(stored.document, registry, { params: body.params, revision: stored.revision })
    const { run } = await runs.enqueue(
      {
        pipeline: body.pipeline,
        revision: stored.revision,
        params: body.params ?? {},
        ...(body.idempotencyKey ? { idempotencyKey: body.idempotencyKey } : {}),
        ...(body.priority !== undefined ? { priority: body.priority } : {}),
        ...(body.maxAttempts !== undefined ? { maxAttempts: body.maxAttempts } : {}),
      },
      { signal },
    )
    return runDto(run)
  })
  mount(router, api.backfill, async ({ body }, { signal }) => {
    const stored = await pipelines.get(body.pipeline, { ...(body.ref ? { ref: body.ref } : {}), signal })
    const created = await runs.createBackfill(
      {
        pipeline: body.pipeline,
        revision: stored.revision,
        start: body.start,
        end: inclusiveEnd(body.end),
        grain: body.grain,
        ...(body.timezone ? { timezone: body.timezone } : {}),
        ...(body.reprocess ? { reprocess: body.reprocess } : {}),
        ...(body.concurrency ? { concurrency: body.concurrency } : {}),
        ...(body.order ? { order: body.order } : {}),
        ...(body.params ? { params: body.params } : {}),
        ...(body.dryRun ? { dryRun: true } : {}),
      },
      { signal },
    )
    if (created.dryRun || !created.backfill) {
      return {
        dryRun: true as const,
        partitions: created.partitions.map((p) => ({
          key: p.key,
          params: { start: p.start.toISOString(), end: p.end.toISOString(), action: p.action },
        })),
      }
    }
    const summary = await runs.getBackfill(created.backfill.id, { signal })
    return backfillDto(
      summary,
      created.partitions.map((p) => p.runId).filter((id): id is string => id !== null),
    )
  })
  mount(router, api.listExecutions, async ({ query }, { signal }) => {
    const page = await runs.list({
      ...(query.pipeline ? { pipeline: query.pipeline } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.backfill ? { backfillId: query.backfill } : {}),
      ...(query.since ? { createdAfter: new Date(query.since) } : {}),
      ...(query.until ? { createdBefore: new Date(query.until) } : {}),
      ...(query.limit ? { limit: query.limit } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
      signal,
    })
    return { items: page.runs.map((r) => runDto(r)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })
  mount(router, api.getExecution, async ({ params }, { signal }) => {
    const run = await runs.get(params.id, { signal })
    const [attempts, events] = await Promise.all([
      runs.attempts(params.id, { signal }),
      runs.events(params.id, { types: ['spark', 'progress'], signal }),
    ])
    return runDto(run, { attempts, events })
  })
  mount(router, api.executionLogs, async ({ params, query }, { signal }) => {
    const run = await runs.get(params.id, { signal })
    const attempts = await runs.attempts(params.id, { signal })
    const last = attempts.at(-1)
    if (!last?.submissionId)
      return {
        text: '',
        nextOffset: 0,
        complete: run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled',
      }
    const submitter = await services.submitter()
    const chunk = await submitter.logs(last.submissionId, {
      ...(query.offset !== undefined ? { offset: query.offset } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
    })
    return { text: chunk.text, nextOffset: chunk.nextOffset, complete: chunk.complete }
  })
  mount(router, api.executionEvents, async ({ params, query }, ctx) => {
    await runs.get(params.id, { signal: ctx.signal })
    const lastEventId = ctx.req.get('last-event-id')
    const after =
      lastEventId && /^\d+$/.test(lastEventId)
        ? lastEventId
        : query.after !== undefined
          ? String(query.after)
          : undefined
    await streamRunEvents(services, params.id, after, ctx)
    return undefined
  })
  mount(router, api.cancelExecution, async ({ params }, { signal }) => runDto(await runs.cancel(params.id, { signal })))
  mount(router, api.retryExecution, async ({ params }, { signal }) => runDto(await runs.retry(params.id, { signal })))
  mount(router, api.getBackfill, async ({ params }, { signal }) =>
    backfillDto(await runs.getBackfill(params.id, { signal })),
  )

  // Git
  mount(router, api.gitStatus, async (_input, { signal }) => {
    const s = await pipelines.status({ signal })
    return {
      branch: s.branch,
      ...(s.commit ? { head: s.commit } : {}),
      remote: s.remote,
      ahead: s.ahead,
      behind: s.behind,
    }
  })
  mount(router, api.listBranches, async (_input, { signal }) =>
    (await pipelines.listBranches({ signal })).map((b) => ({ name: b.name, head: b.commit, current: b.current })),
  )
  mount(router, api.createBranch, async ({ body }, { signal }) => {
    const b = await pipelines.createBranch(body.name, { ...(body.from ? { from: body.from } : {}), signal })
    return { name: b.name, head: b.commit, current: b.current }
  })
  mount(router, api.commit, async ({ body }, { signal }) => {
    const result = await pipelines.commit(
      body.changes.map((c) => ({
        name: c.name,
        document: c.document as PipelineDocument | null,
        ...(c.expected !== undefined ? { expected: c.expected } : {}),
      })),
      { message: body.message, ...(body.branch ? { branch: body.branch } : {}), signal },
    )
    const [last] = await pipelines.history(body.changes[0]?.name ?? '', {
      limit: 1,
      ...(body.branch ? { ref: body.branch } : {}),
      signal,
    })
    return {
      commit: last
        ? commitDto(last)
        : {
            sha: result.commit,
            author: services.config.author.name,
            date: new Date().toISOString(),
            message: body.message,
          },
      names: body.changes.map((c) => c.name),
    }
  })
  mount(router, api.pull, async ({ body }, { signal }) => {
    const r = await pipelines.pull({ ...(body?.rebase ? { rebase: true } : {}), signal })
    return { head: r.commit, updated: r.status === 'fast-forward' || r.status === 'rebased' }
  })
  mount(router, api.push, async ({ body }, { signal }) => {
    const r = await pipelines.push({ ...(body?.branch ? { branch: body.branch } : {}), signal })
    return { branch: r.branch, sha: r.commit }
  })
  mount(router, api.createPullRequest, async ({ body }, { signal }) => {
    if (!services.provider) {
      throw new StudioError(
        'NOT_FOUND',
        'No hosting provider is configured: set SPARKLE_PR_PROVIDER, SPARKLE_PR_REPO and SPARKLE_PR_TOKEN',
      )
    }
    return services.provider.createPullRequest({
      head: body.head,
      base: body.base ?? pipelines.branch,
      title: body.title,
      ...(body.body !== undefined ? { body: body.body } : {}),
      ...(body.draft !== undefined ? { draft: body.draft } : {}),
      signal,
    }) as never
  })
  return router
}

/** Run events as SSE messages (exported for tests). */
export function sseMessage(e: Pick<RunEvent, 'id' | 'type' | 'payload'>): string {
  const event = e.type === 'status' || e.type === 'log' ? e.type : 'event'
  return `id: ${e.id}\nevent: ${event}\ndata: ${JSON.stringify({ id: Number(e.id), type: e.type, payload: e.payload })}\n\n`
}
