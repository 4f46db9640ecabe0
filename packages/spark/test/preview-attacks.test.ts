// Every attack through the warm preview driver (one session for the file): refused on Spark's own plans with the
// node's typed error and rule, nothing of it run; the driver's environment holds nothing of the server's; a secret the
// plan references still reaches its JDBC option, and is redacted from what comes back.
import { existsSync } from 'node:fs'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodePreview } from '../src/events.ts'
import { PreviewSession } from '../src/preview-session.ts'
import { findSparkRuntime } from '../src/runtime.ts'
import {
  ATTACKS,
  attackPlan,
  expectMinimalEnvironment,
  groupEnvironments,
  makeTargets,
  processCommandLine,
  setServerEnv,
  type Targets,
} from './attacks.ts'

/** A SQL variable reference, `${name}`, as Spark would substitute it. */
const variable = (name: string) => `\${${name}}`
const SECRETS = { DB_URL: 'jdbc:derby:memory:sparkle_secretdb;create=true', TABLE: 'HUNTER2_SECRET_TABLE' }

describe('the preview driver refuses every attack (real Spark)', () => {
  let tmp: TempDir
  let targets: Targets
  let session: PreviewSession
  let restoreEnv: () => void
  const logLines: string[] = []
  const tally = { tried: 0, refused: 0, neutralized: 0 }

  beforeAll(async () => {
    // The server's variables are in this process's environment, as they are in a server's.
    restoreEnv = setServerEnv()
    tmp = await makeTempDir('sparkle-preview-attacks-')
    const made = await makeTargets(tmp.path)
    targets = made.targets
    session = new PreviewSession({
      runtime: await findSparkRuntime(),
      policy: made.policy,
      secrets: SECRETS,
      onLog: (line) => logLines.push(line),
    })
    await session.start()
  })
  afterAll(async () => {
    console.log(
      `preview: ${tally.tried} attacks tried, ${tally.refused} refused, ${tally.neutralized} neutralized (left as plain text)`,
    )
    await session?.close()
    await tmp?.remove()
    restoreEnv?.()
  })

  const attackNode = (nodes: readonly NodePreview[]) => nodes.find((n) => n.nodeId === 'attack')

  for (const attack of ATTACKS) {
    it(`refuses ${attack.name}: ${attack.errorClass}`, async () => {
      tally.tried++
      const before = session.info()
      const started = Date.now()
      const { nodes } = await session.preview(attackPlan(attack, targets, 'preview'), { deadlineMs: 60_000 })
      // The harmless node still answers; the attack's node answers with the refusal, its rule and the fix.
      expect(nodes.find((n) => n.nodeId === 'before')).toMatchObject({ ok: true, rows: [{ one: 1 }] })
      const refused = attackNode(nodes)
      expect(refused).toMatchObject({ ok: false, error: { errorClass: attack.errorClass, rule: attack.rule } })
      expect(refused?.ok === false && refused.error.message).toMatch(/Fix: /)
      expect(refused?.ok === false && refused.error.fix).toBeTruthy()
      await attack.nothingHappened?.(targets)
      // Nothing ran: the shared driver is the same one, and answered at once (no sleep, no exit).
      expect(session.info()).toMatchObject({ state: 'ready', appId: before.appId, starts: before.starts })
      expect(Date.now() - started).toBeLessThan(30_000)
      tally.refused++
    })
  }

  it('refuses Spark configuration that would start the JVM with options (a shell command on OOM) before any driver sees it', async () => {
    tally.tried++
    const touched = `${targets.touched}-oom`
    const plan: ExecutionPlan = {
      pipeline: 'conf',
      mode: 'preview',
      conf: { 'spark.driver.extraJavaOptions': `-XX:OnOutOfMemoryError="touch ${touched}"` },
      steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }],
    }
    await expect(session.preview(plan)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(session.preview({ ...plan, conf: { 'spark.sql.shuffle.partitions': '99999' } })).rejects.toMatchObject(
      { code: 'VALIDATION_FAILED' },
    )
    expect(existsSync(touched)).toBe(false)
    tally.refused++
  })

  it('leaves SQL variables unsubstituted: env:, system: and Spark configuration references are plain text', async () => {
    tally.tried++
    const { nodes } = await session.preview({
      pipeline: 'vars',
      mode: 'preview',
      steps: [
        {
          nodeId: 'vars',
          kind: 'query',
          sql: `SELECT '${variable('env:SPARKLE_SECRET_DBPASS')}' AS e, '${variable('system:user.home')}' AS s, '${variable('spark.app.name')}' AS c`,
          limit: 1,
        },
      ],
    })
    expect(nodes[0]).toMatchObject({
      ok: true,
      rows: [
        {
          e: variable('env:SPARKLE_SECRET_DBPASS'),
          s: variable('system:user.home'),
          c: variable('spark.app.name'),
        },
      ],
    })
    tally.neutralized++
  })

  it("keeps the server's variables, secrets and the token out of the driver's environment and command line", async () => {
    const { pid } = session.info()
    const envs = await groupEnvironments(pid as number)
    // The driver JVM and its Python runner.
    expect(envs.size).toBeGreaterThanOrEqual(2)
    for (const env of envs.values()) expectMinimalEnvironment(env, Object.values(SECRETS))
    for (const member of envs.keys()) {
      const cmdline = await processCommandLine(member)
      for (const value of Object.values(SECRETS)) expect(cmdline).not.toContain(value)
      // The token's file is gone once the driver read it.
      const tokenFile = /--token-file (\S+)/.exec(cmdline)?.[1]
      if (tokenFile) expect(existsSync(tokenFile)).toBe(false)
    }
  })

  it('hands a referenced secret to its JDBC option only, and redacts it from errors and log lines', async () => {
    const jdbc = (table: { $secret: string } | string) => ({
      nodeId: 'db',
      kind: 'read' as const,
      view: '`db`',
      source: { format: 'jdbc', options: { url: { $secret: 'DB_URL' }, dbtable: table } },
    })
    const ok = await session.preview({
      pipeline: 'jdbc',
      mode: 'preview',
      steps: [jdbc('SYS.SYSSCHEMAS'), { nodeId: 'db', kind: 'query', sql: 'SELECT count(*) AS n FROM `db`', limit: 1 }],
    })
    // The URL exists only as the secret's value: rows mean it reached the reader's option.
    expect(ok.nodes[0]).toMatchObject({ ok: true })
    expect(ok.nodes[0]?.ok === true && Number(ok.nodes[0].rows[0]?.['n'])).toBeGreaterThan(0)

    logLines.length = 0
    const failed = await session.preview({
      pipeline: 'jdbc',
      mode: 'preview',
      steps: [jdbc({ $secret: 'TABLE' })],
    })
    const error = failed.nodes[0]?.ok === false ? failed.nodes[0].error : undefined
    // Derby names the missing table, the secret's value: the driver says *** instead.
    expect(error?.message).toContain('***')
    expect(JSON.stringify(failed)).not.toContain(SECRETS.TABLE)
    expect(logLines.join('\n')).not.toContain(SECRETS.TABLE)
    expect(logLines.join('\n')).not.toContain(SECRETS.DB_URL)
  })
})
