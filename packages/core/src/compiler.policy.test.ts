import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { customerOrders, dailyRevenue, doc } from '../test/fixtures.ts'
import { type CompileOptions, compilePipeline } from './compiler.ts'
import { createDefaultRegistry } from './components/index.ts'
import type { PipelineDocument } from './document.ts'
import { isStudioError } from './errors.ts'
import { defaultExecutionPolicy, type ExecutionPolicy } from './policy.ts'
import type { ValidationIssue } from './validation-issue.ts'

const registry = createDefaultRegistry()
const policy: ExecutionPolicy = {
  ...defaultExecutionPolicy({ readRoots: ['/data/orders', '/srv/in'], writeRoots: ['/data/out'] }),
  jdbcUrlPatterns: ['jdbc:postgresql://db:5432/dw'],
}

function issues(document: PipelineDocument, options: CompileOptions = {}): ValidationIssue[] {
  try {
    compilePipeline(document, registry, { policy, ...options })
  } catch (error) {
    if (isStudioError(error) && error.code === 'VALIDATION_FAILED') {
      return (error.details as { issues: ValidationIssue[] }).issues
    }
    throw error
  }
  return []
}
const codes = (document: PipelineDocument, options: CompileOptions = {}) =>
  issues(document, options).map(
    (i) => `${i.code}@${i.nodeId ?? ''}${i.path.replace(/^\/nodes\/\d+\/data\/config/, '')}`,
  )

/** csv -> filter(condition) -> parquet sink, with params. */
function pipeline(condition: string, sinkPath = '/data/out/x', params: PipelineDocument['params'] = []) {
  return doc(
    'p',
    [
      ['src', 'ingestor/csv@1', { path: '/data/orders/a.csv' }],
      ['keep', 'transformer/filter@1', { condition }],
      ['out', 'sink/parquet@1', { path: sinkPath }],
    ],
    [
      ['src', 'keep'],
      ['keep', 'out'],
    ],
    { params },
  )
}

