import { open, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseRunnerEvents, type RunnerEvent } from './events.ts'

/** The files of one job's folder; the folder is the job (its id), so any process can pick it up again. */
export interface JobFiles {
  readonly dir: string
  /** What was submitted, written once by `submit` (`job.json`). */
  readonly job: string
  /** The plan the runner executes (`plan.json`, mode 0600). It holds secret references, never their values. */
  readonly plan: string
  /**
   * The secrets the plan references (`secrets.json`, mode 0600, `{ NAME: value }`): removed by the runner as soon as
   * it read it, before Spark runs anything.
   */
  readonly secrets: string
  /** The same values for the supervisor to redact from `spark.log` (`redact.json`, mode 0600): removed once read. */
  readonly redact: string
  /** Spark configuration for spark-submit's `--properties-file` (`spark.properties`, mode 0600). */
  readonly properties: string
  /** The runner's JSON-line events (`events.jsonl`). */
  readonly events: string
  /** spark-submit's stdout and stderr, capped (`spark.log`). */
  readonly log: string
  /** The supervisor's own stdout and stderr, for when it cannot start (`supervisor.log`). */
  readonly supervisorLog: string
  /** Written by the supervisor when spark-submit exited (`exit.json`). */
  readonly exit: string
  /** Written by `cancel` before it signals the job (`cancel.json`). */
  readonly cancel: string
  /** Written by the supervisor when the job passed its deadline, before it stops it (`timeout.json`). */
  readonly timeout: string
}

/** The paths of the files in job folder `dir`. */
export function jobFiles(dir: string): JobFiles {
  return {
    dir,
    job: join(dir, 'job.json'),
    plan: join(dir, 'plan.json'),
    secrets: join(dir, 'secrets.json'),
    redact: join(dir, 'redact.json'),
    properties: join(dir, 'spark.properties'),
    events: join(dir, 'events.jsonl'),
    log: join(dir, 'spark.log'),
    supervisorLog: join(dir, 'supervisor.log'),
    exit: join(dir, 'exit.json'),
    cancel: join(dir, 'cancel.json'),
    timeout: join(dir, 'timeout.json'),
  }
}

/** `job.json`: what was submitted and the process that runs it. */
export interface JobRecord {
  readonly version: 1
  readonly jobId: string
  readonly backend: string
  readonly master: string
  readonly pipeline: string
  /** Epoch ms. */
  readonly createdAt: number
  /** Epoch ms after which the job is stopped and fails with `JOB_TIMEOUT`. */
  readonly deadline?: number
  readonly timeoutMs?: number
  /** The supervisor: leader of the job's process group (its pid is the group id). */
  readonly pid: number
  /** The supervisor's start time, to tell it from a later process that got the same pid. */
  readonly pidStartTime?: string
  readonly maxLogBytes: number
}

/** `exit.json`: how spark-submit ended, as its supervisor saw it. */
export interface ExitRecord {
  readonly code: number | null
  readonly signal: string | null
  /** Epoch ms. */
  readonly at: number
  readonly timedOut: boolean
}

/** `cancel.json` and `timeout.json`: when the job was asked to stop. */
export interface StopRecord {
  /** Epoch ms. */
  readonly at: number
}

/** Reads and parses a JSON file; `undefined` when it does not exist (or is not complete JSON yet). */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return undefined
  }
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}

/** Writes JSON through a temporary file and a rename, so readers never see half a file. */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(value), { mode })
  await rename(tmp, path)
}

/** Events written after byte `offset`: complete lines only, and the offset to read on from. */
export async function readEventsFrom(
  path: string,
  offset: number,
): Promise<{ readonly events: RunnerEvent[]; readonly offset: number }> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch {
    return { events: [], offset }
  }
  try {
    const { size } = await handle.stat()
    if (size <= offset) return { events: [], offset }
    const buffer = Buffer.alloc(size - offset)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset)
    const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a)
    if (end < 0) return { events: [], offset }
    return {
      events: parseRunnerEvents(buffer.subarray(0, end + 1).toString('utf8')),
      offset: offset + end + 1,
    }
  } finally {
    await handle.close()
  }
}
