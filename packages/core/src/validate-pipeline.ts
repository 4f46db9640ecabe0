import { artifactPaths } from './artifacts.ts'
import type { ComponentDefinition } from './component.ts'
import { parseComponentRef } from './component.ts'
import { fromZodIssues } from './config-validation.ts'
import { findTooDeep, tooDeepIssue } from './depth.ts'
import { type ParsedPipelineDocument, PipelineDocumentSchema } from './document.ts'
import { findParamReferences, type ResolvedParam } from './params.ts'
import type { ComponentRegistry } from './registry.ts'
import { checkSqlFragment } from './sql.ts'
import { renderTemplate, sampleParams } from './sql-template.ts'
import { paramKindPaths, sqlExpressionPaths, valuesAtPattern } from './ui-schema.ts'
import type { ValidationIssue } from './validation-issue.ts'

/** Options of {@link validatePipeline}. */
export interface ValidatePipelineOptions {
  /**
   * `run` checks everything; `preview` (a dry-run while editing) allows a pipeline without sinks and nodes that
   * lead nowhere.
   * @default 'run'
   */
  readonly mode?: 'run' | 'preview' | undefined
}

/** The result of {@link validatePipeline}: the parsed document, or every issue found. */
export type PipelineValidation =
  | {
      readonly ok: true
      readonly document: ParsedPipelineDocument
      /** The parsed config of each node (defaults applied), by node id. */
      readonly configs: ReadonlyMap<string, Record<string, unknown>>
    }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] }

