import type { ComponentDefinition } from '../component.ts'
import type { ComponentRegistry } from '../registry.ts'
import { validatePipeline } from '../validate-pipeline.ts'
import { ValidationError } from '../validation-issue.ts'
import { expressionColumns } from './expression-columns.ts'
import type {
  ColumnLineageEntry,
  FieldDependency,
  LineageColumn,
  NodeLineage,
  PipelineColumnLineage,
  Transformation,
  TransformationSubtype,
} from './types.ts'

/** Options of {@link columnLineage}. */
export interface ColumnLineageOptions {
  /**
   * The output columns of nodes the document does not describe: every ingestor that reads files or a database (from
   * artifact inspection or a dry-run) and, when known, custom SQL and custom components (from a dry-run).
   */
  readonly sourceColumns: Readonly<Record<string, readonly LineageColumn[]>>
}

const direct = (subtype: TransformationSubtype, description?: string, masking = false): Transformation =>
  description === undefined ? { type: 'DIRECT', subtype, masking } : { type: 'DIRECT', subtype, description, masking }
const indirect = (subtype: TransformationSubtype, description?: string): Transformation =>
  description === undefined
    ? { type: 'INDIRECT', subtype, masking: false }
    : { type: 'INDIRECT', subtype, description, masking: false }

/** A node's input: its node id and its output columns. */
interface Input {
  readonly nodeId: string
  readonly columns: readonly ColumnLineageEntry[]
}

/** What a per-component rule gets. */
interface RuleContext {
  readonly nodeId: string
  readonly config: Record<string, unknown>
  readonly inputs: ReadonlyMap<string, readonly Input[]>
  readonly given: readonly LineageColumn[] | undefined
}

type RuleResult = Pick<NodeLineage, 'columns' | 'dataset'> & { readonly derived?: false; readonly note?: string }
type Rule = (ctx: RuleContext) => RuleResult

const lower = (s: string) => s.toLowerCase()

function find(input: Input, name: string): ColumnLineageEntry | undefined {
  return input.columns.find((c) => lower(c.name) === lower(name))
}

function dep(input: Input, name: string, transformation: Transformation): FieldDependency[] {
  const column = find(input, name)
  return column === undefined ? [] : [{ nodeId: input.nodeId, field: column.name, transformation }]
}

function only(ctx: RuleContext, port = 'in'): Input {
  const input = ctx.inputs.get(port)?.[0]
  if (input === undefined) throw new ValidationError(`Node "${ctx.nodeId}": input "${port}" is not connected`, [])
  return input
}

/** Every column of `input` passed on as it is. */
function passThrough(input: Input): ColumnLineageEntry[] {
  return input.columns.map((c) => ({
    name: c.name,
    ...(c.type === undefined ? {} : { type: c.type }),
    inputs: [{ nodeId: input.nodeId, field: c.name, transformation: direct('IDENTITY') }],
  }))
}

function typeOf(input: Input, name: string): { type?: string } {
  const type = find(input, name)?.type
  return type === undefined ? {} : { type }
}

/** The dependencies of a SQL expression over one input. */
function expressionDeps(
  input: Input,
  expression: string,
  transformation: (identity: boolean, masking: boolean) => Transformation,
) {
  const refs = expressionColumns(expression, (name) => find(input, name)?.name)
  const t = transformation(refs.identity, refs.masking)
  return refs.columns.map((c) => ({ nodeId: input.nodeId, field: c.name, transformation: t }))
}

/** Every input column of every input, as a dependency (for what cannot be derived). */
function allInputs(ctx: RuleContext, transformation: Transformation): FieldDependency[] {
  return [...ctx.inputs.values()]
    .flat()
    .flatMap((i) => i.columns.map((c) => ({ nodeId: i.nodeId, field: c.name, transformation })))
}

