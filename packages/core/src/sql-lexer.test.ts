import { describe, expect, it } from 'vitest'
import { checkSqlFragment } from './sql.ts'
import { lexSparkSql } from './sql-lexer.ts'

const shape = (text: string) =>
  lexSparkSql(text)
    .tokens.filter((t) => t.kind !== 'whitespace')
    .map((t) => `${t.kind}:${t.text}`)
const code = (fragment: string, kind: 'expression' | 'query' = 'expression') =>
  checkSqlFragment(fragment, { kind })?.code

// Each expectation was checked against Spark 4.3's SqlBaseLexer (test/spark_parser_oracle.py, op "lex").
describe('lexSparkSql follows Spark 4.3', () => {
  it('ends a raw string at its first quote: no escapes, no doubled quotes', () => {
    expect(shape("r'\\' || x")).toEqual(["string:r'\\'", 'symbol:|', 'symbol:|', 'word:x'])
    expect(shape("r'a''b'")).toEqual(["string:r'a'", "string:'b'"])
    expect(shape('R"\\"')).toEqual(['string:R"\\"'])
  })

  it('reads backslash escapes and doubled quotes in normal strings, doubled backquotes in identifiers', () => {
    expect(shape("'a\\'b' 'it''s' \"a\"\"b\" `a``b`")).toEqual([
      "string:'a\\'b'",
      "string:'it''s'",
      'string:"a""b"',
      'quoted-identifier:`a``b`',
    ])
  })

  it('knows when an r belongs to the word before it, and when a number ends before it', () => {
    expect(shape("xr'a'")).toEqual(['word:xr', "string:'a'"])
    expect(shape("ér'a'")).toEqual(['word:ér', "string:'a'"])
    expect(shape("1.5r'a'")).toEqual(['word:1', 'symbol:.', 'word:5r', "string:'a'"])
    expect(shape("1.r'a'")).toEqual(['word:1', 'symbol:.', "string:r'a'"])
    // DIGIT+ EXPONENT has no isValidDecimal() check: the number ends, and r'…' is a raw string.
    expect(shape("1E+5r'a'")).toEqual(['word:1E+5', "string:r'a'"])
    expect(shape("1.5E3r'a'")).toEqual(['word:1', 'symbol:.', 'word:5E3r', "string:'a'"])
  })

  it('reads U&, X and other prefixes as words before an ordinary string', () => {
    expect(shape("U&'\\0041'")).toEqual(['word:U', 'symbol:&', "string:'\\0041'"])
    expect(shape("X'0A'")).toEqual(['word:X', "string:'0A'"])
  })

  it('reads URIs as one identifier, -- and all', () => {
    expect(shape('a://b/c--d')).toEqual(['word:a://b/c--d'])
    expect(shape("a://b.r'x'")).toEqual(['word:a://b.r', "string:'x'"])
    expect(shape('s3://b--c\n')).toEqual([
      'word:s3',
      'symbol::',
      'symbol:/',
      'symbol:/',
      'word:b',
      'line-comment:--c\n',
    ])
  })

  it('nests block comments, continues -- comments after a backslash, and keeps hints as tokens', () => {
    expect(shape('/* a /* b */ c */ d')).toEqual(['block-comment:/* a /* b */ c */', 'word:d'])
    expect(shape('/*/**/*/ q')).toEqual(['block-comment:/*/**/*/', 'word:q'])
    expect(shape('-- a\\\nb\nc')).toEqual(['line-comment:-- a\\\nb\n', 'word:c'])
    expect(shape('/*+ BROADCAST(t) */')).toEqual([
      'symbol:/*+',
      'word:BROADCAST',
      'symbol:(',
      'word:t',
      'symbol:)',
      'symbol:*/',
    ])
    expect(shape('x */* y */ z')).toEqual(['word:x', 'symbol:*/', 'symbol:*', 'word:y', 'symbol:*/', 'word:z'])
  })

  it('stops at characters Spark does not read outside quotes, and at unterminated strings and comments', () => {
    expect(lexSparkSql('$$x$$').problem?.code).toBe('unrecognized_character')
    expect(lexSparkSql('a # b').problem?.code).toBe('unrecognized_character')
    expect(lexSparkSql('a \\ b').problem?.code).toBe('unrecognized_character')
    expect(lexSparkSql("'abc").problem?.code).toBe('unterminated_quote')
    expect(lexSparkSql("'a''").problem?.code).toBe('unterminated_quote')
    expect(lexSparkSql('/* a /* b */').problem?.code).toBe('unterminated_comment')
    expect(lexSparkSql('a -- b').problem?.code).toBe('unterminated_comment')
    expect(lexSparkSql('a -- b\\\n').problem?.code).toBe('unterminated_comment')
    expect(lexSparkSql('a {{ds}}', { placeholders: true }).tokens.map((t) => t.kind)).toEqual([
      'word',
      'whitespace',
      'placeholder',
    ])
  })
})

describe('checkSqlFragment', () => {
  it('refuses the raw-string attack from the issue, in both spellings', () => {
    expect(code("status = r'\\\\'\\\\' ') OR (1=1) --'")).toBeDefined()
    expect(code("status = r'\\'\\' ') OR (1=1) --'")).toBeDefined()
    // Raw string, then an ordinary string whose \' escapes: the ) is outside any string.
    expect(code("r'x''\\' || ') OR 1=1 OR (' || ''")).toBe('unbalanced_parentheses')
    expect(code("1E+5r'\\' ) OR (1=1 '")).toBe('unbalanced_parentheses')
  })

  it('refuses comments that would swallow the closing parenthesis and accepts the ones that end', () => {
    expect(code('amount > 0 -- positive')).toBe('unterminated_comment')
    expect(code('amount > 0 -- positive\\\n')).toBe('unterminated_comment')
    expect(code('amount > 0 -- positive\n')).toBeUndefined()
    expect(code('amount /* ( */ > 0')).toBeUndefined()
    expect(code('amount /* a /* ) */ > 0')).toBe('unterminated_comment')
    expect(code('/* only a comment */')).toBe('empty')
  })

  it('refuses $-{…} anywhere (Spark substitutes it before parsing), ; and unknown characters', () => {
    expect(code("name = '\u0024{env:AWS_SECRET_ACCESS_KEY}'")).toBe('variable_substitution')
    expect(code('`\u0024{spark.app.name}` = 1')).toBe('variable_substitution')
    expect(code('a = 1; DROP TABLE x')).toBe('statement_separator')
    expect(code("a = ';'")).toBeUndefined()
    expect(code('a = $$x$$')).toBe('unrecognized_character')
    expect(code('a = 1 # b')).toBe('unrecognized_character')
  })

  it('keeps an expression one expression, while a query may have lists and clauses', () => {
    expect(code('a, b')).toBe('not_one_expression')
    expect(code('SELECT 1')).toBe('not_one_expression')
    expect(code('(SELECT 1) UNION (SELECT 2)')).toBe('not_one_expression')
    expect(code('(SELECT a FROM t) |> WHERE a > 1')).toBe('not_one_expression')
    expect(code('a IN (1, 2) AND coalesce(b, 0) > (SELECT max(x) FROM t)')).toBeUndefined()
    expect(code("map('k', 1)['k'] = 1")).toBeUndefined()
    expect(code('SELECT a, b FROM t ORDER BY a LIMIT 5', 'query')).toBeUndefined()
    expect(code('SELECT /*+ BROADCAST(c) */ * FROM o JOIN c USING (id)', 'query')).toBeUndefined()
  })
})
