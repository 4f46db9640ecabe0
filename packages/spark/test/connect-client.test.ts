import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  SparkConnectClient,
  type SparkConnectClientOptions,
  SparkConnectError,
  type SparkConnectServer,
  type SparkProgress,
  startSparkConnectServer,
} from '../src/connect/index.ts'
import { findSparkRuntime } from '../src/runtime.ts'

// One real Spark Connect server (local[2], token-protected, small Arrow batches) for the whole file.
const TOKEN = 'connect-client-test-token'
let server: SparkConnectServer | undefined
let port = 0
const clients: SparkConnectClient[] = []

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port: chosen } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return chosen
}

function client(options: Partial<SparkConnectClientOptions> = {}): SparkConnectClient {
  const made = new SparkConnectClient({ host: '127.0.0.1', port, token: TOKEN, ...options })
  clients.push(made)
  return made
}

beforeAll(async () => {
  server = await startSparkConnectServer({
    runtime: await findSparkRuntime(),
    token: TOKEN,
    conf: {
      'spark.ui.enabled': 'false',
      'spark.connect.grpc.arrow.maxBatchSize': '65536',
      'spark.sql.session.timeZone': 'UTC',
    },
  })
  port = server.port
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await server?.stop()
})

describe('SparkConnectClient against a real Spark Connect server', () => {
  it('returns every common Spark type as its documented JavaScript value', async () => {
    const { schema, rows } = await client().executeSql(`SELECT
      CAST(1 AS TINYINT) AS t, CAST(2 AS SMALLINT) AS s, 3 AS i, CAST(9007199254740993 AS BIGINT) AS b,
      CAST(1.5 AS FLOAT) AS f, CAST(2.25 AS DOUBLE) AS d, CAST('NaN' AS DOUBLE) AS nan,
      12.34 AS dec, CAST(-0.5 AS DECIMAL(5,2)) AS neg, CAST('123456789012345678901234567890.12345678' AS DECIMAL(38,8)) AS big,
      CAST(-1 AS DECIMAL(38,0)) AS minus_one, 'héllo 😀 世界' AS str, X'00FF10' AS bin, true AS bo,
      DATE'2024-02-29' AS dt, DATE'1969-12-31' AS old, TIMESTAMP'2024-01-02 03:04:05.123456' AS ts,
      TIMESTAMP'1969-12-31 23:59:59.999999' AS before_epoch, TIMESTAMP_NTZ'2024-01-02 03:04:05.000001' AS ntz,
      NULL AS n, CAST(NULL AS INT) AS null_int, array(1, 2, NULL) AS arr, array() AS empty_arr,
      map('a', 1, 'b', 2) AS m, map(1, 'x', 2, 'y') AS mi, named_struct('x', 1, 'y', named_struct('z', 'deep')) AS st,
      array(named_struct('k', map('q', array(1)))) AS nested`)
    expect(schema.map((c) => [c.name, c.type])).toEqual([
      ['t', 'tinyint'],
      ['s', 'smallint'],
      ['i', 'int'],
      ['b', 'bigint'],
      ['f', 'float'],
      ['d', 'double'],
      ['nan', 'double'],
      ['dec', 'decimal(4,2)'],
      ['neg', 'decimal(5,2)'],
      ['big', 'decimal(38,8)'],
      ['minus_one', 'decimal(38,0)'],
      ['str', 'string'],
      ['bin', 'binary'],
      ['bo', 'boolean'],
      ['dt', 'date'],
      ['old', 'date'],
      ['ts', 'timestamp'],
      ['before_epoch', 'timestamp'],
      ['ntz', 'timestamp_ntz'],
      ['n', 'void'],
      ['null_int', 'int'],
      ['arr', 'array<int>'],
      ['empty_arr', 'array<void>'],
      ['m', 'map<string,int>'],
      ['mi', 'map<int,string>'],
      ['st', 'struct<x:int,y:struct<z:string>>'],
      ['nested', 'array<struct<k:map<string,array<int>>>>'],
    ])
    expect(rows).toHaveLength(1)
    const row = rows[0] as Record<string, unknown>
    expect(row).toMatchObject({
      t: 1,
      s: 2,
      i: 3,
      b: 9007199254740993n,
      f: 1.5,
      d: 2.25,
      dec: '12.34',
      neg: '-0.50',
      big: '123456789012345678901234567890.12345678',
      minus_one: '-1',
      str: 'héllo 😀 世界',
      bo: true,
      dt: '2024-02-29',
      old: '1969-12-31',
      ts: '2024-01-02T03:04:05.123456Z',
      before_epoch: '1969-12-31T23:59:59.999999Z',
      ntz: '2024-01-02T03:04:05.000001',
      n: null,
      null_int: null,
      arr: [1, 2, null],
      empty_arr: [],
      st: { x: 1, y: { z: 'deep' } },
    })
    expect(row['nan']).toBeNaN()
    expect(row['bin']).toBeInstanceOf(Uint8Array)
    expect([...(row['bin'] as Uint8Array)]).toEqual([0, 255, 16])
    expect({ ...(row['m'] as object) }).toEqual({ a: 1, b: 2 })
    expect(row['mi']).toEqual(
      new Map([
        [1, 'x'],
        [2, 'y'],
      ]),
    )
    expect(JSON.parse(JSON.stringify(row['nested']))).toEqual([{ k: { q: [1] } }])
  })

  it('returns the columns and no rows for an empty result', async () => {
    const result = await client().executeSql('SELECT id, CAST(id AS STRING) AS s FROM range(0, 10) WHERE id < 0')
    expect(result.rows).toEqual([])
    expect(result.schema).toEqual([
      { name: 'id', type: 'bigint', nullable: false },
      { name: 's', type: 'string', nullable: false },
    ])
  })

  it('collects a result of many Arrow batches in order, and streams it batch by batch', async () => {
    const c = client()
    const progress: SparkProgress[] = []
    const result = await c.executeSql('SELECT id FROM range(0, 300000)', { onProgress: (p) => progress.push(p) })
    expect(result.batches.length).toBeGreaterThan(10)
    expect(result.rows).toHaveLength(300_000)
    expect(result.rows.every((r, i) => r['id'] === BigInt(i))).toBe(true)
    expect(result.batches.map((b) => b.startOffset)).toEqual(
      result.batches.map((_, i) => result.batches.slice(0, i).reduce((n, b) => n + b.rows.length, 0)),
    )

    let seen = 0
    let batches = 0
    for await (const batch of c.streamSql('SELECT id FROM range(0, 300000)')) {
      expect(batch.startOffset).toBe(seen)
      expect(batch.rows[0]?.['id']).toBe(BigInt(seen))
      seen += batch.rows.length
      batches++
    }
    expect(seen).toBe(300_000)
    expect(batches).toBe(result.batches.length)

    // Leaving the loop early ends the operation on the server.
    for await (const batch of c.streamSql('SELECT id FROM range(0, 300000)', { tag: 'left-early' })) {
      expect(batch.startOffset).toBe(0)
      break
    }
    expect(await c.interrupt({ tag: 'left-early' })).toEqual([])
    expect((await c.executeSql('SELECT 3 AS three')).rows).toEqual([{ three: 3 }])
  })

  it('connects with an sc:// connection string, its token and its extra parameters', async () => {
    const fromString = SparkConnectClient.fromConnectionString(
      `${server?.url}/;token=${TOKEN};user_id=alice;x-trace=abc`,
    )
    clients.push(fromString)
    expect((await fromString.executeSql("SELECT 'ok' AS status")).rows).toEqual([{ status: 'ok' }])
  })

  it('fails with Spark error class, SQL state and message parameters', async () => {
    const error = await client()
      .executeSql('SELECT * FROM no_such_table')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SparkConnectError)
    expect(error).toMatchObject({
      code: 'SPARK_CONNECT_FAILED',
      errorClass: 'TABLE_OR_VIEW_NOT_FOUND',
      sqlState: '42P01',
      messageParameters: { relationName: '`no_such_table`' },
    })
    expect((error as Error).message).toContain('no_such_table')
  })

  it('runs SQL commands eagerly in the session, whose temp views later queries see', async () => {
    const c = client()
    const created = await c.executeCommand('CREATE TEMP VIEW answers AS SELECT id * 2 AS n FROM range(0, 3)')
    expect(created.rows).toEqual([])
    expect((await c.executeSql('SELECT n FROM answers ORDER BY n')).rows).toEqual([{ n: 0n }, { n: 2n }, { n: 4n }])
    // A command's output comes back inline; a query through the command path is run as the relation it returns.
    const shown = await c.executeCommand('SHOW VIEWS')
    expect(shown.rows.map((r) => r['viewName'])).toContain('answers')
    expect((await c.executeCommand('SELECT max(n) AS top FROM answers')).rows).toEqual([{ top: 4n }])
    // Another session does not see it.
    const other = await client()
      .executeSql('SELECT * FROM answers')
      .catch((e: unknown) => e)
    expect(other).toMatchObject({ errorClass: 'TABLE_OR_VIEW_NOT_FOUND' })
  })

  it('cancels a running query through its AbortSignal and interrupts it on the server', async () => {
    const c = client()
    const controller = new AbortController()
    const progress: SparkProgress[] = []
    const started = Date.now()
    const running = c.executeSql('SELECT count(*) FROM range(0, 100000000000)', {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p)
        controller.abort()
      },
    })
    setTimeout(() => controller.abort(), 8000).unref()
    const error = await running.catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'JOB_CANCELLED' })
    expect(Date.now() - started).toBeLessThan(60_000)
    // The operation was interrupted on the server: nothing of this session is left running, and it answers again.
    expect(await c.interrupt('all')).toEqual([])
    expect((await c.executeSql('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('interrupts the operations carrying a tag', async () => {
    const c = client()
    const running = c.executeSql('SELECT count(*) FROM range(0, 100000000000)', { tag: 'slow-one' })
    let interrupted: string[] = []
    for (let i = 0; i < 100 && interrupted.length === 0; i++) {
      await sleep(200)
      interrupted = await c.interrupt({ tag: 'slow-one' })
    }
    expect(interrupted).toHaveLength(1)
    const error = await running.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SparkConnectError)
    expect(error).toMatchObject({ code: 'SPARK_CONNECT_FAILED', errorClass: 'OPERATION_CANCELED' })
    expect((await c.executeSql('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
  })

  it('refuses a client without the bearer token, and a client with a wrong one', async () => {
    for (const token of [undefined, 'wrong-token']) {
      const error = await client({ token })
        .executeSql('SELECT 1')
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SparkConnectError)
      expect(error).toMatchObject({ code: 'SPARK_CONNECT_FAILED', grpcStatus: 'UNAUTHENTICATED' })
    }
  })

  it('retries a server that is not there yet, a bounded number of times, then fails SPARK_UNAVAILABLE', async () => {
    const closedPort = await freePort()
    const started = Date.now()
    const error = await client({ port: closedPort, retry: { maxAttempts: 3, initialDelayMs: 100 } })
      .executeSql('SELECT 1')
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'SPARK_UNAVAILABLE', grpcStatus: 'UNAVAILABLE' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
  })

  it('lets another client re-attach by operation id to a query whose client process was killed, and get its whole result', async () => {
    const sessionId = randomUUID()
    const operationId = randomUUID()
    const sql = 'SELECT count(*) AS n FROM range(0, 3000000000, 1, 2) WHERE id % 3 = 0'
    const child = spawn(
      process.execPath,
      [
        '--conditions=@sparkle-studio/source',
        'fixtures/connect-query.ts',
        String(port),
        TOKEN,
        sessionId,
        operationId,
        sql,
      ],
      { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    while (!output.includes('sent')) await sleep(20)
    await sleep(2_500)
    child.kill('SIGKILL')
    await exited
    expect(output).not.toContain('finished')
    const { rows, operationId: attached } = await client({ sessionId }).reattach(operationId)
    expect(attached).toBe(operationId)
    expect(rows).toEqual([{ n: 1000000000n }])
    // Once released, the operation is unknown.
    await sleep(500)
    const gone = await client({ sessionId })
      .reattach(operationId)
      .catch((e: unknown) => e)
    expect(gone).toMatchObject({ errorClass: expect.stringMatching(/^INVALID_HANDLE\.OPERATION_/) })
  })

  it('explains a relation without running it, and reads a data source with a limit', async () => {
    const c = client()
    const plan = await c.explain({ sql: 'SELECT id FROM range(0, 10) WHERE id > 5' }, 'extended')
    expect(plan).toContain('== Analyzed Logical Plan ==')
    expect(plan).toContain('Range (0, 10')
    await c.createTempView('ten', { limit: { input: { sql: 'SELECT id FROM range(0, 100)' }, rows: 10 } })
    expect((await c.executeSql('SELECT count(*) AS n FROM ten')).rows).toEqual([{ n: 10n }])
  })

  it('releases its session on close, after which the client refuses calls', async () => {
    const c = client()
    await c.executeCommand('CREATE TEMP VIEW released_view AS SELECT 1 AS x')
    await c.close()
    await c.close()
    await expect(c.executeSql('SELECT 1')).rejects.toThrow(/closed/)
    // A new client with the same session id finds the session gone (released sessions are not reopened).
    const again = await client({ sessionId: c.sessionId })
      .executeSql('SELECT * FROM released_view')
      .catch((e: unknown) => e)
    expect(again).toBeInstanceOf(SparkConnectError)
    expect(again).toMatchObject({ code: 'SPARK_CONNECT_FAILED', errorClass: 'INVALID_HANDLE.SESSION_CLOSED' })
  })

  // Last two: they restart the file's server.
  it('fails with a typed error, and does not hang, when the server stops in the middle of a result stream', async () => {
    const c = client()
    const batches: number[] = []
    let ended = false
    const streaming = (async () => {
      for await (const batch of c.streamSql(
        // 100 partitions of two rows that sleep 200 ms each: batches keep coming for about 20 seconds.
        "SELECT id, reflect('java.lang.Thread', 'sleep', CAST(200 AS BIGINT)) AS slept FROM range(0, 200, 1, 100)",
      )) {
        batches.push(batch.rows.length)
      }
    })()
      .catch((e: unknown) => e)
      .finally(() => {
        ended = true
      })
    while (batches.length < 2 && !ended) await sleep(20)
    expect(ended, `the stream ended early: ${String(await (ended ? streaming : undefined))}`).toBe(false)
    const stoppedAt = Date.now()
    await server?.stop()
    const error = await streaming
    expect(error).toBeInstanceOf(SparkConnectError)
    expect((error as SparkConnectError).code).toMatch(/^SPARK_(UNAVAILABLE|SESSION_CHANGED|CONNECT_FAILED)$/)
    expect(Date.now() - stoppedAt).toBeLessThan(60_000)
    server = await startSparkConnectServer({ runtime: await findSparkRuntime(), token: TOKEN, port })
    expect((await client().executeSql('SELECT 7 AS seven')).rows).toEqual([{ seven: 7 }])
  })

  it('fails SPARK_SESSION_CHANGED when the server restarted under its session', async () => {
    const c = client()
    await c.executeCommand('CREATE TEMP VIEW lost_on_restart AS SELECT 1 AS x')
    const before = c.serverSessionId
    expect(before).toBeTypeOf('string')
    await server?.stop()
    server = await startSparkConnectServer({ runtime: await findSparkRuntime(), token: TOKEN, port })
    const error = await c.executeSql('SELECT x FROM lost_on_restart').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SparkConnectError)
    expect(error).toMatchObject({ code: 'SPARK_SESSION_CHANGED' })
    // A new client starts a new session on the restarted server.
    expect((await client().executeSql('SELECT 5 AS five')).rows).toEqual([{ five: 5 }])
  })
})
