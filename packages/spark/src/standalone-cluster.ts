import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StudioError } from '@sparkle-studio/core'
import { readLogTail } from './log-reader.ts'
import { probeLoopbackPort, signalGroup, waitGroupGone } from './process.ts'
import { LOOPBACK_ENV } from './runner-launch.ts'
import type { SparkRuntime } from './runtime.ts'

/** Options of {@link startStandaloneCluster}. */
export interface StandaloneClusterOptions {
  /** The Spark installation whose `spark-class` runs the master and the worker. */
  readonly runtime: SparkRuntime
  /**
   * Cores the worker offers.
   * @default 1
   */
  readonly cores?: number | undefined
  /**
   * Memory the worker offers to executors (Spark's notation).
   * @default '1g'
   */
  readonly memory?: string | undefined
  /** Folder for the daemons' logs and the worker's work folder; a temporary folder, removed by `stop`, when absent. */
  readonly workDir?: string | undefined
  /**
   * Limit for the master to start and the worker to register.
   * @default 120_000
   */
  readonly startTimeoutMs?: number | undefined
  /** Aborts the start (the daemons are stopped). */
  readonly signal?: AbortSignal | undefined
}

/** A running Spark standalone master with one worker, on the loopback interface. */
export interface StandaloneCluster {
  /** Master URL to submit to, `spark://127.0.0.1:<port>`. */
  readonly masterUrl: string
  /** The master's web UI (its state as JSON at `/json`). */
  readonly masterWebUrl: string
  /** The worker's web UI. */
  readonly workerWebUrl: string
  /** Where the daemons' logs (`master.log`, `worker.log`) and the worker's folder are. */
  readonly workDir: string
  /** Stops the worker (and its executors) and the master: SIGTERM to their process groups, then SIGKILL. */
  stop(): Promise<void>
}

interface MasterState {
  readonly status?: string
  readonly workers?: readonly { readonly state?: string }[]
}

/**
 * Starts a Spark standalone cluster on this machine from an installed Spark: a master
 * (`spark-class org.apache.spark.deploy.master.Master`) and one worker (`...deploy.worker.Worker`), both bound to
 * 127.0.0.1, each in its own process group, and resolves once the worker has registered with the master. Meant for
 * tests, demos and trying {@link StandaloneSubmitter} without a cluster at hand.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `SPARK_UNAVAILABLE` when a daemon exits or the worker
 * does not register in time (the message quotes the daemon's log).
 * @example
 * ```ts
 * import { findSparkRuntime, StandaloneSubmitter, startStandaloneCluster } from '@sparkle-studio/spark'
 *
 * const runtime = await findSparkRuntime()
 * const cluster = await startStandaloneCluster({ runtime, cores: 1, memory: '1g' })
 * try {
 *   const submitter = new StandaloneSubmitter({ runtime, master: cluster.masterUrl })
 *   // submit plans ...
 * } finally {
 *   await cluster.stop()
 * }
 * ```
 */
export async function startStandaloneCluster(options: StandaloneClusterOptions): Promise<StandaloneCluster> {
  const { runtime } = options
  const ownDir = options.workDir === undefined
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'sparkle-standalone-')))
  await mkdir(join(workDir, 'worker'), { recursive: true })
  const [masterPort, masterWebPort, workerWebPort] = [
    await probeLoopbackPort(0),
    await probeLoopbackPort(0),
    await probeLoopbackPort(0),
  ]
  const masterUrl = `spark://127.0.0.1:${masterPort}`
  const masterWebUrl = `http://127.0.0.1:${masterWebPort}`
  const workerWebUrl = `http://127.0.0.1:${workerWebPort}`
  const env = {
    ...process.env,
    ...runtime.env,
    ...LOOPBACK_ENV,
    SPARK_DAEMON_MEMORY: process.env['SPARK_DAEMON_MEMORY'] ?? '512m',
  }
  const children: { child: ChildProcess; name: string; log: string; exit?: string }[] = []

  const launch = (name: string, args: readonly string[]) => {
    const log = join(workDir, `${name}.log`)
    const fd = openSync(log, 'a')
    try {
      const child = spawn(runtime.sparkClass, args, { detached: true, stdio: ['ignore', fd, fd], env })
      child.unref()
      const entry: { child: ChildProcess; name: string; log: string; exit?: string } = { child, name, log }
      child.once('error', (e) => {
        entry.exit = e.message
      })
      child.once('exit', (code, signal) => {
        entry.exit = signal ? `was killed by ${signal}` : `exited with code ${code}`
      })
      children.push(entry)
    } finally {
      closeSync(fd)
    }
  }

  const stop = async () => {
    for (const { child } of [...children].reverse()) if (child.pid !== undefined) signalGroup(child.pid, 'SIGTERM')
    for (const { child } of children) {
      if (child.pid === undefined) continue
      if (!(await waitGroupGone(child.pid, 10_000))) {
        signalGroup(child.pid, 'SIGKILL')
        await waitGroupGone(child.pid, 5_000)
      }
    }
    if (ownDir) await rm(workDir, { recursive: true, force: true })
  }

  launch('master', [
    'org.apache.spark.deploy.master.Master',
    '--host',
    '127.0.0.1',
    '--port',
    String(masterPort),
    '--webui-port',
    String(masterWebPort),
  ])
  launch('worker', [
    'org.apache.spark.deploy.worker.Worker',
    masterUrl,
    '--host',
    '127.0.0.1',
    '--cores',
    String(options.cores ?? 1),
    '--memory',
    options.memory ?? '1g',
    '--webui-port',
    String(workerWebPort),
    '--work-dir',
    join(workDir, 'worker'),
  ])

  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000)
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      const dead = children.find((c) => c.exit !== undefined)
      if (dead) {
        throw new StudioError(
          'SPARK_UNAVAILABLE',
          `the standalone ${dead.name} ${dead.exit} while starting; ${dead.log} ends with:\n${await readLogTail(dead.log)}`,
        )
      }
      try {
        const res = await fetch(`${masterWebUrl}/json`, { signal: AbortSignal.timeout(2_000) })
        if (res.ok) {
          const state = (await res.json()) as MasterState
          if (state.status === 'ALIVE' && state.workers?.some((w) => w.state === 'ALIVE')) break
        }
      } catch {
        // The master's UI is not up yet.
      }
      if (Date.now() > deadline) {
        throw new StudioError(
          'SPARK_UNAVAILABLE',
          `the standalone worker did not register with ${masterUrl} within ${options.startTimeoutMs ?? 120_000} ms; ` +
            `worker log ends with:\n${await readLogTail(join(workDir, 'worker.log'))}`,
        )
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { masterUrl, masterWebUrl, workerWebUrl, workDir, stop }
}