describe('compilePipeline under an execution policy', () => {
  it('gives the plan the policy its driver enforces, and normalized paths; the golden plan', () => {
    const d = structuredClone(dailyRevenue)
    ;(d.nodes[0] as { data: { config: Record<string, unknown> } }).data.config['path'] =
      '/data/orders/./{{ds}}/../{{ds}}/*.csv'
    const plan = compilePipeline(d, registry, { policy: { ...policy, writeRoots: ['/data/out'] } })
    expect(plan.policy).toEqual({
      readRoots: ['/data/orders', '/srv/in'],
      writeRoots: ['/data/out'],
      deniedFunctions: ['reflect', 'java_method', 'try_reflect'],
      jdbcUrlPatterns: ['jdbc:postgresql://db:5432/dw'],
    })
    const text = `${JSON.stringify(plan, null, 2)}\n`
    const file = join(import.meta.dirname, '..', 'test', 'golden', 'daily-revenue.policy.golden.json')
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text)
    expect(text).toBe(readFileSync(file, 'utf8'))
    // Without a policy: no policy in the plan, paths as written.
    expect(compilePipeline(dailyRevenue, registry).policy).toBeUndefined()
  })

  it('refuses spark.conf keys and values the policy does not allow', () => {
    const d = pipeline('a > 0')
    d.spark = { conf: { 'spark.sql.shuffle.partitions': '100000', 'spark.jars.packages': 'evil:evil:1' } }
    expect(codes(d)).toEqual([
      'conf_value_not_allowed@/spark/conf/spark.sql.shuffle.partitions',
      'conf_not_allowed@/spark/conf/spark.jars.packages',
    ])
    expect(issues(d)[1]?.path).toBe('/spark/conf/spark.jars.packages')
    expect(issues(d)[1]?.message).toContain('Fix:')
  })

  it('checks read and write paths after params are put in and the path is normalized', () => {
    const params = [{ name: 'out_dir', type: 'string' as const, default: '/data/out/daily' }]
    expect(codes(pipeline('a > 0', '{{out_dir}}/x', params))).toEqual([])
    // A param pointing elsewhere, or climbing out with ../
    expect(codes(pipeline('a > 0', '{{out_dir}}/x', params), { params: { out_dir: '/somewhere' } })).toEqual([
      'write_path_not_allowed@out/path',
    ])
    expect(codes(pipeline('a > 0', '/data/out/{{out_dir}}', params), { params: { out_dir: '../../etc' } })).toEqual([
      'write_path_not_allowed@out/path',
    ])
    expect(codes(pipeline('a > 0', 'file:///data/out/../../etc/x'))).toEqual(['write_path_not_allowed@out/path'])
    expect(codes(pipeline('a > 0', 'relative/out'))).toEqual(['write_path_not_allowed@out/path'])
    // Hadoop expands {a/..,b} into separate paths: refused.
    expect(codes(pipeline('a > 0', '/data/out/a/b/{c/../../../..,d}/x'))).toEqual(['write_path_not_allowed@out/path'])
    const read = pipeline('a > 0')
    ;(read.nodes[0] as { data: { config: Record<string, unknown> } }).data.config = {
      path: '/data/ordersX/a.csv',
      options: { path: '/etc/passwd' },
    }
    expect(codes(read)).toEqual(['read_path_not_allowed@src/path', 'option_not_allowed@src/options/path'])
    const message = issues(read)[0]?.message ?? ''
    expect(message).toContain('Node "src"')
    expect(message).toContain('outside the execution policy')
    expect(message).toContain('Fix: read inside one of: /data/orders, /srv/in')
  })

  it('refuses JDBC URLs that match no pattern, and driver properties, at the connection', () => {
    expect(codes(customerOrders, { policy: { ...policy, readRoots: ['/lake'], writeRoots: [] } })).toEqual([])
    const d = structuredClone(customerOrders)
    const conn = (d.nodes[0] as { data: { config: Record<string, unknown> } }).data.config
    conn['url'] = 'jdbc:postgresql://evil:5432/dw?socketFactory=x'
    conn['options'] = {
      socketFactory: 'org.springframework.context.support.ClassPathXmlApplicationContext',
      driver: 'org.example.AnyClassOnTheClasspath',
    }
    expect(codes(d, { policy: { ...policy, readRoots: ['/lake'], writeRoots: [] } })).toEqual([
      'jdbc_option_not_allowed@warehouse/options/socketFactory',
      'jdbc_option_not_allowed@warehouse/options/driver',
      'jdbc_url_not_allowed@warehouse/url',
    ])
  })

  it('finds calls of denied functions with Spark lexer, in every spelling, and only calls', () => {
    for (const condition of [
      "JAVA_METHOD ('java.lang.Math', 'abs', -1) = 1",
      "java_method/*c*/('java.lang.Math', 'abs', -1) = 1",
      "`reflect`('java.lang.Math', 'abs', -1) = 1",
      "system.builtin.reflect('java.lang.Math', 'abs', -1) = 1",
      "try_reflect\n('java.lang.Math', 'abs', -1) = 1",
      "IDENTIFIER('java_method')('java.lang.Math', 'abs', -1) = 1",
    ]) {
      expect(codes(pipeline(condition)), condition).toEqual(['sql_denied_function@keep/condition'])
    }
    expect(codes(pipeline("IDENTIFIER('java' || '_method')('java.lang.Math', 'abs', -1) = 1"))).toEqual([
      'sql_dynamic_function_name@keep/condition',
    ])
    expect(codes(pipeline("note = 'reflect(x)' AND reflect_count > 0 AND `reflect` = 1"))).toEqual([])
    const message = issues(pipeline("reflect('a', 'b') = 1"))[0]?.message ?? ''
    expect(message).toContain('calls reflect(), which the execution policy denies')
    expect(message).toContain('Fix:')
  })

  it('checks every SQL field: derived columns, custom SQL and checks', () => {
    const d = doc(
      'sql',
      [
        ['src', 'ingestor/csv@1', { path: '/data/orders/a.csv' }],
        ['d', 'transformer/derive@1', { columns: [{ name: 'x', expression: "reflect('a', 'b')" }] }],
        ['q', 'transformer/sql@1', { query: "SELECT TRANSFORM(a) USING 'cat' AS (b) FROM d" }],
        ['f', 'transformer/sql@1', { query: 'SELECT * FROM text.`/etc/passwd`' }],
        ['c', 'quality/expression@1', { condition: "java_method('a', 'b') IS NULL" }],
        ['out', 'sink/parquet@1', { path: '/data/out/y' }],
      ],
      [
        ['src', 'd'],
        ['d', 'q'],
        ['q', 'f'],
        ['f', 'c'],
        ['c', 'out'],
      ],
    )
    expect(codes(d)).toEqual([
      'sql_denied_function@d/columns/0/expression',
      'sql_script_transform@q/query',
      'read_path_not_allowed@f/query',
      'sql_denied_function@c/condition',
    ])
    // The same pipeline compiles without a policy: nothing is checked.
    expect(() => compilePipeline(d, registry)).not.toThrow()
  })

  it('reports every problem at once', () => {
    const d = doc(
      'many',
      [
        ['src', 'ingestor/csv@1', { path: '/etc/{{ds}}' }],
        ['denied', 'transformer/filter@1', { condition: "d = {{ds}} OR reflect('a', 'b') = 1" }],
        ['out', 'sink/parquet@1', { path: '/tmp/out' }],
      ],
      [
        ['src', 'denied'],
        ['denied', 'out'],
      ],
      { params: [{ name: 'ds', type: 'date', default: '2026-11-01' }], spark: { conf: { 'spark.plugins': 'x.Y' } } },
    )
    expect(codes(d)).toEqual([
      'conf_not_allowed@/spark/conf/spark.plugins',
      'sql_denied_function@denied/condition',
      'read_path_not_allowed@src/path',
      'write_path_not_allowed@out/path',
    ])
  })
})

