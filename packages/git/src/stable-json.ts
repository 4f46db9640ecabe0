import type { ValidationIssue } from '@sparkle-studio/core'

/** Conventional key order of a pipeline document, so diffs read top-down like the editor shows it. */
const TOP_KEYS = ['schemaVersion', 'name', 'description', 'tags', 'params', 'nodes', 'edges', 'schedule', 'spark']
const NODE_KEYS = ['id', 'type', 'position', 'data']
const NODE_DATA_KEYS = ['component', 'label', 'config']
const EDGE_KEYS = ['id', 'source', 'sourceHandle', 'target', 'targetHandle']
const POSITION_KEYS = ['x', 'y']

/** Deepest nesting accepted: documents are written by people and tools, not generated recursively. */
const MAX_DEPTH = 64

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function pointerPart(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1')
}

/** Appends one segment to a JSON pointer (RFC 6901). */
export function pointer(base: string, key: string | number): string {
  return `${base}/${pointerPart(key)}`
}

/**
 * Issues for anything JSON cannot hold faithfully (NaN, Infinity, functions, class instances such as Date, `undefined`
 * inside arrays, too deep nesting), so a saved document reads back exactly as it was given. `undefined` object
 * properties are dropped, as JSON does.
 */
export function jsonIssues(value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  const visit = (v: unknown, path: string, depth: number): void => {
    if (issues.length >= 20) return
    if (depth > MAX_DEPTH) {
      issues.push({ path, code: 'not_json', message: `nesting deeper than ${MAX_DEPTH} levels` })
      return
    }
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) issues.push({ path, code: 'not_json', message: `${v} is not a JSON number` })
      return
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (item === undefined) issues.push({ path: pointer(path, i), code: 'not_json', message: 'undefined in array' })
        else visit(item, pointer(path, i), depth + 1)
      })
      return
    }
    if (isPlainObject(v)) {
      for (const [k, item] of Object.entries(v)) if (item !== undefined) visit(item, pointer(path, k), depth + 1)
      return
    }
    const what = typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v
    issues.push({ path, code: 'not_json', message: `a ${what} is not a JSON value` })
  }
  visit(value, '', 0)
  return issues
}

type KeyOrder = readonly string[] | undefined

function orderedKeys(obj: Record<string, unknown>, conventional: KeyOrder): string[] {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined)
  const rest = keys.filter((k) => !conventional?.includes(k)).sort(compareCodeUnits)
  const first = conventional ? conventional.filter((k) => keys.includes(k)) : []
  return [...first, ...rest]
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Which conventional order applies to the object found at `path` (an array of keys from the root). */
function orderFor(path: readonly (string | number)[]): KeyOrder {
  if (path.length === 0) return TOP_KEYS
  const [top, index, child] = path
  if (top === 'nodes' && typeof index === 'number') {
    if (path.length === 2) return NODE_KEYS
    if (path.length === 3 && child === 'data') return NODE_DATA_KEYS
    if (path.length === 3 && child === 'position') return POSITION_KEYS
    return undefined
  }
  if (top === 'edges' && typeof index === 'number' && path.length === 2) return EDGE_KEYS
  return undefined
}

function write(value: unknown, path: (string | number)[], indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    const inner = `${indent}  `
    const items = value.map((item, i) => {
      path.push(i)
      const text = write(item, path, inner)
      path.pop()
      return `${inner}${text}`
    })
    return `[\n${items.join(',\n')}\n${indent}]`
  }
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>
    const keys = orderedKeys(obj, orderFor(path))
    if (keys.length === 0) return '{}'
    const inner = `${indent}  `
    const items = keys.map((k) => {
      path.push(k)
      const text = write(obj[k], path, inner)
      path.pop()
      return `${inner}${JSON.stringify(k)}: ${text}`
    })
    return `{\n${items.join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value)
}

/**
 * Serializes a pipeline document the one way the store writes it: 2-space indent, a trailing newline, top-level keys in
 * the conventional order (`schemaVersion`, `name`, `description`, `tags`, `params`, `nodes`, `edges`, `schedule`,
 * `spark`), node keys as `id`, `type`, `position`, `data` (`component`, `label`, `config`), edge keys as `id`, `source`,
 * `sourceHandle`, `target`, `targetHandle`, and every other object's keys sorted. Array order is kept. The same
 * document always gives the same bytes, so a save that changes nothing makes no commit and diffs stay small.
 *
 * @example
 * ```ts
 * import { stringifyPipeline } from '@sparkle-studio/git'
 *
 * stringifyPipeline({ nodes: [], name: 'orders', schemaVersion: 1, edges: [] })
 * // '{\n  "schemaVersion": 1,\n  "name": "orders",\n  "nodes": [],\n  "edges": []\n}\n'
 * ```
 */
export function stringifyPipeline(document: unknown): string {
  return `${write(document, [], '')}\n`
}
