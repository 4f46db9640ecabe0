import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)
const hasProc = process.platform === 'linux'

interface ProcStat {
  readonly state: string
  readonly pgid: number
  readonly startTime: string
}

async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'latin1')
  } catch {
    return undefined
  }
  // The command name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const state = fields[0]
  const pgid = Number(fields[2])
  const startTime = fields[19]
  if (state === undefined || startTime === undefined || !Number.isFinite(pgid)) return undefined
  return { state, pgid, startTime }
}

/**
 * An identifier of when a process started (clock ticks since boot on Linux, `ps -o lstart` elsewhere), stored with a
 * pid so that a recycled pid is never mistaken for the original process. `undefined` when the process is gone.
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  if (hasProc) return (await readProcStat(pid))?.startTime
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'lstart=', '-p', String(pid)])
    return stdout.trim() || undefined
  } catch {
    return undefined
  }
}

/** True when `pid` runs (not a zombie) and, when `startTime` is given, is still the process that started then. */
export async function isProcessAlive(pid: number, startTime?: string | undefined): Promise<boolean> {
  if (hasProc) {
    const stat = await readProcStat(pid)
    if (!stat || stat.state === 'Z' || stat.state === 'X') return false
    return startTime === undefined || stat.startTime === startTime
  }
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return startTime === undefined || (await processStartTime(pid)) === startTime
}

/** Pids of the live (not zombie) processes of process group `pgid`. */
export async function groupMembers(pgid: number): Promise<number[]> {
  if (hasProc) {
    const names = await readdir('/proc').catch(() => [] as string[])
    const found = await Promise.all(
      names
        .filter((n) => /^\d+$/.test(n))
        .map(async (n) => {
          const stat = await readProcStat(Number(n))
          return stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X' ? Number(n) : undefined
        }),
    )
    return found.filter((p): p is number => p !== undefined)
  }
  try {
    const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=', '-o', 'pgid=', '-o', 'stat='])
    return stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f[1] === String(pgid) && !f[2]?.startsWith('Z'))
      .map((f) => Number(f[0]))
  } catch {
    return []
  }
}

/** Sends `signal` to every process of group `pgid`; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: nothing left to signal.
  }
}

/** Waits until group `pgid` has no live process or `timeoutMs` passed; true when the group is gone. */
export async function waitGroupGone(pgid: number, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if ((await groupMembers(pgid)).length === 0) return true
    if (Date.now() >= end) return false
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Binds 127.0.0.1:`port` (0: any free port) for a moment and returns the port bound; rejects with the bind error. */
export async function probeLoopbackPort(port: number): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const bound = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return bound
}
