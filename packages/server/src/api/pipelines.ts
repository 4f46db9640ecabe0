import { compilePipeline, hasErrorCode, StudioError, validatePipeline } from '@sparkle-studio/core'
import type { CommitSummary } from '@sparkle-studio/git'
import { utcDayStart } from '@sparkle-studio/runs'
import type { StudioParts } from '../parts.ts'
import { compileIssues, savePolicyIssues, underPolicy } from '../policy.ts'
import { authorOf, hasRole } from '../principal.ts'
import type { UseCases } from './types.ts'

type PipelineCases = Pick<
  UseCases,
  | 'listTemplates'
  | 'listPipelines'
  | 'createPipeline'
  | 'getPipeline'
  | 'savePipeline'
  | 'deletePipeline'
  | 'exportPipeline'
  | 'pipelineHistory'
  | 'pipelineDiff'
  | 'validatePipeline'
  | 'pipelinePlan'
  | 'pipelineUsage'
>

const DAY_MS = 86_400_000

/** A commit as the API shows it (git's commit summary). */
export function commitDto(c: CommitSummary) {
  return { commit: c.commit, author: { name: c.author.name, email: c.author.email }, date: c.date, message: c.message }
}

/**
 * What an `If-Match` header asks for: the blob (or commit) id of the ETag it names, strong (`"<blob>"`) or weak
 * (`W/"<blob>"`: the server's ETags are strong, so both name the same version), a bare id, `'*'` (any version), or
 * `undefined` when there is none.
 */
export function expectedFromIfMatch(header: string | undefined): string | undefined {
  const value = header?.trim()
  if (!value) return undefined
  return value === '*' ? '*' : value.replace(/^W\//, '').replaceAll('"', '')
}

/**
 * The `PRECONDITION_REQUIRED` error of a write to an existing pipeline that names no version and is not forced.
 * `how` says where the version goes: the `If-Match` header (the default) or a commit change's `expected`.
 */
export function preconditionRequired(
  name: string,
  what: 'overwrite' | 'delete',
  details: unknown,
  how = 'send If-Match with the ETag of your GET',
): StudioError {
  return new StudioError(
    'PRECONDITION_REQUIRED',
    `pipeline "${name}" exists: to ${what} it, ${how} (so that nobody's newer save is lost), or force=true to ${what} whatever version is there`,
    details,
  )
}

/** Run params from a query string value: a JSON object. */
export function parseParamsQuery(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // Reported below.
  }
  throw new StudioError('BAD_REQUEST', 'params must be a JSON object, e.g. {"ds":"2026-11-01"}')
}

/** A copy of `value` with the data folder's absolute path replaced by `<data>` in every string. */
function maskPaths<T>(value: T, dataDir: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll(JSON.stringify(dataDir).slice(1, -1), '<data>')) as T
}

