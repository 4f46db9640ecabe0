import {
  ARTIFACT_FORMAT_READERS,
  type ArtifactLocation,
  type ArtifactRef,
  artifactPaths,
  replaceArtifactRefs,
} from './artifacts.ts'
import { checkReadSource, checkSqlUnderPolicy, checkWriteTarget, type PolicyFinding } from './compile-policy.ts'
import type { CompileContext, CompiledNode, ComponentDefinition } from './component.ts'
import { MAX_NESTING_DEPTH, tooDeepIssue } from './depth.ts'
import type { ParsedPipelineDocument } from './document.ts'
import { isStudioError } from './errors.ts'
import type { ParamKind } from './field.ts'
import { paramLiteral, type ResolvedParam, resolveParams } from './params.ts'
import type { ExecutionPlan, PlanPolicy, PlanStep } from './plan.ts'
import { checkSparkConf, type ExecutionPolicy } from './policy.ts'
import type { ComponentRegistry } from './registry.ts'
import { checkSqlFragment, quoteIdent } from './sql.ts'
import { renderTemplate } from './sql-template.ts'
import { escapePointer, paramKindPaths, sqlExpressionPaths, sqlPaths, valuesAtPattern } from './ui-schema.ts'
import { validatePipeline } from './validate-pipeline.ts'
import { ValidationError, type ValidationIssue } from './validation-issue.ts'

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
  /**
   * The execution policy to compile under. The compiler then refuses (every problem at once, each issue naming the
   * node, the field, the rule and a fix): `spark.conf` keys and values the policy does not allow
   * (`conf_not_allowed`, `conf_value_not_allowed`); read and write paths outside the roots, checked after params are
   * put in and the path is normalized (`read_path_not_allowed`, `write_path_not_allowed`); `path` options
   * (`option_not_allowed`); JDBC URLs that match no pattern and JDBC options that would reach the driver as
   * connection properties (`jdbc_url_not_allowed`, `jdbc_option_not_allowed`); in user SQL, calls of denied functions
   * (`sql_denied_function`), calls through a computed `IDENTIFIER(…)` name (`sql_dynamic_function_name`), script
   * transforms (`sql_script_transform`) and files read by path outside the read roots (`read_path_not_allowed`).
   * The plan gets the normalized paths and a {@link PlanPolicy} for the driver to enforce the same on Spark's
   * analyzed plan. Without a policy none of this is checked.
   */
  readonly policy?: ExecutionPolicy | undefined
  /**
   * Where the data artifacts the document references are, by id (resolve them first: `artifactRefs(document)` lists
   * the ids). Before a component compiles, every `{ "$artifact": id }` in its config becomes the location's path, and
   * in preview mode a node's `previewSample` replaces its source path; the path is then checked under the policy like
   * any other. Refused, every problem at once: an id that is not here (`unknown_artifact`, also when this option is
   * absent), and an artifact in an ingestor that does not read its format (`artifact_format_mismatch`: `csv` goes with
   * the CSV ingestor, `jsonl` with the JSON one, `parquet` with the Parquet one). A run ignores preview samples.
   */
  readonly artifacts?: Readonly<Record<string, ArtifactLocation>> | undefined
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

/** Where a node's issues are reported. */
interface NodeWhere {
  readonly basePath: string
  readonly nodeId: string
}

/**
 * Puts run parameters into a node's config, field by field according to its kind (SQL fields get typed literals,
 * paths and text the values' text). Depth-limited: parsed configs are validated already, custom schemas included.
 */
