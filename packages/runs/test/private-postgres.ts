// A private PostgreSQL server for the restart test: its own data folder, port and socket folder, started with the
// machine's PostgreSQL binaries (pg_config --bindir, or /usr/lib/postgresql/<newest>/bin). Restarting it affects no
// other suite, unlike restarting the shared cluster. As root, the server runs as the `postgres` user.
import { execFile } from 'node:child_process'
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A running private server. */
export interface PrivatePostgres {
  /** Connection string for the `postgres` database as user `postgres`. */
  readonly url: string
  /** Restarts the server (fast shutdown: sessions are terminated), waiting until it accepts connections again. */
  restart(): Promise<void>
  /** Starts the server if it is down (for clean-up after a failure). */
  ensureRunning(): Promise<void>
  /** Stops the server and removes its data folder. */
  remove(): Promise<void>
}

async function binDir(): Promise<string> {
  try {
    return (await run('pg_config', ['--bindir'])).stdout.trim()
  } catch {
    const versions = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).sort(
      (a, b) => Number(b) - Number(a),
    )
    if (versions[0]) return join('/usr/lib/postgresql', versions[0], 'bin')
  }
  throw new Error(
    'the PostgreSQL restart test needs the PostgreSQL server binaries (initdb, pg_ctl): install postgresql, or put pg_config on PATH',
  )
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/** Initializes and starts a private server on a free loopback port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await binDir()
  const asRoot = process.getuid?.() === 0
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-pg-'))
  const data = join(dir, 'data')
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    await chown(dir, uid, gid)
  }
  const exec = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args)
  const port = await freePort()
  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`
  const pgCtl = (...args: string[]) =>
    exec('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', ...args])
  await pgCtl('-o', options, 'start')
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await pgCtl('-m', 'fast', 'restart')
    },
    async ensureRunning() {
      const status = await exec('pg_ctl', ['-D', data, 'status']).catch(() => undefined)
      if (!status) await pgCtl('-o', options, 'start')
    },
    async remove() {
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
}
