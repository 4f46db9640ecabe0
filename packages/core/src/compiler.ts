import type { CompileContext, CompiledNode, ComponentDefinition } from './component.ts'
import type { ParsedPipelineDocument } from './document.ts'
import { isStudioError } from './errors.ts'
import { paramLiteral, type ResolvedParam, resolveParams, substituteParams } from './params.ts'
import type { ExecutionPlan, PlanStep } from './plan.ts'
import type { ComponentRegistry } from './registry.ts'
import { checkSqlFragment, quoteIdent } from './sql.ts'
import { sqlPaths } from './ui-schema.ts'
import { validatePipeline } from './validate-pipeline.ts'
import { ValidationError } from './validation-issue.ts'

/** The default number of rows a preview shows per node. */
export const DEFAULT_PREVIEW_LIMIT = 100
/** The most rows a preview may show per node. */
export const MAX_PREVIEW_LIMIT = 1000
/** The default number of rows a preview reads from each source. */
export const DEFAULT_SAMPLE_LIMIT = 1000

/** Options of {@link compilePipeline}. */
export interface CompileOptions {
  /**
   * `run` writes sinks; `preview` samples sources, skips sinks and quality checks, and adds a query per node.
   * @default 'run'
   */
  readonly mode?: 'run' | 'preview' | undefined
  /** Run parameter values; declared defaults fill the rest. */
  readonly params?: Readonly<Record<string, unknown>> | undefined
  /** The git revision the document was read at, recorded in the plan. */
  readonly revision?: string | undefined
  /**
   * Preview: rows shown per node (1 to {@link MAX_PREVIEW_LIMIT}).
   * @default 100
   */
  readonly previewLimit?: number | undefined
  /**
   * Preview: rows read from each source.
   * @default 1000
   */
  readonly sampleLimit?: number | undefined
}

/** The Spark temporary view that holds a node's result. */
export function viewName(nodeId: string): string {
  return quoteIdent(`sparkle_${nodeId}`)
}

function matchesPattern(pointer: string, pattern: string): boolean {
  const a = pointer.split('/')
  const b = pattern.split('/')
  return a.length === b.length && b.every((seg, i) => seg === '*' || seg === a[i])
}

function substituteConfig(
  value: unknown,
  params: Readonly<Record<string, ResolvedParam>>,
  sqlPatterns: readonly string[],
  pointer = '',
): unknown {
  if (typeof value === 'string') {
    return substituteParams(
      value,
      params,
      sqlPatterns.some((p) => matchesPattern(pointer, p)),
    )
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteConfig(v, params, sqlPatterns, `${pointer}/${i}`))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      out[k] = substituteConfig(v, params, sqlPatterns, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    }
    return out
  }
  return value
}

/** Nodes in topological order; ties keep document order, so the same document always gives the same order. */
function topologicalOrder(document: ParsedPipelineDocument): string[] {
  const position = new Map(document.nodes.map((n, i) => [n.id, i]))
  const indegree = new Map(document.nodes.map((n) => [n.id, 0]))
  const next = new Map<string, string[]>()
  for (const e of document.edges) {
    indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1)
    next.set(e.source, [...(next.get(e.source) ?? []), e.target])
  }
  const ready = document.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id)
  const order: string[] = []
  while (ready.length > 0) {
    const id = ready.shift() as string
    order.push(id)
    for (const to of next.get(id) ?? []) {
      const d = (indegree.get(to) ?? 0) - 1
      indegree.set(to, d)
      if (d === 0) {
        const p = position.get(to) ?? 0
        let at = ready.findIndex((r) => (position.get(r) ?? 0) > p)
        if (at === -1) at = ready.length
        ready.splice(at, 0, to)
      }
    }
  }
  return order
}

/**
 * Compiles a pipeline document into an {@link ExecutionPlan}: validation first (every problem at once), then each
 * node's component turns its config into Spark SQL over its inputs' views, in topological order. A node read by
 * several consumers is cached once (run mode). The same document, registry and params always give a byte-identical
 * plan.
 *
 * @throws {@link ValidationError} when the document, a config, a SQL fragment or the params are invalid.
 * @example
 * ```ts
 * import { compilePipeline, createDefaultRegistry } from '@sparkle-studio/core'
 *
 * const plan = compilePipeline(document, createDefaultRegistry(), { params: { ds: '2026-11-01' } })
 * for (const step of plan.steps) console.log(step.nodeId, step.kind)
 * ```
 */