function renderConfig(
  value: unknown,
  params: Readonly<Record<string, ResolvedParam>>,
  kinds: readonly { readonly pattern: string; readonly kind: ParamKind }[],
  issues: ValidationIssue[],
  where: NodeWhere,
  pointer = '',
  depth = 1,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value
    const kind = kinds.find((k) => matchesPattern(pointer, k.pattern))?.kind ?? 'text'
    const result = renderTemplate(kind, value, params)
    if ('text' in result) return result.text
    const { code, message } = result.problem
    const sql = kind === 'sql' || kind === 'remote-sql'
    issues.push({
      path: `${where.basePath}${pointer}`,
      message: sql ? `SQL ${message}` : message,
      code: sql && code !== 'unknown_param' && code !== 'invalid_param_value' ? `sql_${code}` : code,
      nodeId: where.nodeId,
    })
    return value
  }
  if (typeof value !== 'object' || value === null) return value
  if (depth > MAX_NESTING_DEPTH) {
    issues.push(tooDeepIssue(pointer, where.basePath, where.nodeId))
    return value
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => renderConfig(v, params, kinds, issues, where, `${pointer}/${i}`, depth + 1))
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] = renderConfig(v, params, kinds, issues, where, `${pointer}/${escapePointer(k)}`, depth + 1)
  }
  return out
}

/** The pointers of the strings in a config that hold `${` (depth-limited; configs are validated already). */
function substitutionPointers(value: unknown, pointer = '', depth = 1): string[] {
  if (typeof value === 'string') return value.includes('${') ? [pointer] : []
  if (typeof value !== 'object' || value === null || depth > MAX_NESTING_DEPTH) return []
  return Object.entries(value).flatMap(([k, v]) => substitutionPointers(v, `${pointer}/${escapePointer(k)}`, depth + 1))
}

/** An artifact a node reads, and where its reference is in the document (for issues). */
interface ArtifactUse {
  readonly id: string
  readonly location: ArtifactLocation
  readonly path: string
}

/** Spark formats that read any file, whatever an artifact's format (lines of text, raw bytes). */
const ANY_FILE_FORMATS: ReadonlySet<string> = new Set(['text', 'binaryFile'])