const opaque =
  (what: string): Rule =>
  (ctx) => {
    const note = `${what}: its columns are not derived; each output column depends on every input column`
    if (ctx.given === undefined) {
      return {
        columns: [],
        dataset: [],
        derived: false,
        note: `${note} (output columns unknown: give them in sourceColumns)`,
      }
    }
    const inputs = allInputs(ctx, direct('TRANSFORMATION', 'not derived'))
    return { columns: ctx.given.map((c) => ({ ...c, inputs })), dataset: [], derived: false, note }
  }

const sourceRule: Rule = (ctx) => {
  if (ctx.given === undefined) {
    return { columns: [], dataset: [], derived: false, note: 'source columns unknown: give them in sourceColumns' }
  }
  return { columns: ctx.given.map((c) => ({ ...c, inputs: [] })), dataset: [] }
}

interface OrderItem {
  readonly column: string
}

const RULES: Readonly<Record<string, Rule>> = {
  'ingestor/inline@1': (ctx) => {
    const columns = ctx.config['columns'] as readonly { name: string; type: string }[]
    return { columns: columns.map((c) => ({ name: c.name, type: c.type, inputs: [] })), dataset: [] }
  },
  'transformer/select@1': (ctx) => {
    const input = only(ctx)
    const columns = ctx.config['columns'] as readonly { column: string; alias?: string }[]
    return {
      columns: columns.map((c) => ({
        name: c.alias ?? find(input, c.column)?.name ?? c.column,
        ...typeOf(input, c.column),
        inputs: dep(input, c.column, direct('IDENTITY', c.alias === undefined ? undefined : `renamed to ${c.alias}`)),
      })),
      dataset: [],
    }
  },
  'transformer/drop-columns@1': (ctx) => {
    const input = only(ctx)
    const dropped = new Set((ctx.config['columns'] as readonly string[]).map(lower))
    return { columns: passThrough(input).filter((c) => !dropped.has(lower(c.name))), dataset: [] }
  },
  'transformer/filter@1': (ctx) => {
    const input = only(ctx)
    const condition = ctx.config['condition'] as string
    return { columns: passThrough(input), dataset: expressionDeps(input, condition, () => indirect('FILTER')) }
  },
  'transformer/derive@1': (ctx) => {
    const input = only(ctx)
    const items = ctx.config['columns'] as readonly { name: string; expression: string }[]
    const computed = (expression: string) =>
      expressionDeps(input, expression, (identity, masking) =>
        direct(identity ? 'IDENTITY' : 'TRANSFORMATION', undefined, masking),
      )
    const columns = passThrough(input)
    if (ctx.config['replace'] === true) {
      return {
        columns: columns.map((c) => {
          const item = items.find((i) => lower(i.name) === lower(c.name))
          return item === undefined ? c : { name: c.name, inputs: computed(item.expression) }
        }),
        dataset: [],
      }
    }
    return {
      columns: [...columns, ...items.map((i) => ({ name: i.name, inputs: computed(i.expression) }))],
      dataset: [],
    }
  },
  'transformer/cast@1': (ctx) => {
    const input = only(ctx)
    const casts = ctx.config['casts'] as readonly { column: string; type: string }[]
    return {
      columns: passThrough(input).map((c) => {
        const cast = casts.find((k) => lower(k.column) === lower(c.name))
        if (cast === undefined) return c
        return {
          name: c.name,
          type: cast.type,
          inputs: dep(input, c.name, direct('TRANSFORMATION', `cast to ${cast.type}`)),
        }
      }),
      dataset: [],
    }
  },
  'transformer/join@1': (ctx) => {
    const left = only(ctx, 'left')
    const right = only(ctx, 'right')
    const type = ctx.config['type'] as string
    const keys = ctx.config['keys'] as readonly { left: string; right: string }[]
    const condition = ctx.config['condition'] as string | undefined
    const dataset: FieldDependency[] = keys.flatMap((k) => [
      ...dep(left, k.left, indirect('JOIN')),
      ...dep(right, k.right, indirect('JOIN')),
    ])
    if (condition !== undefined) {
      const refs = expressionColumns(
        condition,
        (name, q) =>
          (q === 'r' ? find(right, name) : q === 'l' ? find(left, name) : (find(left, name) ?? find(right, name)))
            ?.name,
        ['l', 'r'],
      )
      for (const c of refs.columns) {
        const side =
          c.qualifier === 'r' || (c.qualifier === undefined && find(left, c.name) === undefined) ? right : left
        dataset.push({ nodeId: side.nodeId, field: c.name, transformation: indirect('JOIN') })
      }
    }
    if (type === 'semi' || type === 'anti') return { columns: passThrough(left), dataset }
    const sameNames = keys.length > 0 && keys.every((k) => k.left === k.right) && condition === undefined
    if (type === 'cross' || !sameNames) return { columns: [...passThrough(left), ...passThrough(right)], dataset }
    // USING (keys): each key once, first; then the other columns of the left, then of the right.
    const keyNames = new Set(keys.map((k) => lower(k.left)))
    const keyColumns = keys.map((k): ColumnLineageEntry => {
      const from =
        type === 'full'
          ? [
              ...dep(left, k.left, direct('TRANSFORMATION', 'coalesce of both join keys')),
              ...dep(right, k.right, direct('TRANSFORMATION', 'coalesce of both join keys')),
            ]
          : dep(type === 'right' ? right : left, k.left, direct('IDENTITY'))
      return { name: find(left, k.left)?.name ?? k.left, ...typeOf(left, k.left), inputs: from }
    })
    const rest = (input: Input) => passThrough(input).filter((c) => !keyNames.has(lower(c.name)))
    return { columns: [...keyColumns, ...rest(left), ...rest(right)], dataset }
  },
  'transformer/union@1': (ctx) => {
    const inputs = ctx.inputs.get('in') ?? []
    const first = inputs[0]
    if (first === undefined) return { columns: [], dataset: [] }
    return {
      columns: first.columns.map((c, i) => ({
        name: c.name,
        ...(c.type === undefined ? {} : { type: c.type }),
        inputs: inputs.flatMap((input) => {
          const at = input.columns[i]
          return at === undefined ? [] : [{ nodeId: input.nodeId, field: at.name, transformation: direct('IDENTITY') }]
        }),
      })),
      dataset: [],
    }
  },
  'transformer/aggregate@1': (ctx) => {
    const input = only(ctx)
    const groupBy = ctx.config['groupBy'] as readonly string[]
    const aggregations = ctx.config['aggregations'] as readonly { function: string; column?: string; alias: string }[]
    const groups = groupBy.map((g) => ({
      name: find(input, g)?.name ?? g,
      ...typeOf(input, g),
      inputs: dep(input, g, direct('IDENTITY')),
    }))
    const aggs = aggregations.map((a) => {
      const type = aggregateType(a.function, a.column === undefined ? undefined : find(input, a.column)?.type)
      const inputs = a.column === undefined ? [] : dep(input, a.column, direct('AGGREGATION', a.function))
      return { name: a.alias, ...(type === undefined ? {} : { type }), inputs }
    })
    return { columns: [...groups, ...aggs], dataset: groupBy.flatMap((g) => dep(input, g, indirect('GROUP_BY'))) }
  },
  'transformer/deduplicate@1': (ctx) => {
    const input = only(ctx)
    const keys = ctx.config['keys'] as readonly string[]
    const orderBy = ctx.config['orderBy'] as readonly OrderItem[]
    const dataset = [
      ...keys.flatMap((k) => dep(input, k, indirect('WINDOW', 'deduplication key'))),
      ...orderBy.flatMap((o) => dep(input, o.column, indirect('WINDOW', 'deduplication order'))),
    ]
    return { columns: passThrough(input), dataset }
  },
  'transformer/sort@1': (ctx) => {
    const input = only(ctx)
    const orderBy = ctx.config['orderBy'] as readonly OrderItem[]
    return { columns: passThrough(input), dataset: orderBy.flatMap((o) => dep(input, o.column, indirect('SORT'))) }
  },
  'transformer/limit@1': (ctx) => ({ columns: passThrough(only(ctx)), dataset: [] }),
  'transformer/sample@1': (ctx) => ({ columns: passThrough(only(ctx)), dataset: [] }),
  'transformer/window-rank@1': (ctx) => {
    const input = only(ctx)
    const partitionBy = ctx.config['partitionBy'] as readonly string[]
    const orderBy = ctx.config['orderBy'] as readonly OrderItem[]
    const fn = ctx.config['function'] as string
    const inputs = [
      ...partitionBy.flatMap((p) => dep(input, p, indirect('WINDOW', `${fn} partition`))),
      ...orderBy.flatMap((o) => dep(input, o.column, indirect('WINDOW', `${fn} order`))),
    ]
    const type = fn === 'percent_rank' ? 'double' : 'int'
    return { columns: [...passThrough(input), { name: ctx.config['alias'] as string, type, inputs }], dataset: [] }
  },
  'transformer/fill-nulls@1': (ctx) => {
    const input = only(ctx)
    const values = ctx.config['values'] as readonly { column: string }[]
    const filled = new Set(values.map((v) => lower(v.column)))
    return {
      columns: passThrough(input).map((c) =>
        filled.has(lower(c.name))
          ? { ...c, inputs: dep(input, c.name, direct('TRANSFORMATION', 'nulls replaced by a constant')) }
          : c,
      ),
      dataset: [],
    }
  },
  'transformer/sql@1': opaque('custom SQL'),
  'transformer/scd2@1': (ctx) => {
    const current = only(ctx, 'current')
    const incoming = only(ctx, 'incoming')
    const c = ctx.config as { keys: string[]; tracked: string[]; validFrom: string; validTo: string; isCurrent: string }
    const both = (name: string) => [
      ...dep(current, name, direct('IDENTITY')),
      ...dep(incoming, name, direct('IDENTITY')),
    ]
    const cols = [...c.keys, ...c.tracked.filter((t) => !c.keys.includes(t))]
    const changes = 'set when a tracked column changes'
    return {
      columns: [
        ...cols.map((name) => ({ name, ...typeOf(incoming, name), inputs: both(name) })),
        { name: c.validFrom, type: 'timestamp', inputs: dep(current, c.validFrom, direct('IDENTITY')) },
        {
          name: c.validTo,
          type: 'timestamp',
          inputs: [
            ...dep(current, c.validTo, direct('TRANSFORMATION', changes)),
            ...c.tracked.flatMap((t) => [
              ...dep(current, t, indirect('CONDITIONAL', changes)),
              ...dep(incoming, t, indirect('CONDITIONAL', changes)),
            ]),
          ],
        },
        { name: c.isCurrent, type: 'boolean', inputs: dep(current, c.isCurrent, direct('TRANSFORMATION', changes)) },
      ],
      dataset: [
        ...c.keys.flatMap((k) => [...dep(current, k, indirect('JOIN')), ...dep(incoming, k, indirect('JOIN'))]),
        ...dep(current, c.isCurrent, indirect('FILTER')),
      ],
    }
  },
}

