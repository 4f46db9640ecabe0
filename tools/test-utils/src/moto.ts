import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A running S3 stand-in (moto's server mode) for tests, reached with path-style requests. */
export interface S3StandIn {
  /** `http://127.0.0.1:<port>`: give it to the S3 client as `endpoint`, with `forcePathStyle: true`. */
  readonly endpoint: string
  readonly region: string
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }
  /** Creates a bucket (moto accepts unsigned requests). */
  createBucket(name: string): Promise<void>
  /** Stops the server; its data is gone. */
  close(): Promise<void>
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => ok(port))
    })
  })
}

/**
 * Starts moto's S3 server on 127.0.0.1 on a free port, from `SPARKLE_MOTO_SERVER` or `<repo>/.tools/moto-venv`
 * (installed by `./sparkle test`), and waits until it answers. Fails, never skips, when moto is missing.
 */
export async function startS3StandIn(): Promise<S3StandIn> {
  const bin = process.env['SPARKLE_MOTO_SERVER'] || join(repoRoot, '.tools', 'moto-venv', 'bin', 'moto_server')
  if (!existsSync(bin)) {
    throw new Error(
      `moto_server (the S3 stand-in of the tests) is not installed at ${bin}. Fix: run the tests with ./sparkle test (it installs moto[server] into .tools/moto-venv), or set SPARKLE_MOTO_SERVER`,
    )
  }
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  let exited: string | undefined
  const exit = new Promise<void>((ok) => {
    child.once('exit', (code, sig) => {
      exited = `exited (${sig ?? code})`
      ok()
    })
    child.once('error', (e) => {
      exited = `failed to start: ${e.message}`
      ok()
    })
  })
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exit
      clearTimeout(timer)
    }
  }
  const deadline = Date.now() + 60_000
  for (;;) {
    if (exited !== undefined) throw new Error(`moto_server ${exited} before answering on ${endpoint}: ${stderr.trim()}`)
    try {
      await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) })
      break
    } catch {
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${stderr.trim()}`)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    async createBucket(name) {
      const res = await fetch(`${endpoint}/${encodeURIComponent(name)}`, { method: 'PUT' })
      if (!res.ok) throw new Error(`moto refused to create bucket ${name}: ${res.status} ${await res.text()}`)
    },
    close: stop,
  }
}