/** Sets the value at a JSON pointer of an object tree built by `renderConfig` (its own copy, so it may be changed). */
function setAtPointer(root: unknown, pointer: string, value: unknown): void {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'))
  const last = keys.pop()
  if (last === undefined) return
  let parent = root
  for (const key of keys) {
    if (typeof parent !== 'object' || parent === null) return
    parent = (parent as Record<string, unknown>)[key]
  }
  if (typeof parent === 'object' && parent !== null) (parent as Record<string, unknown>)[last] = value
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
  const policy = options.policy

  const nodes = new Map(document.nodes.map((n, i) => [n.id, { node: n, index: i }]))
  const components = new Map<string, ComponentDefinition>()
  const resolvedConfigs = new Map<string, Record<string, unknown>>()
  // Every problem at once: params that do not fit their fields, and what the policy refuses, across all nodes. A node
  // whose params did not fit is not compiled (its SQL is not what would run).
  const issues: ValidationIssue[] = policy ? checkSparkConf(document.spark?.conf, policy) : []
  const unrendered = new Set<string>()
  const artifactUses = new Map<string, readonly ArtifactUse[]>()
  document.nodes.forEach((n, index) => {
    const component = registry.require(n.data.component)
    components.set(n.id, component)
    const config = configs.get(n.id) ?? {}
    const where = { basePath: `/nodes/${index}/data/config`, nodeId: n.id }
    const before = issues.length
    const rendered = renderConfig(config, params, paramKindPaths(component.config), issues, where)
    // A preview reads the node's sample instead of its source path (validation allowed it only on such ingestors).
    const samplePointers = new Set<string>()
    const sample = mode === 'preview' ? n.data.previewSample : undefined
    if (sample !== undefined) {
      for (const pattern of artifactPaths(component.config)) {
        for (const { pointer } of valuesAtPattern(rendered, pattern)) {
          samplePointers.add(pointer)
          setAtPointer(rendered, pointer, sample)
        }
      }
    }
    const uses: ArtifactUse[] = []
    const resolved = replaceArtifactRefs(rendered, (ref: ArtifactRef, pointer) => {
      const id = ref.$artifact
      const path = samplePointers.has(pointer) ? `/nodes/${index}/data/previewSample` : `${where.basePath}${pointer}`
      const artifacts = options.artifacts
      const location = artifacts !== undefined && Object.hasOwn(artifacts, id) ? artifacts[id] : undefined
      if (location === undefined) {
        issues.push({
          path,
          message: `Artifact ${id} does not exist or was deleted. Fix: upload the file again, or pick another artifact`,
          code: 'unknown_artifact',
          nodeId: n.id,
        })
        return ref
      }
      uses.push({ id, location, path })
      return location.path
    })
    resolvedConfigs.set(n.id, resolved as Record<string, unknown>)
    if (uses.length > 0) artifactUses.set(n.id, uses)
    if (issues.length > before) unrendered.add(n.id)
    if (!policy) return
    for (const pattern of sqlPaths(component.config)) {
      for (const { pointer, value } of valuesAtPattern(rendered, pattern)) {
        if (typeof value !== 'string') continue
        for (const f of checkSqlUnderPolicy(value, policy)) {
          issues.push({ path: `${where.basePath}${pointer}`, message: `SQL ${f.message}`, code: f.code, nodeId: n.id })
        }
      }
    }
  })
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
    if (!entry || !component || unrendered.has(id)) continue
    const basePath = `/nodes/${entry.index}/data/config`
    const fail = (message: string, path: string, code: string): never => {
      const issue = { path: `${basePath}${path}`, message, code, nodeId: id }
      throw issues.length > 0 ? invalid([...issues, issue]) : new ValidationError(`Node "${id}": ${message}`, [issue])
    }
    const defaultPort = component.inputs[0]?.name ?? 'in'
    const expressionPaths = sqlExpressionPaths(component.config)
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
        const expression = expressionPaths.some((p) => matchesPattern(path, p))
        const problem = checkSqlFragment(fragment, { kind: expression ? 'expression' : 'query' })
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
    const report = (findings: readonly PolicyFinding[]) => {
      for (const f of findings) issues.push(locate(id, entry.index, f))
    }
    if (compiled.kind === 'relation' || compiled.kind === 'check') {
      if (compiled.sql.includes('${')) {
        const pointers = substitutionPointers(resolvedConfigs.get(id))
        for (const pointer of pointers.length > 0 ? pointers : ['']) {
          issues.push({
            path: `${basePath}${pointer}`,
            message:
              'holds "${", which Spark would replace with configuration or environment values before it parses the SQL. Fix: remove "${" from names and SQL',
            code: 'sql_variable_substitution',
            nodeId: id,
          })
        }
      }
      if (policy) {
        const reported = new Set(issues.filter((i) => i.nodeId === id).map((i) => i.code))
        report(checkSqlUnderPolicy(compiled.sql, policy).filter((f) => !reported.has(f.code)))
      }
    }
    switch (compiled.kind) {
      case 'none':
        continue
      case 'read': {
        let source = compiled.source
        const uses = (artifactUses.get(id) ?? []).filter((u) => u.location.path === source.path)
        for (const use of uses) {
          const reader = ARTIFACT_FORMAT_READERS[use.location.format]
          if (source.format === reader.sparkFormat || ANY_FILE_FORMATS.has(source.format)) continue
          const wanted = Object.values(ARTIFACT_FORMAT_READERS).find((r) => r.sparkFormat === source.format)
          issues.push({
            path: use.path,
            message: `Artifact ${use.id} is a ${reader.title} file, which "${id}" (${component.title}) reads as ${source.format}. Fix: read it with the ${reader.ingestorTitle} ingestor (${reader.ingestor}), or pick a ${wanted?.title ?? source.format} artifact`,
            code: 'artifact_format_mismatch',
            nodeId: id,
          })
        }
        if (policy) {
          const checked = checkReadSource(source, policy)
          // A refused artifact path belongs to the reference it came from (the preview sample, say).
          const from = uses[0]?.path
          for (const f of checked.findings) {
            const issue = locate(id, entry.index, f)
            issues.push(f.field === 'path' && from !== undefined ? { ...issue, path: from } : issue)
          }
          source = checked.source
        }
        steps.push(
          mode === 'preview'
            ? { nodeId: id, kind: 'read', view, source, limit: sampleLimit }
            : { nodeId: id, kind: 'read', view, source },
        )
        break
      }
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
        if (mode === 'run') {
          let target = compiled.target
          if (policy) {
            const checked = checkWriteTarget(target, policy)
            report(checked.findings)
            target = checked.target
          }
          steps.push({ nodeId: id, kind: 'write', sql: `SELECT * FROM ${ctx.input()}`, target })
        }
        continue
    }
    if (mode === 'preview') {
      steps.push({ nodeId: id, kind: 'query', sql: `SELECT * FROM ${view}`, limit: previewLimit })
    } else if ((consumers.get(id) ?? 0) > 1) {
      steps.push({ nodeId: id, kind: 'action', sql: `CACHE LAZY TABLE ${view}` })
    }
  }

  if (issues.length > 0) throw invalid(issues)

  const plan: { -readonly [K in keyof ExecutionPlan]: ExecutionPlan[K] } = { pipeline: document.name, mode, steps }
  if (options.revision !== undefined) plan.revision = options.revision
  if (document.spark?.conf && Object.keys(document.spark.conf).length > 0) {
    plan.conf = Object.fromEntries(Object.entries(document.spark.conf).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }
  // Key order fixed for byte-identical output: pipeline, revision, mode, conf, steps, policy.
  return {
    pipeline: plan.pipeline,
    ...(plan.revision !== undefined ? { revision: plan.revision } : {}),
    mode: plan.mode,
    ...(plan.conf ? { conf: plan.conf } : {}),
    steps: plan.steps,
    ...(policy ? { policy: planPolicy(policy) } : {}),
  }

  /** Where a policy finding about a source or sink belongs: its own field, or its connection's. */
  function locate(id: string, index: number, f: PolicyFinding): ValidationIssue {
    const basePath = `/nodes/${index}/data/config`
    const config = resolvedConfigs.get(id) ?? {}
    const ref = typeof config['connection'] === 'string' ? config['connection'] : undefined
    const conn = ref !== undefined && components.get(ref)?.type === 'connection' ? nodes.get(ref) : undefined
    const connConfig = ref !== undefined ? (resolvedConfigs.get(ref) ?? {}) : {}
    const hasOption = (c: Record<string, unknown>, key: string) => {
      const o = c['options']
      return typeof o === 'object' && o !== null && Object.hasOwn(o, key)
    }
    const at = (nodeId: string, path: string, message: string) => ({ path, message, code: f.code, nodeId })
    const field = f.field ?? ''
    if (field === '') return at(id, basePath, `SQL ${f.message}`)
    const message = `Node "${id}": ${f.message}`
    if (field === 'path') return at(id, Object.hasOwn(config, 'path') ? `${basePath}/path` : basePath, message)
    if (field.startsWith('options/')) {
      const key = field.slice('options/'.length)
      if (hasOption(config, key)) return at(id, `${basePath}/options/${escapePointer(key)}`, message)
      if (conn && hasOption(connConfig, key)) {
        const path = `/nodes/${conn.index}/data/config/options/${escapePointer(key)}`
        return at(conn.node.id, path, `Connection "${conn.node.id}": ${f.message}`)
      }
      return at(id, basePath, message)
    }
    if (field === 'url' && conn) {
      return at(conn.node.id, `/nodes/${conn.index}/data/config/url`, `Connection "${conn.node.id}": ${f.message}`)
    }
    return at(id, basePath, message)
  }
}

function planPolicy(policy: ExecutionPolicy): PlanPolicy {
  return {
    readRoots: [...policy.readRoots],
    writeRoots: [...policy.writeRoots],
    deniedFunctions: [...policy.deniedFunctions],
    jdbcUrlPatterns: [...policy.jdbcUrlPatterns],
  }
}

/** One {@link ValidationError} for every issue found (duplicates dropped: a connection shared by two sources). */
function invalid(issues: readonly ValidationIssue[]): ValidationError {
  const seen = new Set<string>()
  const unique = issues.filter((i) => {
    const key = `${i.path}\u0000${i.code}\u0000${i.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return new ValidationError(
    `The pipeline cannot be compiled (${unique.length} problem${unique.length === 1 ? '' : 's'}): ${unique
      .slice(0, 3)
      .map((i) => `${i.nodeId ? `${i.nodeId}: ` : ''}${i.message}`)
      .join('; ')}${unique.length > 3 ? '; …' : ''}`,
    unique,
  )
}
