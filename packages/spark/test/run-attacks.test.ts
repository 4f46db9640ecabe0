// The attacks through batch runs (one submitter for the file): refused on Spark's own plans with the node's typed error
// and rule, nothing of it run or written; plans whose configuration would start the JVM with options refused at
// submission; the driver's environment holds nothing of the server's; a referenced secret reaches its JDBC option and
// is redacted from the run's events and log.
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunnerEvent } from '../src/events.ts'
import { LocalSubmitter } from '../src/local-submitter.ts'
import { findSparkRuntime } from '../src/runtime.ts'
import { slowQuery } from '../src/testing/fixtures.ts'
import {
  ATTACKS,
  attackPlan,
  expectMinimalEnvironment,
  makeTargets,
  processCommandLine,
  processEnvironment,
  setServerEnv,
  type Targets,
} from './attacks.ts'

const SECRETS = { DB_URL: 'jdbc:derby:memory:sparkle_secretdb;create=true', TABLE: 'HUNTER2_SECRET_TABLE' }

describe('batch runs refuse every attack (real Spark)', () => {
  let tmp: TempDir
  let targets: Targets
  let submitter: LocalSubmitter
  let restoreEnv: () => void
  const tally = { tried: 0, refused: 0 }

  beforeAll(async () => {
    restoreEnv = setServerEnv()
    tmp = await makeTempDir('sparkle-run-attacks-')
    const made = await makeTargets(tmp.path)
    targets = made.targets
    submitter = new LocalSubmitter({
      runtime: await findSparkRuntime(),
      baseDir: join(tmp.path, 'jobs'),
      threads: 1,
      conf: { 'spark.ui.enabled': 'false' },
      policy: made.policy,
      // As the server passes them today: taken as secrets, never put into the driver's environment.
      env: { SPARKLE_SECRET_DB_URL: SECRETS.DB_URL, SPARKLE_SECRET_TABLE: SECRETS.TABLE },
      pollIntervalMs: 50,
    })
  })
  afterAll(async () => {
    console.log(`batch: ${tally.tried} attacks tried, ${tally.refused} refused`)
    await submitter?.close()
    await tmp?.remove()
    restoreEnv?.()
  })

  const run = async (jobId: string, plan: ExecutionPlan, onEvent?: (e: RunnerEvent) => void) => {
    const { id } = await submitter.submit({ jobId, plan, timeoutMs: 170_000 })
    const events: RunnerEvent[] = []
    const status = await submitter.wait(id, {
      onEvent: (e) => {
        events.push(e)
        onEvent?.(e)
      },
    })
    return { id, status, events }
  }

  for (const [index, attack] of ATTACKS.filter((a) => a.batch).entries()) {
    it(`refuses ${attack.name}: ${attack.errorClass}`, async () => {
      tally.tried++
      const { status, events } = await run(`attack-${index}`, attackPlan(attack, targets, 'run'))
      expect(status.state).toBe('failed')
      expect(status.error).toMatchObject({ nodeId: 'attack', errorClass: attack.errorClass, rule: attack.rule })
      expect(status.error?.message).toMatch(/Fix: /)
      // The node before it ran; the attack's step started, was refused, and nothing after it ran.
      expect(events.filter((e) => e.type === 'step_finished').map((e) => e.nodeId)).toEqual(['before'])
      expect(events.at(-1)).toMatchObject({ type: 'failed', nodeId: 'attack', rule: attack.rule })
      await attack.nothingHappened?.(targets)
      tally.refused++
    })
  }

  it('refuses at submission a plan whose configuration would start the JVM with options, with or without a policy', async () => {
    tally.tried++
    const touched = `${targets.touched}-oom`
    const plan: ExecutionPlan = {
      pipeline: 'conf',
      mode: 'run',
      conf: { 'spark.driver.extraJavaOptions': `-XX:OnOutOfMemoryError="touch ${touched}"` },
      steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }],
    }
    await expect(submitter.submit({ jobId: 'oom', plan })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    const unguarded = new LocalSubmitter({ runtime: await findSparkRuntime(), baseDir: join(tmp.path, 'unguarded') })
    for (const key of ['spark.executor.extraJavaOptions', 'spark.driver.extraClassPath', 'spark.jars.packages']) {
      await expect(
        unguarded.submit({ jobId: 'oom', plan: { ...plan, conf: { [key]: '-Dx=1' } } }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    }
    // The policy's own limits: a key it does not list, a value out of its range.
    await expect(
      submitter.submit({ jobId: 'big', plan: { ...plan, conf: { 'spark.sql.shuffle.partitions': '99999' } } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    expect(existsSync(touched)).toBe(false)
    expect(existsSync(join(tmp.path, 'unguarded'))).toBe(false)
    tally.refused++
  })

  it("gives the driver a minimal environment and only its plan's secrets, in a file removed at once; the secret reaches its JDBC option", async () => {
    const plan: ExecutionPlan = {
      pipeline: 'env',
      mode: 'run',
      steps: [
        {
          nodeId: 'db',
          kind: 'read',
          view: '`db`',
          source: { format: 'jdbc', options: { url: { $secret: 'DB_URL' }, dbtable: 'SYS.SYSSCHEMAS' } },
        },
        { nodeId: 'db', kind: 'query', sql: 'SELECT count(*) AS n FROM `db`', limit: 1 },
        { nodeId: 'slow', kind: 'query', sql: slowQuery(60), limit: 1 },
      ],
    }
    const { id } = await submitter.submit({ jobId: 'env', plan })
    const events: RunnerEvent[] = []
    let seen: Map<number, Record<string, string>> | undefined
    let cmdlines = ''
    const controller = new AbortController()
    await submitter
      .wait(id, {
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e)
          if (e.type === 'step_started' && e.nodeId === 'slow') controller.abort()
        },
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) throw e
      })
    const started = events.find((e) => e.type === 'started')
    if (started?.type !== 'started') throw new Error('the run did not start')
    seen = new Map()
    for (const pid of [started.pid as number, started.driverPid as number]) {
      const env = await processEnvironment(pid)
      if (env) seen.set(pid, env)
      cmdlines += await processCommandLine(pid)
    }
    // The secrets' files were read and removed before the first step.
    const secretsGone = !existsSync(join(id, 'secrets.json')) && !existsSync(join(id, 'redact.json'))
    await submitter.cancel(id)

    expect(seen.size).toBe(2)
    for (const env of seen.values()) expectMinimalEnvironment(env, Object.values(SECRETS))
    for (const value of Object.values(SECRETS)) expect(cmdlines).not.toContain(value)
    expect(secretsGone).toBe(true)
    // The URL exists only as the secret's value: rows mean it reached the reader's option.
    const rows = events.find((e) => e.type === 'rows' && e.nodeId === 'db')
    expect(rows?.type === 'rows' && Number(rows.rows[0]?.['n'])).toBeGreaterThan(0)
    // The plan on disk holds the reference, not the value.
    expect(readFileSync(join(id, 'plan.json'), 'utf8')).not.toContain(SECRETS.DB_URL)
  })

  it("redacts a secret from the failed run's events, error and log", async () => {
    const plan: ExecutionPlan = {
      pipeline: 'redact',
      mode: 'run',
      steps: [
        {
          nodeId: 'db',
          kind: 'read',
          view: '`db`',
          source: { format: 'jdbc', options: { url: { $secret: 'DB_URL' }, dbtable: { $secret: 'TABLE' } } },
        },
      ],
    }
    const { id, status } = await run('redact', plan)
    expect(status.state).toBe('failed')
    expect(status.error?.nodeId).toBe('db')
    // Derby names the missing table, the secret's value: the run says *** instead.
    expect(status.error?.message).toContain('***')
    const events = await readFile(join(id, 'events.jsonl'), 'utf8')
    const log = await readFile(join(id, 'spark.log'), 'utf8')
    for (const text of [events, log, JSON.stringify(status)]) {
      expect(text).not.toContain(SECRETS.TABLE)
      expect(text).not.toContain(SECRETS.DB_URL)
    }
    expect(log).toContain('***')
  })
})