describe('params by field kind (with or without a policy)', () => {
  const params = [
    { name: 'ds', type: 'date' as const, default: '2026-11-01' },
    { name: 'who', type: 'string' as const, default: 'ada' },
  ]

  it('refuses a quoted placeholder in a SQL field when the document is validated and when it is compiled', () => {
    const d = pipeline("order_date = '{{ds}}'", '/data/out/x', params)
    const found = issues(d, { policy: undefined })
    expect(found.map((i) => i.code)).toEqual(['sql_param_in_quotes'])
    expect(found[0]?.path).toBe('/nodes/1/data/config/condition')
    expect(found[0]?.message).toContain('write {{ds}} without quotes; it becomes a typed literal')
  })

  it('refuses param values that would break out of their literal in other kinds of field', () => {
    const d = doc(
      'jdbc',
      [
        ['db', 'connection/jdbc@1', { url: 'jdbc:postgresql://db:5432/dw' }],
        ['src', 'ingestor/jdbc@1', { connection: 'db', query: 'SELECT * FROM t WHERE name = {{who}}' }],
        ['out', 'sink/jdbc@1', { connection: 'db', table: 'mart.t_{{who}}' }],
      ],
      [['src', 'out']],
      { params },
    )
    const plan = compilePipeline(d, registry)
    expect(plan.steps[0]).toMatchObject({ source: { options: { query: "SELECT * FROM t WHERE name = 'ada'" } } })
    expect(plan.steps[1]).toMatchObject({ target: { options: { dbtable: 'mart.t_ada' } } })
    expect(issues(d, { policy: undefined, params: { who: "x' OR 1=1 --" } }).map((i) => i.code)).toEqual([
      'invalid_param_value',
    ])
    expect(issues(d, { policy: undefined, params: { who: 'x\\' } }).map((i) => i.code)).toEqual([
      'invalid_param_value',
      'invalid_param_value',
    ])
  })

  it('never lets Spark substitute $-{…}: literals escape $, names with $-{ are refused', () => {
    const withParam = pipeline('name <> {{who}}', '/data/out/x', params)
    const plan = compilePipeline(withParam, registry, { params: { who: '\u0024{env:HOME}' } })
    const sql = plan.steps.map((s) => ('sql' in s ? s.sql : '')).join('\n')
    expect(sql).toContain("name <> '\\u0024{env:HOME}'")
    expect(sql).not.toContain('${')
    const named = doc(
      'names',
      [
        ['src', 'ingestor/csv@1', { path: '/data/orders/a.csv' }],
        ['s', 'transformer/select@1', { columns: [{ column: 'a', alias: '\u0024{spark.app.name}' }] }],
        ['out', 'sink/parquet@1', { path: '/data/out/x' }],
      ],
      [
        ['src', 's'],
        ['s', 'out'],
      ],
    )
    expect(codes(named, { policy: undefined })).toEqual(['sql_variable_substitution@s/columns/0/alias'])
  })
})
