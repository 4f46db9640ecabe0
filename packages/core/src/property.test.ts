import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compilePipeline } from './compiler.ts'
import { builtinComponents, createDefaultRegistry } from './components/index.ts'
import { isStudioError } from './errors.ts'
import { checkSqlFragment, quoteIdent, sqlString } from './sql.ts'
import { validatePipeline } from './validate-pipeline.ts'

const registry = createDefaultRegistry()
const RUNS = 1000

/** Spark's lexer for a single-quoted string literal (backslash escapes): index just past the closing quote. */
function endOfSparkString(sql: string, start: number): number {
  if (sql[start] !== "'") throw new Error('not a string literal')
  let i = start + 1
  while (i < sql.length) {
    if (sql[i] === '\\') i += 2
    else if (sql[i] === "'") return i + 1
    else i++
  }
  return -1
}

/** Spark's lexer for a backtick identifier (doubled backticks stand for one). */
function endOfSparkIdent(sql: string, start: number): number {
  let i = start + 1
  while (i < sql.length) {
    if (sql[i] === '`') {
      if (sql[i + 1] === '`') i += 2
      else return i + 1
    } else i++
  }
  return -1
}

function unescapeSpark(literal: string): string {
  let out = ''
  for (let i = 1; i < literal.length - 1; i++) {
    const ch = literal[i] as string
    if (ch !== '\\') {
      out += ch
      continue
    }
    const next = literal[++i]
    if (next === 'u') {
      out += String.fromCharCode(Number.parseInt(literal.slice(i + 1, i + 5), 16))
      i += 4
    } else out += next
  }
  return out
}

const anyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string(),
  fc.constantFrom("'", '\\', "\\'", '`', '``', "'; DROP TABLE x; --", '\u2028', '\0'),
)

describe('property: escaping never lets a value out of its literal or identifier', () => {
  it('sqlString: the literal ends exactly at its end and decodes back to the value', () => {
    fc.assert(
      fc.property(anyString, (value) => {
        const literal = sqlString(value)
        const sql = `${literal} AS x`
        expect(endOfSparkString(sql, 0)).toBe(literal.length)
        expect(unescapeSpark(literal)).toBe(value)
      }),
      { numRuns: RUNS },
    )
  })

  it('quoteIdent: the identifier ends exactly at its end', () => {
    fc.assert(
      fc.property(anyString, (name) => {
        const ident = quoteIdent(name)
        expect(endOfSparkIdent(`${ident}.x`, 0)).toBe(ident.length)
      }),
      { numRuns: RUNS },
    )
  })

  // The same against Spark's own parser, with many more shapes: spark-parser.test.ts.
  it('checkSqlFragment: an accepted fragment wrapped in parentheses never closes them early', () => {
    const sqlish = fc
      .array(fc.constantFrom('a', '1', ' ', '(', ')', "'", '"', '`', '\\', ';', '-', '/', '*', 'r', 'OR'), {
        maxLength: 30,
      })
      .map((p) => p.join(''))
    fc.assert(
      fc.property(fc.oneof(sqlish, anyString), (fragment) => {
        if (checkSqlFragment(fragment) !== undefined) return
        // Walk the wrapped fragment like Spark's lexer: depth must stay >= 1 until the final ')'.
        const wrapped = `(${fragment})`
        let depth = 0
        let i = 0
        while (i < wrapped.length) {
          const ch = wrapped[i] as string
          if (ch === "'" || ch === '"') {
            const raw = /[rR]/.test(wrapped[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(wrapped[i - 2] ?? '')
            i++
            while (i < wrapped.length && wrapped[i] !== ch) i += wrapped[i] === '\\' && !raw ? 2 : 1
            i++
            continue
          }
          if (ch === '`') {
            i = endOfSparkIdent(wrapped, i)
            expect(i).toBeGreaterThan(0)
            continue
          }
          if (ch === '-' && wrapped[i + 1] === '-') {
            // An accepted -- comment ends with a line break inside the fragment.
            i = wrapped.indexOf('\n', i)
            expect(i).toBeGreaterThan(0)
            continue
          }
          if (ch === '/' && wrapped[i + 1] === '*' && wrapped[i + 2] !== '+') {
            let nested = 0
            do {
              if (wrapped.startsWith('/*', i) && wrapped[i + 2] !== '+') {
                nested++
                i += 2
              } else if (wrapped.startsWith('*/', i)) {
                nested--
                i += 2
              } else i++
            } while (nested > 0 && i < wrapped.length)
            expect(nested).toBe(0)
            continue
          }
          if ((ch === '*' && wrapped[i + 1] === '/') || (ch === '/' && wrapped[i + 1] === '*')) {
            i += ch === '/' ? 3 : 2
            continue
          }
          if (ch === '(') depth++
          if (ch === ')') depth--
          if (i < wrapped.length - 1) expect(depth).toBeGreaterThanOrEqual(1)
          i++
        }
        expect(depth).toBe(0)
      }),
      { numRuns: RUNS * 3 },
    )
  })
})

const jsonValue = fc.jsonValue({ maxDepth: 3 })
const componentRef = fc.constantFrom(
  ...builtinComponents.map((c) => c.ref),
  'transformer/filter@7',
  'nope',
  'ingestor/csv@1',
)
const nodeId = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'sink-1'), fc.string({ maxLength: 70 }))
const configFor = (ref: string) => {
  const c = builtinComponents.find((x) => x.ref === ref)
  const example = c?.examples?.[0]?.config
  return example
    ? fc.oneof(fc.constant(example), fc.dictionary(fc.string({ maxLength: 12 }), jsonValue))
    : fc.dictionary(fc.string({ maxLength: 12 }), jsonValue)
}
const node = componentRef.chain((component) =>
  fc.record({
    id: nodeId,
    position: fc.record({ x: fc.integer(), y: fc.integer() }),
    data: fc.record({ component: fc.constant(component), config: configFor(component) }),
  }),
)
const document = fc.record({
  schemaVersion: fc.oneof(fc.constant(2), fc.integer()),
  name: fc.oneof(fc.constant('generated'), fc.string({ maxLength: 80 })),
  params: fc.option(
    fc.array(
      fc.record({
        name: fc.constantFrom('ds', 'x', '1bad'),
        type: fc.constantFrom('string', 'int', 'date', 'timestamp', 'float'),
      }),
      { maxLength: 3 },
    ),
    { nil: undefined },
  ),
  nodes: fc.array(node, { maxLength: 8 }),
  edges: fc.array(
    fc.record({
      id: fc.string({ maxLength: 6 }),
      source: nodeId,
      target: nodeId,
      targetHandle: fc.option(fc.constantFrom('in', 'left', 'right', 'zzz'), { nil: undefined }),
    }),
    { maxLength: 10 },
  ),
})
const junk = fc.oneof(fc.anything(), jsonValue, document)