function aggregateType(fn: string, input: string | undefined): string | undefined {
  switch (fn) {
    case 'count':
    case 'count_distinct':
      return 'bigint'
    case 'avg':
      return input?.startsWith('decimal') ? undefined : 'double'
    case 'sum':
      if (input === undefined) return undefined
      if (['tinyint', 'smallint', 'int', 'bigint'].includes(input)) return 'bigint'
      return ['float', 'double'].includes(input) ? 'double' : undefined
    case 'min':
    case 'max':
    case 'first':
    case 'last':
      return input
    default:
      return input === undefined ? undefined : `array<${input}>`
  }
}

/**
 * Derives the column lineage of every node of a pipeline from its document: each node's output columns and, for each,
 * the input fields it comes from with an OpenLineage transformation type and subtype, plus the fields that affect the
 * whole output (join keys, filter, group-by, sort and window columns, as `INDIRECT`). Built-in components are read
 * structurally (their configs; SQL expressions through core's Spark SQL lexer); custom SQL and custom components are
 * marked `derived: false` and depend on every input column. Quality checks and sinks pass columns on unchanged.
 *
 * @throws {@link ValidationError} when the document is invalid.
 * @example
 * ```ts
 * import { columnLineage, createDefaultRegistry } from '@sparkle-studio/core'
 *
 * const lineage = columnLineage(document, createDefaultRegistry(), {
 *   sourceColumns: { orders: [{ name: 'order_id', type: 'bigint' }, { name: 'amount', type: 'double' }] },
 * })
 * console.log(lineage.nodes.get('revenue')?.columns)
 * ```
 */
