import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunnerEvent } from './events.ts'
import { findSparkRuntime, type SparkRuntime } from './runtime.ts'
import { type StandaloneCluster, startStandaloneCluster } from './standalone-cluster.ts'
import { StandaloneSubmitter } from './standalone-submitter.ts'
import { expectedRevenue, makeOrders, pipelinePlan, writeOrdersCsv } from './testing/fixtures.ts'

interface MasterJson {
  readonly workers: readonly { readonly state: string; readonly cores: number }[]
  readonly completedapps: readonly { readonly id: string; readonly state: string }[]
}

describe('StandaloneSubmitter (a real standalone master and worker on 127.0.0.1)', () => {
  let runtime: SparkRuntime
  let tmp: TempDir
  let cluster: StandaloneCluster

  beforeAll(async () => {
    runtime = await findSparkRuntime()
    tmp = await makeTempDir('sparkle-standalone-test-')
    cluster = await startStandaloneCluster({ runtime, cores: 1, memory: '1g' })
  })
  afterAll(async () => {
    await cluster?.stop()
    await tmp?.remove()
  })

  it('runs csv -> filter -> aggregate -> parquet on the cluster (client mode) to exactly the expected rows', async () => {
    const orders = makeOrders(400)
    const csv = await writeOrdersCsv(tmp.path, orders)
    const out = join(tmp.path, 'by-country.parquet')
    const submitter = new StandaloneSubmitter({ runtime, master: cluster.masterUrl, baseDir: join(tmp.path, 'jobs') })
    expect(submitter.backend).toBe('standalone')
    const { id, backend } = await submitter.submit({ jobId: 'standalone-1', plan: pipelinePlan(csv, out) })
    expect(backend).toBe('standalone')
    const events: RunnerEvent[] = []
    const final = await submitter.wait(id, { onEvent: (e) => events.push(e) })
    expect(final.error).toBeUndefined()
    expect(final.state).toBe('succeeded')
    const started = events.find((e) => e.type === 'started')
    expect(started?.type === 'started' && started.master).toBe(cluster.masterUrl)
    const readback = events.find((e) => e.type === 'rows' && e.nodeId === 'readback')
    expect(readback?.type === 'rows' && readback.rows).toEqual(expectedRevenue(orders))
    expect(existsSync(join(out, '_SUCCESS'))).toBe(true)

    // The master ran the application on its worker, and saw it finish.
    const master = (await (await fetch(`${cluster.masterWebUrl}/json`)).json()) as MasterJson
    expect(master.workers.filter((w) => w.state === 'ALIVE')).toHaveLength(1)
    expect(master.completedapps.find((a) => a.id === final.appId)?.state).toBe('FINISHED')
  })

  it('refuses a master URL that is not spark://host:port', () => {
    expect(() => new StandaloneSubmitter({ runtime, master: 'local[2]' })).toThrow(/spark:\/\/host:7077/)
  })
})