describe('property: parse, validate and compile only ever throw the typed validation error', () => {
  it(`holds for ${RUNS} generated documents`, () => {
    fc.assert(
      fc.property(
        junk,
        fc.dictionary(fc.constantFrom('ds', 'x', 'y'), jsonValue),
        fc.constantFrom('run' as const, 'preview' as const),
        (doc, params, mode) => {
          validatePipeline(doc, registry, { mode })
          try {
            compilePipeline(doc, registry, { params, mode })
          } catch (error) {
            expect(isStudioError(error) && error.code === 'VALIDATION_FAILED', String(error)).toBe(true)
          }
        },
      ),
      { numRuns: RUNS },
    )
  })

  it(`keeps any string value inside its literal: the SQL skeleton does not change (${RUNS} documents)`, () => {
    // Replace every string literal by ? and every quoted identifier by #: what is left is the statement's shape.
    const skeleton = (sql: string) => {
      let out = ''
      let i = 0
      while (i < sql.length) {
        const ch = sql[i] as string
        if (ch === "'") {
          const end = endOfSparkString(sql, i)
          expect(end).toBeGreaterThan(i)
          out += '?'
          i = end
        } else if (ch === '`') {
          const end = endOfSparkIdent(sql, i)
          expect(end).toBeGreaterThan(i)
          out += '#'
          i = end
        } else {
          out += ch
          i++
        }
      }
      return out
    }
    const build = (text: string, column: string, excluded: string) => ({
      schemaVersion: 2,
      name: 'strings',
      params: [{ name: 'excluded', type: 'string', default: excluded }],
      nodes: [
        {
          id: 'rows',
          position: { x: 0, y: 0 },
          data: {
            component: 'ingestor/inline@1',
            config: { columns: [{ name: column, type: 'string' }], rows: [[text], [null]] },
          },
        },
        {
          id: 'keep',
          position: { x: 1, y: 0 },
          data: {
            component: 'transformer/filter@1',
            config: { condition: `${'`'}${column.replaceAll('`', '``')}${'`'} <> {{excluded}}` },
          },
        },
        {
          id: 'fill',
          position: { x: 2, y: 0 },
          data: { component: 'transformer/fill-nulls@1', config: { values: [{ column, value: text }] } },
        },
        {
          id: 'ok',
          position: { x: 3, y: 0 },
          data: { component: 'quality/accepted-values@1', config: { column, values: [text, excluded] } },
        },
        { id: 'out', position: { x: 4, y: 0 }, data: { component: 'sink/csv@1', config: { path: `/out/${text}` } } },
      ],
      edges: [
        { id: 'e1', source: 'rows', target: 'keep' },
        { id: 'e2', source: 'keep', target: 'fill' },
        { id: 'e3', source: 'fill', target: 'ok' },
        { id: 'e4', source: 'ok', target: 'out' },
      ],
    })
    const sqlOf = (d: unknown) =>
      compilePipeline(d, registry)
        .steps.map((s) => ('sql' in s ? s.sql : ''))
        .join('\n')
    const reference = skeleton(sqlOf(build('x', 'c', 'y')))
    fc.assert(
      fc.property(
        anyString.filter((t) => t.length <= 10_000),
        // A name with "${" is refused (Spark would substitute it before parsing): see compiler.policy.test.ts.
        fc.string({ minLength: 1, maxLength: 40 }).filter((c) => !c.includes('${')),
        anyString.filter((t) => t.length <= 10_000),
        (text, column, excluded) => {
          expect(skeleton(sqlOf(build(text, column, excluded)))).toBe(reference)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it(`holds for ${RUNS} generated component configs`, () => {
    fc.assert(
      fc.property(
        componentRef.filter((r) => registry.resolve(r) !== undefined),
        fc.oneof(jsonValue, fc.anything()),
        (ref, config) => {
          const result = registry.validateConfig(ref, config)
          if (!result.ok)
            for (const issue of result.issues) expect(issue.path.startsWith('/') || issue.path === '').toBe(true)
        },
      ),
      { numRuns: RUNS },
    )
  })
})
