// Starting the consumer's server, stopping it, and checking that nothing it started (Spark included) outlives it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A server started with the consumer's node. */
export interface ServerProcess {
  readonly child: ChildProcess
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string
}

/** Runs `node <file>` and resolves once it prints `ready`; rejects with its output if it exits or times out first. */
export function startNodeServer(
  file: string,
  opts: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly ready: RegExp; readonly timeoutMs: number },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [file], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  const server: ServerProcess = { child, output: () => text }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${file} did not print ${opts.ready} within ${opts.timeoutMs} ms:\n${text}`))
    }, opts.timeoutMs)
    const onData = (chunk: Buffer) => {
      text += chunk.toString()
      if (opts.ready.test(text)) {
        clearTimeout(timer)
        resolve(server)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${file} exited (${code ?? signal}) before it was ready:\n${text}`))
    })
  })
}

/** Sends SIGTERM and waits for the exit; SIGKILL and an error if it does not exit within `timeoutMs`. */
export async function stopNodeServer(server: ServerProcess, timeoutMs: number): Promise<void> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const inTime = await Promise.race([exited.then(() => true), sleep(timeoutMs).then(() => false)])
  if (!inTime) {
    child.kill('SIGKILL')
    await exited
    throw new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM:\n${server.output()}`)
  }
}

/** Processes (other than this one) whose command line mentions `text`. */
export function processesMentioning(text: string): { pid: number; args: string }[] {
  const ps = execFileSync('ps', ['-ww', '-eo', 'pid=,args='], { encoding: 'utf8' })
  return ps
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: m[2] ?? '' }))
    .filter((p) => p.pid !== process.pid && p.args.includes(text) && !p.args.startsWith('ps '))
}

/**
 * Waits up to `timeoutMs` for every process mentioning `text` to end; kills the rest (they are ours) and throws
 * naming them.
 */
export async function assertNoProcessLeft(text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let left = processesMentioning(text)
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(500)
    left = processesMentioning(text)
  }
  if (left.length === 0) return
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  throw new Error(
    `processes left running after the server stopped:\n${left.map((p) => `${p.pid} ${p.args}`).join('\n')}`,
  )
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}
