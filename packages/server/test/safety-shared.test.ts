// Two server processes on one PostgreSQL database share their rate limits: requests split over both get exactly
// the limit through, whichever process answers.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@sparkle-studio/test-utils'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from './safety-http.ts'

const LIMIT = 10
const WINDOW_S = 60

/** Starts `safety-server.ts` in a node process of its own; resolves with its base URL once it listens. */
function startServer(env: Record<string, string>, processes: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, ['--conditions=@sparkle-studio/source', 'safety-server.ts'], {
    cwd: import.meta.dirname,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  processes.push(child)
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    lines.once('line', (line) => {
      const { port } = JSON.parse(line) as { port: number }
      resolve(`http://127.0.0.1:${port}`)
    })
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening: ${stderr}`)))
  })
}

describe('rate limits shared over PostgreSQL by two server processes', () => {
  let database: TestDatabase
  const dirs: TempDir[] = []
  const processes: ChildProcess[] = []
  const urls: string[] = []

  beforeAll(async () => {
    database = await createTestDatabase('sparkle_safety_shared')
    // One after the other: both migrate the same database.
    for (let i = 0; i < 2; i++) {
      const dir = await makeTempDir(`sparkle-safety-shared-${i}-`)
      dirs.push(dir)
      urls.push(
        await startServer(
          { DATABASE_URL: database.url, SPARKLE_DATA_DIR: dir.path, LIMIT: String(LIMIT), WINDOW_S: String(WINDOW_S) },
          processes,
        ),
      )
    }
  })

  afterAll(async () => {
    await Promise.all(
      processes.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null) return resolve()
            p.once('exit', () => resolve())
            p.kill('SIGTERM')
          }),
      ),
    )
    await database?.drop()
    for (const d of dirs) await d.remove()
  })

  it('lets exactly the limit through when the requests of one caller are split over both processes', async () => {
    const total = LIMIT * 3
    const request = (i: number) =>
      send(urls[i % 2] as string, '/api/v1/pipelines', { headers: { 'x-test-caller': 'shared-caller' } })
    // One request to each process first, so both take part whatever the machine's load; then all the rest at once.
    const first = [await request(0), await request(1)]
    const answers = [...first, ...(await Promise.all(Array.from({ length: total - 2 }, (_, i) => request(i + 2))))]
    const ok = answers.filter((a) => a.status === 200)
    const limited = answers.filter((a) => a.status === 429)
    const byServer = [0, 1].map((s) => answers.filter((a, i) => i % 2 === s && a.status === 200).length)
    console.log(
      `safety (shared): ${total} requests over 2 processes, limit ${LIMIT}: ${ok.length} x 200 (${byServer.join(' + ')}), ${limited.length} x 429`,
    )
    expect(ok.length).toBe(LIMIT)
    expect(limited.length).toBe(total - LIMIT)
    expect(byServer[0]).toBeGreaterThan(0)
    expect(byServer[1]).toBeGreaterThan(0)
    for (const a of limited) {
      expect(a.json?.error?.code).toBe('RATE_LIMITED')
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0)
      expect(Number(a.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_S)
    }
    const remaining = ok.map((a) => Number(a.headers['ratelimit-remaining'])).sort((x, y) => x - y)
    expect(remaining).toEqual(Array.from({ length: LIMIT }, (_, i) => i))
    // Another caller still has its whole budget, on either process.
    const other = await send(urls[1] as string, '/api/v1/pipelines', { headers: { 'x-test-caller': 'other-caller' } })
    expect(other.status).toBe(200)
    expect(other.headers['ratelimit-remaining']).toBe(String(LIMIT - 1))
    // The counts are in the table the library created.
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const rows = await client.query<{ key: string; points: number }>(
        'SELECT key, points FROM sparkle_rate_limits ORDER BY key',
      )
      expect(rows.rows).toEqual([
        { key: 'sparkle-caller:other-caller', points: 1 },
        { key: 'sparkle-caller:shared-caller', points: expect.any(Number) },
      ])
      expect(rows.rows[1]?.points).toBeGreaterThanOrEqual(LIMIT)
    } finally {
      await client.end()
    }
  })
})
