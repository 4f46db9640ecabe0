// Starting and watching worker processes (test/worker-process.ts) from the multi-process tests.
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, '..', '..')

/** A running worker process with its collected output. */
export interface WorkerProcess {
  readonly child: ChildProcess
  /** JSON log lines from stderr, parsed. */
  readonly logs: Record<string, unknown>[]
  /** Resolves when the worker printed that it is ready. */
  readonly ready: Promise<void>
  /** Resolves with the exit code (or the signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Everything printed that was not a JSON log line (for failure messages). */
  output(): string
}

/** Starts `worker-process.ts` with a config (see that file). */
export function startWorkerProcess(config: Record<string, unknown>): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@sparkle-studio/source', join(here, 'worker-process.ts'), JSON.stringify(config)],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  )
  const logs: Record<string, unknown>[] = []
  let text = ''
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
  let stdoutBuffer = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBuffer += chunk.toString()
    if (stdoutBuffer.includes('"ready"')) markReady()
    text += chunk.toString()
  })
  let buffer = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        text += `${line}\n`
      }
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  void exited.then(() => markReady())
  return { child, logs, ready, exited, output: () => text }
}
