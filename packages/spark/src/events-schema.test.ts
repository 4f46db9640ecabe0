import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  parseRunnerEvents,
  RUNNER_EVENT_TYPES,
  type RunnerEvent,
  SERVE_MESSAGE_TYPES,
  type ServeMessage,
} from './events.ts'
import { signalGroup, waitGroupGone } from './process.ts'
import { runPlan } from './run-plan.ts'
import { runnerLaunch } from './runner-launch.ts'
import { findSparkRuntime, runnerScriptPath, type SparkRuntime } from './runtime.ts'
import { makeOrders, pipelinePlan, readOrdersStep, writeOrdersCsv } from './testing/fixtures.ts'
import { definition, type JsonSchema, loadEventsSchema, schemaTypes, validateJson } from './testing/json-schema.ts'

const execFileAsync = promisify(execFile)
const schema = loadEventsSchema()
const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` })

type RequiredKeys<T> = { [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? never : K }[keyof T]
/** For each type of a union: a sample with every field, and one with only the required fields. */
type Samples<U extends { readonly type: string }> = {
  readonly [K in U['type']]: {
    readonly full: Required<Extract<U, { type: K }>>
    readonly minimal: Pick<Extract<U, { type: K }>, RequiredKeys<Extract<U, { type: K }>>>
  }
}

const column = { name: 'n', type: 'bigint', nullable: false }
const eventSamples: Samples<RunnerEvent> = {
  started: {
    full: {
      type: 'started',
      ts: 1,
      appId: 'local-1',
      uiUrl: 'http://127.0.0.1:4040',
      master: 'local[2]',
      appName: 'sparkle:p:run',
      sparkVersion: '4.3.0',
      appStartTime: 1,
      runnerStartTime: 1,
      pid: 10,
      driverPid: 9,
    },
    minimal: { type: 'started', ts: 1, appId: 'local-1', uiUrl: null, master: 'local[2]', sparkVersion: '4.3.0' },
  },
  step_started: {
    full: { type: 'step_started', ts: 1, nodeId: 'a', index: 0, kind: 'query' },
    minimal: { type: 'step_started', ts: 1, nodeId: 'a', index: 0, kind: 'query' },
  },
  step_finished: {
    full: {
      type: 'step_finished',
      ts: 1,
      nodeId: 'a',
      index: 0,
      durationMs: 5,
      rows: 3,
      checksMs: 0.25,
      rowsIn: 50,
      bytesRead: 2048,
      bytesWritten: 694,
      taskMs: 120,
      jobs: 2,
    },
    minimal: { type: 'step_finished', ts: 1, nodeId: 'a', index: 0, durationMs: 5 },
  },
  rows: {
    full: {
      type: 'rows',
      ts: 1,
      nodeId: 'a',
      schema: [column],
      rows: [{ n: 1 }, { n: '9007199254740993' }],
      truncated: true,
    },
    minimal: { type: 'rows', ts: 1, nodeId: 'a', schema: [], rows: [], truncated: false },
  },
  check: {
    full: { type: 'check', ts: 1, nodeId: 'c', severity: 'warn', description: 'no voids', failedRows: 2 },
    minimal: { type: 'check', ts: 1, nodeId: 'c', severity: 'error', description: 'no voids', failedRows: 0 },
  },
  usage: {
    full: {
      type: 'usage',
      ts: 1,
      executors: 1,
      cores: 2,
      coreSeconds: 9.5,
      taskSeconds: 1.25,
      cpuSeconds: 0.75,
      peakMemoryBytes: 81_135_592,
      inputBytes: 5894,
      outputBytes: 694,
      shuffleReadBytes: 74,
      shuffleWriteBytes: 74,
    },
    minimal: { type: 'usage', ts: 1 },
  },
  succeeded: {
    full: { type: 'succeeded', ts: 1, durationMs: 100, completedTasks: 7, totalTasks: 7 },
    minimal: { type: 'succeeded', ts: 1, durationMs: 100 },
  },
  failed: {
    full: {
      type: 'failed',
      ts: 1,
      nodeId: 'a',
      errorClass: 'POLICY_REFLECTION',
      message: 'the SQL calls java_method',
      rule: 'reflection',
      fix: 'remove the call',
      completedTasks: 2,
      totalTasks: 4,
    },
    minimal: { type: 'failed', ts: 1, message: 'the runner exited without a result' },
  },
}

const messageSamples: Samples<ServeMessage> = {
  hello: { full: { type: 'hello', token: 't' }, minimal: { type: 'hello', token: 't' } },
  ready: {
    full: { type: 'ready', appId: 'local-1', uiUrl: null, sparkVersion: '4.3.0', pid: 10, driverPid: 9 },
    minimal: {
      type: 'ready',
      appId: 'local-1',
      uiUrl: 'http://127.0.0.1:4040',
      sparkVersion: '4.3.0',
      pid: 1,
      driverPid: 2,
    },
  },
  result: {
    full: {
      type: 'result',
      id: 1,
      durationMs: 12,
      checksMs: 1.5,
      nodes: [
        { nodeId: 'a', ok: true, schema: [column], rows: [{ n: 1 }], truncated: false, durationMs: 3 },
        { nodeId: 'b', ok: false, error: { errorClass: 'DIVIDE_BY_ZERO', message: 'no' } },
        {
          nodeId: 'c',
          ok: false,
          error: { errorClass: 'UPSTREAM_FAILED', message: 'upstream node b failed: no', upstreamNodeId: 'b' },
        },
        {
          nodeId: 'd',
          ok: false,
          error: { errorClass: 'POLICY_PATH', message: '/etc is outside', rule: 'read-roots', fix: 'read inside' },
        },
      ],
    },
    minimal: { type: 'result', id: 1, durationMs: 12, nodes: [] },
  },
  error: {
    full: { type: 'error', id: 2, errorClass: 'POLICY_VIOLATION', message: 'no', rule: 'plan-check', fix: 'see' },
    minimal: { type: 'error', id: 2, errorClass: 'INVALID_PLAN', message: 'no' },
  },
  cancelled: { full: { type: 'cancelled', id: 3 }, minimal: { type: 'cancelled', id: 3 } },
}

function expectValid(value: unknown, name: 'runnerEvent' | 'serveMessage'): void {
  expect(validateJson(value, ref(name), schema), JSON.stringify(value).slice(0, 300)).toEqual([])
}

/** The same fields, required and optional, in the schema's definition as in the samples typed by events.ts. */
function expectSameFields(type: string, sample: { full: object; minimal: object }): void {
  const def = definition(schema, type)
  expect(Object.keys(def.properties ?? {}).sort(), `properties of ${type}`).toEqual(Object.keys(sample.full).sort())
  expect([...(def.required ?? [])].sort(), `required fields of ${type}`).toEqual(Object.keys(sample.minimal).sort())
}

describe('runner/events.schema.json and events.ts', () => {
  it('list the same event types and serve message types', () => {
    expect(schemaTypes(schema, 'runnerEvent').sort()).toEqual([...RUNNER_EVENT_TYPES].sort())
    expect(schemaTypes(schema, 'serveMessage').sort()).toEqual([...SERVE_MESSAGE_TYPES].sort())
  })

  it('agree on every field of every event, and the schema accepts every shape the parser accepts', () => {
    for (const [type, sample] of Object.entries(eventSamples)) {
      expectSameFields(type, sample)
      for (const event of [sample.full, sample.minimal]) {
        expectValid(event, 'runnerEvent')
        expect(parseRunnerEvents(`${JSON.stringify(event)}\n`)).toEqual([event])
      }
    }
    // What the parser leaves out, the schema refuses.
    const unknown = { type: 'progress', ts: 1 }
    expect(parseRunnerEvents(`${JSON.stringify(unknown)}\n`)).toEqual([])
    expect(validateJson(unknown, ref('runnerEvent'), schema)).not.toEqual([])
    expect(validateJson({ ...eventSamples.failed.full, extra: 1 }, ref('runnerEvent'), schema)).not.toEqual([])
  })

  it('agree on every field of every serve message', () => {
    for (const [type, sample] of Object.entries(messageSamples)) {
      expectSameFields(type, sample)
      expectValid(sample.full, 'serveMessage')
      expectValid(sample.minimal, 'serveMessage')
    }
    expect(
      validateJson(
        { type: 'result', id: 1, durationMs: 1, nodes: [{ nodeId: 'a', ok: true }] },
        ref('serveMessage'),
        schema,
      ),
    ).not.toEqual([])
  })
})

describe('the runner against runner/events.schema.json', () => {
  it('writes events and serve messages that match it (runner/tests/test_events_schema.py, a stand-in pyspark)', async () => {
    const python = process.env['SPARKLE_PYTHON'] || 'python3'
    const script = join(dirname(runnerScriptPath()), 'tests', 'test_events_schema.py')
    const { stderr } = await execFileAsync(python, [script], { timeout: 120_000 }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`${error.message}\n${error.stderr ?? ''}${error.stdout ?? ''}`)
      },
    )
    expect(stderr).toMatch(/^OK$/m)
  })

  describe('on real Spark', () => {
    let runtime: SparkRuntime
    let tmp: TempDir
    let csv: string

    beforeAll(async () => {
      runtime = await findSparkRuntime()
      tmp = await makeTempDir('sparkle-events-schema-')
      csv = await writeOrdersCsv(tmp.path, makeOrders(50))
    })
    afterAll(async () => {
      await tmp?.remove()
    })

    it('every event of a run that succeeds and of one that fails matches the schema', async () => {
      const base = pipelinePlan(csv, join(tmp.path, 'out.parquet'))
      const plan: ExecutionPlan = {
        ...base,
        steps: [
          ...base.steps,
          { nodeId: 'cache', kind: 'action', sql: 'CACHE TABLE `sparkle_paid`' },
          {
            nodeId: 'no_voids',
            kind: 'check',
            severity: 'warn',
            description: 'no void orders',
            sql: "SELECT count(*) AS failed_rows FROM `sparkle_orders` WHERE status = 'void'",
          },
        ],
      }
      const ok = await runPlan(plan, { runtime, master: 'local[1]', workDir: join(tmp.path, 'ok') })
      expect(ok.error).toBeUndefined()
      for (const event of ok.events) expectValid(event, 'runnerEvent')
      expect(new Set(ok.events.map((e) => e.type))).toEqual(
        new Set(['started', 'step_started', 'step_finished', 'rows', 'check', 'usage', 'succeeded']),
      )
      expect(ok.events.at(-2)?.type).toBe('usage')
      // The final task counts, taken before the application stopped: every task of the run, all completed.
      const succeeded = ok.events.at(-1)
      expect(succeeded).toMatchObject({ type: 'succeeded', totalTasks: expect.any(Number) })
      const counts = succeeded as { completedTasks: number; totalTasks: number }
      expect(counts.totalTasks).toBeGreaterThan(0)
      expect(counts.completedTasks).toBe(counts.totalTasks)

      const broken = await runPlan(
        { pipeline: 'broken', mode: 'run', steps: [{ nodeId: 'bad', kind: 'query', sql: 'SELECT nope', limit: 1 }] },
        { runtime, master: 'local[1]', workDir: join(tmp.path, 'broken') },
      )
      expect(broken.status).toBe('failed')
      for (const event of broken.events) expectValid(event, 'runnerEvent')
      expect(broken.events.at(-1)).toMatchObject({ type: 'failed', nodeId: 'bad' })
      expect(broken.events.at(-2)?.type).toBe('usage')
    })

    it('every message of a serve driver matches the schema', async () => {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as { port: number }).port
      const propertiesFile = join(tmp.path, 'serve.properties')
      const tokenFile = join(tmp.path, 'serve.token')
      const launch = runnerLaunch({
        runtime,
        master: 'local[1]',
        mode: 'serve',
        serve: { address: `127.0.0.1:${port}`, tokenFile, concurrency: 1, warmUp: false },
        propertiesFile,
      })
      await writeFile(propertiesFile, launch.properties, { mode: 0o600 })
      await writeFile(tokenFile, 'tok', { mode: 0o600 })
      const child = spawn(launch.command, launch.args, {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: launch.env,
      })
      let log = ''
      child.stderr.setEncoding('utf8')
      child.stderr.on('data', (chunk: string) => {
        log = (log + chunk).slice(-4000)
      })
      const pid = child.pid as number
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          server.once('connection', resolve)
          child.once('exit', (code) => reject(new Error(`the serve driver exited with ${code}:\n${log}`)))
        })
        const messages = lines(socket)
        const next = async (): Promise<ServeMessage> => {
          const message = JSON.parse(await messages.next()) as ServeMessage
          expectValid(message, 'serveMessage')
          return message
        }
        const send = (message: unknown) => socket.write(`${JSON.stringify(message)}\n`)

        expect(await next()).toEqual({ type: 'hello', token: 'tok' })
        expect(existsSync(tokenFile)).toBe(false)
        expect((await next()).type).toBe('ready')
        const plan: ExecutionPlan = {
          pipeline: 'p',
          mode: 'preview',
          steps: [
            readOrdersStep(csv),
            { nodeId: 'orders', kind: 'query', sql: 'SELECT * FROM `sparkle_orders`', limit: 5 },
            { nodeId: 'bad', kind: 'query', sql: 'SELECT nope FROM `sparkle_orders`', limit: 5 },
          ],
        }
        send({ op: 'preview', id: 1, plan, limit: 3, sampleRows: 100 })
        const result = await next()
        expect(result.type === 'result' && result.nodes.map((n) => n.ok)).toEqual([true, false])
        // A refused step answers with its rule and fix.
        send({
          op: 'preview',
          id: 4,
          plan: { ...plan, steps: [{ nodeId: 'r', kind: 'query', sql: "SELECT reflect('a', 'b')", limit: 1 }] },
          limit: 1,
          sampleRows: 1,
        })
        const refused = await next()
        expect(refused.type === 'result' && refused.nodes[0]).toMatchObject({
          ok: false,
          error: { errorClass: 'POLICY_REFLECTION', rule: 'reflection' },
        })
        send({ op: 'cancel', id: 2 })
        send({ op: 'preview', id: 2, plan, limit: 3, sampleRows: 100 })
        expect(await next()).toEqual({ type: 'cancelled', id: 2 })
        send({ op: 'preview', id: 3, plan, limit: 'many', sampleRows: 100 })
        expect(await next()).toMatchObject({ type: 'error', id: 3 })
        send({ op: 'shutdown' })
      } finally {
        server.close()
        if (!(await waitGroupGone(pid, 20_000))) signalGroup(pid, 'SIGKILL')
      }
    })
  })
})

/** The lines a socket receives, one at a time. */
function lines(socket: Socket): { next(): Promise<string> } {
  const ready: string[] = []
  const waiting: ((line: string) => void)[] = []
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      const waiter = waiting.shift()
      if (waiter) waiter(line)
      else ready.push(line)
    }
  })
  return {
    next: () => {
      const line = ready.shift()
      return line === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(line)
    },
  }
}
