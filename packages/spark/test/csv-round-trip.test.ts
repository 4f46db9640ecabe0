// CSV as Python's csv module (and Excel, RFC 4180) writes it, through the csv ingestor and the csv sink on real Spark:
// hostile strings must come back exactly, and the sink must write the bytes Python writes for the same rows.
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { compilePipeline, createDefaultRegistry, type ExecutionPlan, type PipelineDocument } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PlanRunResult, runPlan } from '../src/run-plan.ts'
import { findSparkRuntime, type SparkRuntime } from '../src/runtime.ts'

const execFileAsync = promisify(execFile)
const script = join(import.meta.dirname, 'csv_dialect.py')

/** [text, id, other]: the hostile value first, so it also sits next to the byte order mark and the delimiter. */
const HOSTILE: readonly (string | null)[] = [
  'say "hi" twice',
  'backslash escape \\"style\\"',
  'both ""doubled"" and \\"escaped\\"',
  '"',
  '""',
  '"leading quote',
  'trailing quote"',
  'a,b,c',
  ',',
  'line1\nline2',
  'cr\rmid',
  'crlf\r\nmid',
  '\r\n',
  '\nstarts with LF',
  'ends with CR\r',
  'emoji 😀 👩🏽‍💻 family 👨‍👩‍👧',
  'RTL שלום עולם and مرحبا',
  '  leading and trailing  ',
  ' ',
  '\ttab',
  '',
  null,
  'ends with backslash\\',
  '\\',
  '\\\\',
  '#not a comment',
  "'single quotes'",
  'NULL',
  '\\N',
]
const OTHER: readonly (string | null)[] = [null, '', ' x ', 'plain', '"q"', 'a\r\nb']

const HEADER = ['text', 'id', 'other']
const rows = HOSTILE.map((text, i) => [text, String(i + 1), OTHER[i % OTHER.length] ?? null])

const LEGACY_FILE = [
  'text;n',
  '"say \\"hi\\" twice";1',
  '"a;b";2',
  'NULL;3',
  '"";4',
  ';5',
  '"C:\\\\temp\\\\";6',
  '"two\nlines";7',
  '',
].join('\n')
const LEGACY_ROWS = [
  { text: 'say "hi" twice', n: 1 },
  { text: 'a;b', n: 2 },
  { text: null, n: 3 },
  { text: '', n: 4 },
  { text: null, n: 5 },
  { text: 'C:\\temp\\', n: 6 },
  { text: 'two\nlines', n: 7 },
]

const node = (id: string, component: string, config: Record<string, unknown>, x: number) => ({
  id,
  position: { x, y: 0 },
  data: { component, config },
})

describe('csv ingestor and sink on real Spark: RFC 4180 files as Python writes them', () => {
  let dir: TempDir
  let runtime: SparkRuntime
  let result: PlanRunResult
  let outputFile: string

  beforeAll(async () => {
    dir = await makeTempDir('sparkle-csv-')
    runtime = await findSparkRuntime()
    const rowsFile = join(dir.path, 'rows.json')
    await writeFile(rowsFile, JSON.stringify([HEADER, ...rows]))
    // Python's default: CRLF records, as RFC 4180; with the byte order mark Excel writes (utf-8-sig).
    const input = join(dir.path, 'input.csv')
    await execFileAsync(runtime.python, [script, 'write', rowsFile, input, 'crlf', 'bom'])

    // Another dialect: semicolons, quotes escaped with a backslash (as Spark's CSV writer does by default), NULL.
    const legacy = join(dir.path, 'legacy.csv')
    await writeFile(legacy, LEGACY_FILE)

    const document: PipelineDocument = {
      schemaVersion: 2,
      name: 'csv-round-trip',
      nodes: [
        // The file's line separator named: line breaks inside quoted fields come back exactly.
        node('src', 'ingestor/csv@1', { path: input, lineSeparator: 'crlf' }, 0),
        node('out', 'sink/csv@1', { path: join(dir.path, 'out'), mode: 'overwrite' }, 240),
        // Every default: the line separator detected.
        node('auto', 'ingestor/csv@1', { path: input }, 0),
        node('auto-out', 'sink/parquet@1', { path: join(dir.path, 'auto-out'), mode: 'overwrite' }, 240),
        node('legacy', 'ingestor/csv@1', { path: legacy, delimiter: ';', escape: '\\', nullValue: 'NULL' }, 0),
        node('legacy-out', 'sink/parquet@1', { path: join(dir.path, 'legacy-out'), mode: 'overwrite' }, 240),
      ],
      edges: [
        { id: 'e1', source: 'src', target: 'out' },
        { id: 'e2', source: 'auto', target: 'auto-out' },
        { id: 'e3', source: 'legacy', target: 'legacy-out' },
      ],
    }
    const plan = compilePipeline(document, createDefaultRegistry())
    // The rows each ingestor read, reported by the same run.
    const query = (nodeId: string) => ({
      nodeId,
      kind: 'query' as const,
      sql: `SELECT * FROM \`sparkle_${nodeId}\``,
      limit: 1000,
    })
    const withQueries: ExecutionPlan = { ...plan, steps: [...plan.steps, query('src'), query('auto'), query('legacy')] }
    result = await runPlan(withQueries, { runtime, master: 'local[1]' })
    const parts = (await readdir(join(dir.path, 'out'))).filter((f) => f.startsWith('part-'))
    expect(parts).toHaveLength(1)
    outputFile = join(dir.path, 'out', parts[0] as string)
  })
  afterAll(async () => {
    await dir?.remove()
  })

  it('runs', () => {
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('succeeded')
  })

  it('reads every value exactly as Python wrote it: "" is the empty string, an unquoted empty field null', () => {
    const read = result.rows['src']
    expect(read?.schema.map((c) => `${c.name}:${c.type}`)).toEqual(['text:string', 'id:int', 'other:string'])
    expect(read?.rows).toEqual(rows.map(([text, id, other]) => ({ text, id: Number(id), other })))
  })

  it('with the line separator detected, reads the same except a CRLF inside a quoted field, which becomes LF', () => {
    const lf = (v: string | null) => (v === null ? null : v.replaceAll('\r\n', '\n'))
    expect(result.rows['auto']?.rows).toEqual(
      rows.map(([text, id, other]) => ({ text: lf(text ?? null), id: Number(id), other: lf(other ?? null) })),
    )
  })

  it('reads another dialect by config: semicolons, backslash escapes, NULL for null', () => {
    expect(result.rows['legacy']?.rows).toEqual(LEGACY_ROWS)
  })

  it("writes byte for byte what Python's csv.writer writes for the same rows (QUOTE_MINIMAL, LF records)", async () => {
    const expectedFile = join(dir.path, 'expected.csv')
    await execFileAsync(runtime.python, [script, 'write', join(dir.path, 'rows.json'), expectedFile, 'lf'])
    const actual = await readFile(outputFile)
    const expected = await readFile(expectedFile)
    // Compared as text first, for a readable difference; then the bytes.
    expect(actual.toString('utf8')).toBe(expected.toString('utf8'))
    expect(actual.equals(expected)).toBe(true)
  })

  it("reads back with Python's csv module as the rows that went in", async () => {
    const { stdout } = await execFileAsync(runtime.python, [script, 'read', outputFile])
    // Python's reader (3.11) reads null and "" both as "": the bytes above tell them apart.
    expect(JSON.parse(stdout)).toEqual([HEADER, ...rows.map((row) => row.map((v) => v ?? ''))])
  })
})