interface LooseNode {
  readonly index: number
  readonly id: string
  readonly component: ComponentDefinition | undefined
  readonly config: unknown
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Validates a pipeline document against its schema and a registry, and reports every problem at once, each with a
 * JSON pointer and, where it belongs to one, the node id: structure, duplicate ids, dangling edges, unknown
 * components or versions, ports and their arity, cycles, missing sinks, nodes that lead to no sink, invalid configs,
 * plaintext secrets, unsafe SQL fragments, `{{param}}` placeholders that would not stay literals (inside quotes, or
 * running into their neighbours), unknown params and connection references, and a `previewSample` on a node that is
 * not an ingestor reading a path (`preview_sample_not_supported`). Input nested deeper than
 * {@link MAX_NESTING_DEPTH} levels gets one `too_deep` issue and nothing else is walked.
 *
 * @example
 * ```ts
 * import { createDefaultRegistry, validatePipeline } from '@sparkle-studio/core'
 *
 * const result = validatePipeline(JSON.parse(text), createDefaultRegistry())
 * if (!result.ok) for (const issue of result.issues) console.log(issue.path, issue.message)
 * ```
 */
export function validatePipeline(
  input: unknown,
  registry: ComponentRegistry,
  options: ValidatePipelineOptions = {},
): PipelineValidation {
  const mode = options.mode ?? 'run'
  const deep = findTooDeep(input)
  if (deep !== undefined) return { ok: false, issues: [tooDeepIssue(deep)] }
  const issues: ValidationIssue[] = []
  const parsed = PipelineDocumentSchema.safeParse(input)
  if (!parsed.success) issues.push(...fromZodIssues(parsed.error, input))
  if (!isRecord(input)) return { ok: false, issues }

  const rawNodes = Array.isArray(input['nodes']) ? input['nodes'] : []
  const rawEdges = Array.isArray(input['edges']) ? input['edges'] : []
  const paramTypes = new Map<string, ResolvedParam['type']>()
  for (const p of Array.isArray(input['params']) ? input['params'] : []) {
    if (!isRecord(p) || typeof p['name'] !== 'string') continue
    const type = ['string', 'int', 'date', 'timestamp'].includes(p['type'] as string) ? p['type'] : 'string'
    paramTypes.set(p['name'], type as ResolvedParam['type'])
  }

  // Nodes: duplicates, components, configs.
  const nodes = new Map<string, LooseNode>()
  const configs = new Map<string, Record<string, unknown>>()
  rawNodes.forEach((raw, index) => {
    if (!isRecord(raw) || typeof raw['id'] !== 'string') return
    const id = raw['id']
    const path = `/nodes/${index}`
    if (nodes.has(id)) {
      issues.push({ path: `${path}/id`, message: `Duplicate node id "${id}"`, code: 'duplicate_id', nodeId: id })
      return
    }
    const data = isRecord(raw['data']) ? raw['data'] : {}
    const ref = typeof data['component'] === 'string' ? data['component'] : undefined
    let component: ComponentDefinition | undefined
    if (ref !== undefined) {
      component = registry.resolve(ref)
      if (!component) issues.push(unknownComponent(ref, registry, `${path}/data/component`, id))
    }
    const config = data['config'] ?? {}
    nodes.set(id, { index, id, component, config })
    if (!component) return
    if (data['previewSample'] !== undefined && !readsPath(component)) {
      issues.push({
        path: `${path}/data/previewSample`,
        message: `Node "${id}" (${component.title}) does not read a path, so it cannot take a preview sample. Fix: remove previewSample, or set it on the source ingestor that reads the file`,
        code: 'preview_sample_not_supported',
        nodeId: id,
      })
    }
    const where = { basePath: `${path}/data/config`, nodeId: id }
    const result = registry.validateConfig(component.ref, config, where)
    if (!result.ok) issues.push(...result.issues)
    else {
      configs.set(id, result.config)
      // Templates are checked with stand-in values of the declared types (undeclared ones are reported below).
      const samples = sampleParams(
        new Map([...findParamReferences(result.config).map((r) => [r.name, 'string'] as const), ...paramTypes]),
      )
      const expressions = sqlExpressionPaths(component.config)
      for (const { pattern, kind } of paramKindPaths(component.config)) {
        if (kind === 'path' || kind === 'text') continue
        const fragmentKind = expressions.includes(pattern) ? 'expression' : 'query'
        for (const { pointer, value } of valuesAtPattern(result.config, pattern)) {
          if (typeof value !== 'string') continue
          const rendered = renderTemplate(kind, value, samples)
          const problem =
            'problem' in rendered
              ? rendered.problem
              : kind === 'sql'
                ? checkSqlFragment(rendered.text, { kind: fragmentKind })
                : undefined
          if (!problem) continue
          const sql = kind === 'sql' || kind === 'remote-sql'
          issues.push({
            path: `${where.basePath}${pointer}`,
            message: sql ? `SQL ${problem.message}` : problem.message,
            code: sql && problem.code !== 'invalid_param_value' ? `sql_${problem.code}` : problem.code,
            nodeId: id,
          })
        }
      }
    }
    for (const { pointer, name } of findParamReferences(config)) {
      if (!paramTypes.has(name)) {
        issues.push({
          path: `${where.basePath}${pointer}`,
          message: `Unknown param "{{${name}}}": declare it in the document's params`,
          code: 'unknown_param',
          nodeId: id,
        })
      }
    }
    if (isRecord(config) && typeof config['connection'] === 'string') {
      const target = config['connection']
      const found = rawNodes.find((n) => isRecord(n) && n['id'] === target)
      const targetRef = isRecord(found) && isRecord(found['data']) ? found['data']['component'] : undefined
      if (typeof targetRef !== 'string' || parseComponentRef(targetRef)?.type !== 'connection') {
        issues.push({
          path: `${where.basePath}/connection`,
          message: `"${target}" is not a connection node of this pipeline`,
          code: 'unknown_connection',
          nodeId: id,
        })
      }
    }
  })

  // Edges: duplicates, dangling ends, ports, arity.
  const edgeIds = new Set<string>()
  const incoming = new Map<string, Map<string, number>>()
  const adjacency = new Map<string, string[]>()
  rawEdges.forEach((raw, index) => {
    if (!isRecord(raw)) return
    const path = `/edges/${index}`
    const id = typeof raw['id'] === 'string' ? raw['id'] : undefined
    if (id !== undefined) {
      if (edgeIds.has(id))
        issues.push({ path: `${path}/id`, message: `Duplicate edge id "${id}"`, code: 'duplicate_id' })
      edgeIds.add(id)
    }
    const source = typeof raw['source'] === 'string' ? nodes.get(raw['source']) : undefined
    const target = typeof raw['target'] === 'string' ? nodes.get(raw['target']) : undefined
    if (!source) {
      issues.push({
        path: `${path}/source`,
        message: `Edge source "${String(raw['source'])}" is not a node`,
        code: 'dangling_edge',
      })
    }
    if (!target) {
      issues.push({
        path: `${path}/target`,
        message: `Edge target "${String(raw['target'])}" is not a node`,
        code: 'dangling_edge',
      })
    }
    if (!source || !target) return
    if (source.id === target.id) {
      issues.push({ path, message: `Edge connects node "${source.id}" to itself`, code: 'cycle', nodeId: source.id })
      return
    }
    adjacency.set(source.id, [...(adjacency.get(source.id) ?? []), target.id])
    if (source.component) {
      const outputs = source.component.outputs
      const handle = typeof raw['sourceHandle'] === 'string' ? raw['sourceHandle'] : outputs[0]?.name
      if (outputs.length === 0) {
        issues.push({
          path: `${path}/source`,
          message: `"${source.id}" (${source.component.title}) has no outputs`,
          code: 'invalid_port',
          nodeId: source.id,
        })
      } else if (!outputs.some((p) => p.name === handle)) {
        issues.push({
          path: `${path}/sourceHandle`,
          message: `"${source.id}" has no output port "${handle}"`,
          code: 'invalid_port',
          nodeId: source.id,
        })
      }
    }
    if (target.component) {
      const inputs = target.component.inputs
      const handle = typeof raw['targetHandle'] === 'string' ? raw['targetHandle'] : inputs[0]?.name
      if (inputs.length === 0) {
        issues.push({
          path: `${path}/target`,
          message: `"${target.id}" (${target.component.title}) has no inputs`,
          code: 'invalid_port',
          nodeId: target.id,
        })
      } else if (!inputs.some((p) => p.name === handle)) {
        issues.push({
          path: `${path}/targetHandle`,
          message: `"${target.id}" has no input port "${handle}"`,
          code: 'invalid_port',
          nodeId: target.id,
        })
      } else if (handle !== undefined) {
        const ports = incoming.get(target.id) ?? new Map<string, number>()
        ports.set(handle, (ports.get(handle) ?? 0) + 1)
        incoming.set(target.id, ports)
      }
    }
  })
  for (const node of nodes.values()) {
    if (!node.component) continue
    const ports = incoming.get(node.id)
    for (const port of node.component.inputs) {
      const count = ports?.get(port.name) ?? 0
      if (count === 0 && !port.optional) {
        issues.push({
          path: `/nodes/${node.index}`,
          message: `Input "${port.name}" of "${node.id}" is not connected`,
          code: 'missing_input',
          nodeId: node.id,
        })
      } else if (count > 1 && !port.multiple) {
        issues.push({
          path: `/nodes/${node.index}`,
          message: `Input "${port.name}" of "${node.id}" takes one edge, got ${count}`,
          code: 'too_many_inputs',
          nodeId: node.id,
        })
      }
    }
  }

  // Cycles.
  for (const id of findCycleNodes(nodes, adjacency)) {
    const node = nodes.get(id)
    issues.push({
      path: `/nodes/${node?.index ?? 0}`,
      message: `Node "${id}" is part of a cycle`,
      code: 'cycle',
      nodeId: id,
    })
  }

  // Sinks and nodes that lead to none.
  if (mode === 'run') {
    const sinks = [...nodes.values()].filter((n) => n.component?.type === 'sink').map((n) => n.id)
    if (sinks.length === 0 && nodes.size > 0) {
      issues.push({ path: '/nodes', message: 'The pipeline has no sink: nothing would be written', code: 'no_sink' })
    } else {
      const reverse = new Map<string, string[]>()
      for (const [from, tos] of adjacency) for (const to of tos) reverse.set(to, [...(reverse.get(to) ?? []), from])
      const reaches = new Set<string>()
      const stack = [...sinks]
      while (stack.length > 0) {
        const id = stack.pop() as string
        if (reaches.has(id)) continue
        reaches.add(id)
        stack.push(...(reverse.get(id) ?? []))
      }
      for (const node of nodes.values()) {
        if (!reaches.has(node.id) && node.component && node.component.type !== 'connection') {
          issues.push({
            path: `/nodes/${node.index}`,
            message: `Node "${node.id}" does not lead to any sink`,
            code: 'unreachable',
            nodeId: node.id,
          })
        }
      }
    }
  }

  if (issues.length > 0 || !parsed.success) return { ok: false, issues }
  return { ok: true, document: parsed.data, configs }
}

/** Whether a component is an ingestor whose config has a source path field (one that takes an artifact). */
function readsPath(component: ComponentDefinition): boolean {
  return component.type === 'ingestor' && artifactPaths(component.config).length > 0
}

function unknownComponent(ref: string, registry: ComponentRegistry, path: string, nodeId: string): ValidationIssue {
  const parts = parseComponentRef(ref)
  if (!parts)
    return {
      path,
      message: `"${ref}" is not a component reference like "transformer/filter@1"`,
      code: 'invalid_component_ref',
      nodeId,
    }
  const versions = registry.versions(parts.type, parts.name)
  if (versions.length > 0) {
    return {
      path,
      message: `${parts.type}/${parts.name} has no version ${parts.version} (available: ${versions.join(', ')})`,
      code: 'unknown_component_version',
      nodeId,
    }
  }
  return { path, message: `Unknown component ${ref}`, code: 'unknown_component', nodeId }
}

/** The ids of nodes on a cycle (Tarjan's strongly connected components of size > 1). */
function findCycleNodes(
  nodes: ReadonlyMap<string, LooseNode>,
  adjacency: ReadonlyMap<string, readonly string[]>,
): string[] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const result: string[] = []
  // Iterative to stay safe on long chains.
  for (const start of nodes.keys()) {
    if (index.has(start)) continue
    const work: { id: string; next: number }[] = [{ id: start, next: 0 }]
    index.set(start, counter)
    low.set(start, counter++)
    stack.push(start)
    onStack.add(start)
    while (work.length > 0) {
      const frame = work[work.length - 1] as { id: string; next: number }
      const targets = adjacency.get(frame.id) ?? []
      if (frame.next < targets.length) {
        const to = targets[frame.next++] as string
        if (!index.has(to)) {
          index.set(to, counter)
          low.set(to, counter++)
          stack.push(to)
          onStack.add(to)
          work.push({ id: to, next: 0 })
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id) as number, index.get(to) as number))
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) as number, low.get(frame.id) as number))
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = []
        for (;;) {
          const id = stack.pop() as string
          onStack.delete(id)
          component.push(id)
          if (id === frame.id) break
        }
        if (component.length > 1) result.push(...component.reverse())
      }
    }
  }
  return result
}
