import { describe, expect, it } from 'vitest'
import type { ReadSource, WriteTarget } from '../plan.ts'
import { createDefaultRegistry } from './index.ts'

const registry = createDefaultRegistry()

function compileNode(component: 'ingestor/csv@1' | 'sink/csv@1', config: Record<string, unknown>) {
  const parsed = registry.validateConfig(component, config)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  const def = registry.require(component)
  return def.compile({
    nodeId: 'n',
    config: parsed.config,
    inputs: component.startsWith('sink') ? { in: 'sparkle_up' } : {},
    connection: () => {
      throw new Error('no connections')
    },
  } as never)
}

const readOptions = (config: Record<string, unknown>) =>
  (compileNode('ingestor/csv@1', { path: '/in.csv', ...config }) as { source: ReadSource }).source.options
const writeOptions = (config: Record<string, unknown>) =>
  (compileNode('sink/csv@1', { path: '/out', ...config }) as { target: WriteTarget }).target.options

describe('csv ingestor options', () => {
  it('reads RFC 4180 by default: doubled quotes, quoted line breaks, "" apart from null', () => {
    expect(readOptions({})).toEqual({
      quote: '"',
      escape: '"',
      multiLine: 'true',
      nullValue: '\u0000',
      emptyValue: '',
      encoding: 'UTF-8',
      header: 'true',
      sep: ',',
      inferSchema: 'true',
    })
  })

  it('maps the dialect fields onto Spark options', () => {
    expect(
      readOptions({
        delimiter: '\t',
        quote: "'",
        escape: '\\',
        multiLine: false,
        lineSeparator: 'crlf',
        nullValue: 'NULL',
        encoding: 'ISO-8859-1',
        header: false,
        inferSchema: false,
      }),
    ).toEqual({
      quote: "'",
      escape: '\\',
      multiLine: 'false',
      nullValue: 'NULL',
      emptyValue: '',
      encoding: 'ISO-8859-1',
      lineSep: '\r\n',
      header: 'false',
      sep: '\t',
      inferSchema: 'false',
    })
  })

  it('keeps saved documents meaning the same: extra options override dialect options, whatever their case', () => {
    const options = readOptions({ options: { ESCAPE: '\\', multiline: 'false', header: 'false', sep: ';' } })
    expect(options).toMatchObject({ ESCAPE: '\\', multiline: 'false', header: 'true', sep: ',' })
    expect(options).not.toHaveProperty('escape')
    expect(options).not.toHaveProperty('multiLine')
  })

  it('refuses a dialect it cannot express', () => {
    for (const config of [
      { escape: '' },
      { escape: '\\\\' },
      { quote: '""' },
      { lineSeparator: '\r\n' },
      { encoding: 'a b' },
    ]) {
      expect(registry.validateConfig('ingestor/csv@1', { path: '/x', ...config }).ok).toBe(false)
    }
  })
})

describe('csv sink options', () => {
  it('writes RFC 4180 by default: minimal quoting, doubled quotes, values untrimmed, "" apart from null', () => {
    expect(writeOptions({})).toEqual({
      sep: ',',
      quote: '"',
      escape: '"',
      escapeQuotes: 'true',
      quoteAll: 'false',
      lineSep: '\n',
      nullValue: '',
      emptyValue: '""',
      encoding: 'UTF-8',
      ignoreLeadingWhiteSpace: 'false',
      ignoreTrailingWhiteSpace: 'false',
      comment: '\uffff',
      header: 'true',
    })
  })

  it('writes the empty string with the configured quote, and extra options override the dialect', () => {
    expect(writeOptions({ quote: "'", lineSeparator: 'crlf', quoteAll: true, nullValue: '\\N' })).toMatchObject({
      quote: "'",
      emptyValue: "''",
      lineSep: '\r\n',
      quoteAll: 'true',
      nullValue: '\\N',
    })
    const options = writeOptions({ options: { IgnoreTrailingWhiteSpace: 'true', emptyValue: '' } })
    expect(options).toMatchObject({ IgnoreTrailingWhiteSpace: 'true', emptyValue: '' })
    expect(options).not.toHaveProperty('ignoreTrailingWhiteSpace')
  })
})