export function columnLineage(
  document: unknown,
  registry: ComponentRegistry,
  options: ColumnLineageOptions,
): PipelineColumnLineage {
  const validation = validatePipeline(document, registry, { mode: 'preview' })
  if (!validation.ok) {
    throw new ValidationError(`The pipeline is invalid (${validation.issues.length} problems)`, validation.issues)
  }
  const { document: doc, configs } = validation
  const components = new Map<string, ComponentDefinition>(
    doc.nodes.map((n) => [n.id, registry.require(n.data.component)]),
  )
  const ports = new Map<string, Map<string, string[]>>()
  const indegree = new Map(doc.nodes.map((n) => [n.id, 0]))
  for (const e of doc.edges) {
    const component = components.get(e.target)
    const port = e.targetHandle ?? component?.inputs[0]?.name ?? 'in'
    const byPort = ports.get(e.target) ?? new Map<string, string[]>()
    byPort.set(port, [...(byPort.get(port) ?? []), e.source])
    ports.set(e.target, byPort)
    indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1)
  }
  const nodes = new Map<string, NodeLineage>()
  const inputIds = new Map<string, readonly string[]>()
  // Kahn's order over the (validated, acyclic) graph; ties keep document order.
  const pending = [...doc.nodes]
  while (pending.length > 0) {
    const at = pending.findIndex((n) => (indegree.get(n.id) ?? 0) === 0)
    const node = pending.splice(at === -1 ? 0 : at, 1)[0]
    if (node === undefined) break
    for (const e of doc.edges) if (e.source === node.id) indegree.set(e.target, (indegree.get(e.target) ?? 0) - 1)
    const component = components.get(node.id) as ComponentDefinition
    if (component.type === 'connection') continue
    const byPort = ports.get(node.id) ?? new Map<string, string[]>()
    const inputs = new Map<string, Input[]>()
    for (const port of component.inputs) {
      inputs.set(
        port.name,
        (byPort.get(port.name) ?? []).map((id) => ({ nodeId: id, columns: nodes.get(id)?.columns ?? [] })),
      )
    }
    inputIds.set(
      node.id,
      component.inputs.flatMap((p) => byPort.get(p.name) ?? []),
    )
    const ctx: RuleContext = {
      nodeId: node.id,
      config: configs.get(node.id) ?? {},
      inputs,
      given: Object.hasOwn(options.sourceColumns, node.id) ? options.sourceColumns[node.id] : undefined,
    }
    const rule: Rule =
      RULES[component.ref] ??
      (component.type === 'ingestor'
        ? sourceRule
        : component.type === 'quality' || component.type === 'sink'
          ? (c) => ({ columns: passThrough(only(c, component.inputs[0]?.name)), dataset: [] })
          : opaque(`custom component ${component.ref}`))
    const result = rule(ctx)
    nodes.set(node.id, {
      nodeId: node.id,
      component: component.ref,
      columns: result.columns,
      dataset: result.dataset,
      derived: result.derived ?? true,
      ...(result.note === undefined ? {} : { note: result.note }),
    })
  }
  return { nodes, inputs: inputIds }
}