export function compilePipeline(
  input: unknown,
  registry: ComponentRegistry,
  options: CompileOptions = {},
): ExecutionPlan {
  const mode = options.mode ?? 'run'
  const validation = validatePipeline(input, registry, { mode })
  if (!validation.ok) {
    throw new ValidationError(
      `The pipeline is invalid (${validation.issues.length} problem${validation.issues.length === 1 ? '' : 's'})`,
      validation.issues,
    )
  }
  const { document, configs } = validation
  const previewLimit = options.previewLimit ?? DEFAULT_PREVIEW_LIMIT
  const sampleLimit = options.sampleLimit ?? DEFAULT_SAMPLE_LIMIT
  if (!Number.isInteger(previewLimit) || previewLimit < 1 || previewLimit > MAX_PREVIEW_LIMIT) {
    throw new ValidationError(`previewLimit must be an integer from 1 to ${MAX_PREVIEW_LIMIT}`, [
      { path: '/previewLimit', message: `must be an integer from 1 to ${MAX_PREVIEW_LIMIT}`, code: 'out_of_range' },
    ])
  }
  if (!Number.isInteger(sampleLimit) || sampleLimit < 1) {
    throw new ValidationError('sampleLimit must be a positive integer', [
      { path: '/sampleLimit', message: 'must be a positive integer', code: 'out_of_range' },
    ])
  }
  const params = resolveParams(document, options.params)

  const nodes = new Map(document.nodes.map((n, i) => [n.id, { node: n, index: i }]))
  const components = new Map<string, ComponentDefinition>()
  const resolvedConfigs = new Map<string, Record<string, unknown>>()
  for (const n of document.nodes) {
    const component = registry.require(n.data.component)
    components.set(n.id, component)
    const config = configs.get(n.id) ?? {}
    resolvedConfigs.set(n.id, substituteConfig(config, params, sqlPaths(component.config)) as Record<string, unknown>)
  }
  const consumers = new Map<string, number>()
  const inputsByPort = new Map<string, Map<string, string[]>>()
  for (const e of document.edges) {
    consumers.set(e.source, (consumers.get(e.source) ?? 0) + 1)
    const component = components.get(e.target)
    const port = e.targetHandle ?? component?.inputs[0]?.name ?? 'in'
    const ports = inputsByPort.get(e.target) ?? new Map<string, string[]>()
    ports.set(port, [...(ports.get(port) ?? []), e.source])
    inputsByPort.set(e.target, ports)
  }

  const steps: PlanStep[] = []
  for (const id of topologicalOrder(document)) {
    const entry = nodes.get(id)
    const component = components.get(id)
    if (!entry || !component) continue
    const basePath = `/nodes/${entry.index}/data/config`
    const fail = (message: string, path: string, code: string): never => {
      throw new ValidationError(`Node "${id}": ${message}`, [{ path: `${basePath}${path}`, message, code, nodeId: id }])
    }
    const defaultPort = component.inputs[0]?.name ?? 'in'
    const ctx: CompileContext<Record<string, unknown>> = {
      nodeId: id,
      config: resolvedConfigs.get(id) ?? {},
      mode,
      input(port = defaultPort) {
        const sources = inputsByPort.get(id)?.get(port) ?? []
        const first = sources[0]
        if (first === undefined) return fail(`input "${port}" is not connected`, '', 'missing_input')
        return viewName(first)
      },
      inputs(port = defaultPort) {
        return (inputsByPort.get(id)?.get(port) ?? []).map(viewName)
      },
      inputIds(port = defaultPort) {
        return inputsByPort.get(id)?.get(port) ?? []
      },
      expr(fragment, path) {
        const problem = checkSqlFragment(fragment)
        if (problem) return fail(`SQL ${problem.message}`, path, `sql_${problem.code}`)
        return `(${fragment})`
      },
      param(name) {
        const p = params[name]
        if (!p) return fail(`unknown param "${name}"`, '', 'unknown_param')
        return paramLiteral(p)
      },
      connection<T>(ref: string): T {
        const target = nodes.get(ref)
        if (!target || components.get(ref)?.type !== 'connection') {
          return fail(`"${ref}" is not a connection node`, '/connection', 'unknown_connection')
        }
        return resolvedConfigs.get(ref) as T
      },
    }
    let compiled: CompiledNode
    try {
      compiled = component.compile(ctx)
    } catch (error) {
      if (isStudioError(error)) throw error
      return fail(`could not be compiled: ${(error as Error).message}`, '', 'compile_failed')
    }
    const view = viewName(id)
    switch (compiled.kind) {
      case 'none':
        continue
      case 'read':
        steps.push(
          mode === 'preview'
            ? { nodeId: id, kind: 'read', view, source: compiled.source, limit: sampleLimit }
            : { nodeId: id, kind: 'read', view, source: compiled.source },
        )
        break
      case 'relation': {
        const sampled = mode === 'preview' && component.inputs.length === 0
        steps.push({
          nodeId: id,
          kind: 'view',
          view,
          sql: sampled ? `SELECT * FROM (${compiled.sql}) LIMIT ${sampleLimit}` : compiled.sql,
        })
        break
      }
      case 'check':
        if (mode === 'run') {
          steps.push({
            nodeId: id,
            kind: 'check',
            sql: compiled.sql,
            severity: compiled.severity,
            description: compiled.description,
          })
        }
        steps.push({ nodeId: id, kind: 'view', view, sql: `SELECT * FROM ${ctx.input()}` })
        break
      case 'write':
        if (mode === 'run')
          steps.push({ nodeId: id, kind: 'write', sql: `SELECT * FROM ${ctx.input()}`, target: compiled.target })
        continue
    }
    if (mode === 'preview') {
      steps.push({ nodeId: id, kind: 'query', sql: `SELECT * FROM ${view}`, limit: previewLimit })
    } else if ((consumers.get(id) ?? 0) > 1) {
      steps.push({ nodeId: id, kind: 'action', sql: `CACHE LAZY TABLE ${view}` })
    }
  }

  const plan: { -readonly [K in keyof ExecutionPlan]: ExecutionPlan[K] } = { pipeline: document.name, mode, steps }
  if (options.revision !== undefined) plan.revision = options.revision
  if (document.spark?.conf && Object.keys(document.spark.conf).length > 0) {
    plan.conf = Object.fromEntries(Object.entries(document.spark.conf).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }
  // Key order fixed for byte-identical output: pipeline, revision, mode, conf, steps.
  return {
    pipeline: plan.pipeline,
    ...(plan.revision !== undefined ? { revision: plan.revision } : {}),
    mode: plan.mode,
    ...(plan.conf ? { conf: plan.conf } : {}),
    steps: plan.steps,
  }
}
