import { describe, expect, it } from 'vitest'
import type { ResolvedParam } from './params.ts'
import { renderRemoteIdentifierTemplate, renderRemoteSqlTemplate, renderSqlTemplate } from './sql-template.ts'

const params: Record<string, ResolvedParam> = {
  ds: { type: 'date', value: '2026-11-01' },
  at: { type: 'timestamp', value: '2026-11-01T03:00:00Z' },
  who: { type: 'string', value: "o'reilly \\ \u0024{env:HOME}" },
  n: { type: 'int', value: -5 },
  m: { type: 'int', value: 7 },
  table: { type: 'string', value: 'orders; DROP TABLE x' },
  day: { type: 'string', value: '20261101' },
}
const problem = (r: ReturnType<typeof renderSqlTemplate>) => ('problem' in r ? r.problem.code : undefined)

describe('renderSqlTemplate: a param in SQL is always a typed literal', () => {
  it('writes typed, escaped literals; $ is escaped so that Spark cannot substitute it', () => {
    expect(renderSqlTemplate('d = {{ds}} AND t < {{ at }} AND w <> {{who}} AND x > a-{{n}}', params)).toEqual({
      text: "d = DATE'2026-11-01' AND t < TIMESTAMP'2026-11-01T03:00:00Z' AND w <> 'o\\'reilly \\\\ \\u0024{env:HOME}' AND x > a-(-5)",
    })
  })

  it("refuses a quoted placeholder ('{{p}}'), with the fix", () => {
    for (const t of ["d = '{{ds}}'", 'd = "{{ds}}"', 'd = `{{ds}}`', "d LIKE '%{{who}}%'", 'd = 1 /* {{who}} */']) {
      const r = renderSqlTemplate(t, params)
      expect(problem(r), t).toBe('param_in_quotes')
    }
    const r = renderSqlTemplate("d = '{{ds}}'", params)
    expect('problem' in r && r.problem.message).toContain('write {{ds}} without quotes; it becomes a typed literal')
  })

  it('refuses a placeholder that runs into its neighbours (a raw-string prefix, a number, a word)', () => {
    expect(problem(renderSqlTemplate('a = r{{who}}', params))).toBe('param_not_separated')
    expect(problem(renderSqlTemplate('a = x{{ds}}', params))).toBe('param_not_separated')
    expect(problem(renderSqlTemplate('a = {{m}}5', params))).toBe('param_not_separated')
    expect(problem(renderSqlTemplate("a = {{who}}'x'", params))).toBe('param_not_separated')
    expect(problem(renderSqlTemplate('a = {{nope}}', params))).toBe('unknown_param')
  })
})

describe('params in SQL run by a database and in table names', () => {
  it('writes portable literals into a JDBC query and refuses quoted placeholders', () => {
    expect(renderRemoteSqlTemplate('SELECT * FROM t WHERE d = {{ds}} AND n > {{n}}', params)).toEqual({
      text: "SELECT * FROM t WHERE d = '2026-11-01' AND n > (-5)",
    })
    expect(renderRemoteSqlTemplate('WHERE name = {{day}}', params)).toEqual({ text: "WHERE name = '20261101'" })
    expect(problem(renderRemoteSqlTemplate("WHERE d = '{{ds}}'", params))).toBe('param_in_quotes')
    // MySQL reads \' as a quote inside the string: the placeholder is inside it there.
    expect(problem(renderRemoteSqlTemplate("WHERE a = '\\' AND d = {{ds}} -- '", params))).toBe('param_in_quotes')
    expect(problem(renderRemoteSqlTemplate('WHERE d = $${{ds}}$$', params))).toBe('param_in_quotes')
    expect(problem(renderRemoteSqlTemplate('WHERE d = x{{ds}}', params))).toBe('param_not_separated')
    expect(problem(renderRemoteSqlTemplate('WHERE w = {{who}}', params))).toBe('invalid_param_value')
  })

  it('takes only letters, digits and _ from a param in a table name', () => {
    expect(renderRemoteIdentifierTemplate('events_{{day}}', params)).toEqual({ text: 'events_20261101' })
    expect(problem(renderRemoteIdentifierTemplate('{{table}}', params))).toBe('invalid_param_value')
    expect(problem(renderRemoteIdentifierTemplate('events_{{ds}}', params))).toBe('invalid_param_value')
  })
})
