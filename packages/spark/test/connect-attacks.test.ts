// Every attack of attacks.ts over Spark Connect, against a real Connect server: through the ConnectPreviewSession
// (previews) and, for those marked batch, through the SparkConnectSubmitter (runs). Each is refused with the node's
// typed error and rule, before it is sent or on the server's plan of it, and nothing of it happened.
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectPreviewSession,
  type SparkConnectServer,
  SparkConnectSubmitter,
  startSparkConnectServer,
} from '../src/connect/index.ts'
import { findSparkRuntime } from '../src/runtime.ts'
import { ATTACKS, attackPlan, makeTargets, type Targets } from './attacks.ts'

const SECRETS = { DB_URL: 'jdbc:derby:memory:sparkle_secretdb;create=true', TABLE: 'HUNTER2_SECRET_TABLE' }

describe('Spark Connect refuses every attack (real Spark Connect server)', () => {
  let tmp: TempDir
  let targets: Targets
  let server: SparkConnectServer
  let previews: ConnectPreviewSession
  let submitter: SparkConnectSubmitter
  const tally = { previews: 0, runs: 0 }

  beforeAll(async () => {
    tmp = await makeTempDir('sparkle-connect-attacks-')
    const made = await makeTargets(tmp.path)
    targets = made.targets
    server = await startSparkConnectServer({ runtime: await findSparkRuntime() })
    previews = new ConnectPreviewSession({ remote: server.url, policy: made.policy, secrets: SECRETS })
    submitter = new SparkConnectSubmitter({ remote: server.url, policy: made.policy, secrets: SECRETS })
  })
  afterAll(async () => {
    console.log(`Spark Connect: ${tally.previews} attacks refused in previews, ${tally.runs} in runs`)
    await previews?.close()
    await server?.stop()
    await tmp?.remove()
  })

  for (const attack of ATTACKS) {
    it(`refuses ${attack.name} in a preview: ${attack.errorClass}`, async () => {
      const { nodes } = await previews.preview(attackPlan(attack, targets, 'preview'), { deadlineMs: 120_000 })
      expect(nodes.find((n) => n.nodeId === 'before')).toMatchObject({ ok: true, rows: [{ one: 1 }] })
      const refused = nodes.find((n) => n.nodeId === 'attack')
      expect(refused).toMatchObject({ ok: false, error: { errorClass: attack.errorClass, rule: attack.rule } })
      expect(refused?.ok === false && refused.error.message).toMatch(/Fix: /)
      await attack.nothingHappened?.(targets)
      tally.previews++
    })
  }

  for (const attack of ATTACKS.filter((a) => a.batch)) {
    it(`refuses ${attack.name} in a run: ${attack.errorClass}`, async () => {
      const { id } = await submitter.submit({ jobId: 'attack', plan: attackPlan(attack, targets, 'run') })
      const status = await submitter.wait(id)
      expect(status.state).toBe('failed')
      expect(status.error).toMatchObject({ nodeId: 'attack', errorClass: attack.errorClass, rule: attack.rule })
      await attack.nothingHappened?.(targets)
      tally.runs++
    })
  }
})