/** Pipelines in git: templates, list, create, read, save, delete, export, history, diff, validation and plans. */
export function pipelineUseCases(
  parts: Pick<
    StudioParts,
    | 'registry'
    | 'pipelines'
    | 'templates'
    | 'log'
    | 'dataDir'
    | 'policy'
    | 'artifacts'
    | 'webhooks'
    | 'runs'
    | 'budgets'
  >,
): PipelineCases {
  const { registry, pipelines, templates, log, dataDir, policy, webhooks } = parts
  return {
    // Templates carry the server's sample and output folders as param defaults: shown as `<data>/…`, never absolute.
    listTemplates: async () => templates.map((t) => maskPaths(t, dataDir)) as never,
    listPipelines: async ({ query }, { signal }) => {
      const list = await pipelines.list({ ...(query.ref ? { ref: query.ref } : {}), signal })
      for (const p of list.problems) log.warn('unreadable pipeline file', { name: p.name, path: p.path, code: p.code })
      return list.pipelines.map((p) => ({
        name: p.name,
        ...(p.description ? { description: p.description } : {}),
        tags: [...p.tags],
        ...(p.lastCommit ? { lastCommit: commitDto(p.lastCommit) } : {}),
      }))
    },
    createPipeline: async ({ body }, { signal, principal }) => {
      let document: unknown = body.document
      if (body.template !== undefined) {
        const template = templates.find((t) => t.name === body.template)
        if (!template) {
          throw new StudioError('NOT_FOUND', `template ${body.template} does not exist`, {
            templates: templates.map((t) => t.name),
          })
        }
        document = structuredClone(template.document)
      }
      const named = { ...(document as Record<string, unknown>), name: body.name }
      const saved = await pipelines.save(body.name, named, {
        expected: null,
        message: body.message ?? `Create ${body.name}${body.template ? ` from template ${body.template}` : ''}`,
        author: authorOf(principal),
        signal,
      })
      await webhooks.emitPipeline('pipeline.saved', {
        pipeline: body.name,
        revision: saved.commit,
        blob: saved.blob ?? undefined,
        created: true,
        by: principal.id,
      })
      return { name: body.name, revision: saved.commit, blob: saved.blob ?? '', commit: commitDto(saved) }
    },
    getPipeline: async ({ params, query }, { signal }) => {
      const p = await pipelines.get(params.name, { ...(query.ref ? { ref: query.ref } : {}), signal })
      return {
        name: p.name,
        document: p.document as unknown as Record<string, unknown>,
        revision: p.revision,
        blob: p.blob,
      }
    },
    // A save names the version it replaces (If-Match), or asks to create (If-None-Match: *, or nothing at all), or is
    // forced. Without a precondition it is saved as a creation, so that the store's own check (atomic, under its lock)
    // tells a new pipeline from an existing one, which is then a 428 rather than a silent overwrite.
    savePipeline: async ({ params, query, headers, body }, { signal, principal }) => {
      const ifMatch = expectedFromIfMatch(headers['if-match'])
      let expected: string | null | undefined
      if (ifMatch === '*') {
        const current = await pipelines.get(params.name, { signal }).catch((error: unknown) => {
          if (!hasErrorCode(error, 'NOT_FOUND')) throw error
          throw new StudioError('CONFLICT', `pipeline "${params.name}" does not exist; If-Match: * only updates`, {
            name: params.name,
            currentBlob: null,
          })
        })
        expected = current.blob
      } else if (ifMatch !== undefined) expected = ifMatch
      else if (query.force && headers['if-none-match'] !== '*') expected = undefined
      else expected = null
      const blind = ifMatch === undefined && headers['if-none-match'] !== '*'
      try {
        const saved = await pipelines.save(params.name, body.document, {
          ...(expected !== undefined ? { expected } : {}),
          message: body.message ?? `Update ${params.name}`,
          author: authorOf(principal),
          signal,
        })
        await webhooks.emitPipeline('pipeline.saved', {
          pipeline: params.name,
          revision: saved.commit,
          blob: saved.blob ?? undefined,
          // A forced save does not say whether the pipeline existed.
          created: expected === null ? true : expected === undefined ? undefined : false,
          by: principal.id,
        })
        return { name: params.name, revision: saved.commit, blob: saved.blob ?? '', commit: commitDto(saved) }
      } catch (error) {
        if (blind && hasErrorCode(error, 'CONFLICT') && (error.details as { currentBlob?: unknown })?.currentBlob) {
          throw preconditionRequired(params.name, 'overwrite', error.details)
        }
        throw error
      }
    },
    deletePipeline: async ({ params, query, headers }, { signal, principal }) => {
      const ifMatch = expectedFromIfMatch(headers['if-match'])
      if (ifMatch === undefined && !query.force) {
        // A missing pipeline stays a 404; an existing one needs the version being deleted.
        const current = await pipelines.get(params.name, { signal })
        throw preconditionRequired(params.name, 'delete', {
          name: params.name,
          currentRevision: current.revision,
          currentBlob: current.blob,
        })
      }
      const result = await pipelines.delete(params.name, {
        ...(ifMatch !== undefined && ifMatch !== '*' ? { expected: ifMatch } : {}),
        message: `Delete ${params.name}`,
        author: authorOf(principal),
        signal,
      })
      await webhooks.emitPipeline('pipeline.deleted', {
        pipeline: params.name,
        revision: result.commit,
        by: principal.id,
      })
      return { name: params.name, commit: result.commit }
    },
    exportPipeline: async ({ params }, { signal }) => {
      await pipelines.get(params.name, { signal })
      const pushed = await pipelines.export({ signal })
      return { name: params.name, branch: pushed.branch, commit: pushed.commit }
    },
    pipelineHistory: async ({ params, query }, { signal }) => {
      const entries = await pipelines.history(params.name, {
        ...(query.limit ? { limit: query.limit } : {}),
        ...(query.ref ? { ref: query.ref } : {}),
        signal,
      })
      if (entries.length === 0) throw new StudioError('NOT_FOUND', `pipeline ${params.name} has no history`)
      return entries.map(commitDto)
    },
    pipelineDiff: async ({ params, query }, { signal }) => {
      const diff = await pipelines.diff(params.name, query.from, query.to ?? pipelines.branch, { signal })
      return diff as unknown as Record<string, unknown>
    },
    validatePipeline: async ({ params, body }, { signal }) => {
      const document = body?.document ?? (await pipelines.get(params.name, { signal })).document
      const mode = body?.mode ?? 'run'
      const result = validatePipeline(document, registry, { mode })
      const issues = [...(result.ok ? [] : result.issues), ...savePolicyIssues(document, policy)]
      // A valid document is compiled as a run or preview would be (declared defaults for params): what the policy
      // refuses only after params are filled in (paths outside the roots) shows here. A param without a default is the
      // caller's to give at run time, not a problem of the document.
      if (issues.length === 0) {
        try {
          compilePipeline(document, registry, {
            mode,
            artifacts: await parts.artifacts.locations(document),
            ...underPolicy(policy),
          })
        } catch (error) {
          const found = compileIssues(error)
          if (!found) throw error
          issues.push(...found.filter((i) => i.code !== 'missing_param'))
        }
      }
      return issues.length === 0 ? { valid: true, issues: [] } : { valid: false, issues }
    },
    // Usage outlives the pipeline (a deleted pipeline's runs used the cluster too): no check that it exists.
    pipelineUsage: async ({ params, query }, { signal }) => {
      const days = query.days ?? 7
      const today = utcDayStart(new Date())
      const from = new Date(today.getTime() - (days - 1) * DAY_MS)
      const to = new Date(today.getTime() + DAY_MS)
      const budget = parts.budgets?.pipelines?.[params.name] ?? parts.budgets?.default
      return {
        pipeline: params.name,
        ...(budget !== undefined ? { budget: { coreSecondsPerDay: budget } } : {}),
        days: await parts.runs.dailyUsage(params.name, { from, to }, { signal }),
      }
    },
    pipelinePlan: async ({ params, query }, { signal, principal }) => {
      const stored = await pipelines.get(params.name, { ...(query.ref ? { ref: query.ref } : {}), signal })
      const { policy: enforced, ...plan } = compilePipeline(stored.document, registry, {
        mode: query.mode ?? 'run',
        revision: stored.revision,
        params: parseParamsQuery(query.params),
        artifacts: await parts.artifacts.locations(stored.document),
        ...underPolicy(policy),
      })
      // The roots name the server's folders: shown to editors (as GET /policy is), not to viewers, who see the data
      // folder (where uploaded artifacts are read from) as `<data>`.
      if (!hasRole(principal, 'editor')) return maskPaths(plan, dataDir) as never
      return (enforced ? { ...plan, policy: enforced } : plan) as never
    },
  }
}
