// A 1 GiB CSV uploaded as a data artifact through the typed client (raw body from a Node stream) and as a multipart
// form, to the example server running in a child process, so that its memory is the server's alone: the server's
// resident memory growth while the file streams through the content check into local storage, and the upload's
// throughput beside a plain `fs` stream copy of the same file on the same disk, in the same run.

import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, openAsBlob, readFileSync, writeFileSync } from 'node:fs'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import { createStudioClient, type StudioClient } from '@sparkle-studio/client'
import { type BenchResult, type BenchRow, round, runIfMain } from './lib.ts'

const FILE_BYTES = 2 ** 30
/** Timed rounds: each copies the file, then uploads it raw and as a form; the best throughput and worst growth count. */
const ROUNDS = 2
const SAMPLE_MS = 50
const MB = 1_000_000
const ADMIN_KEY = `sk_live_bench_${'b'.repeat(40)}`
const MAIN = join(import.meta.dirname, '..', '..', 'examples', 'server', 'src', 'main.ts')

/** A generated CSV: where it is, its size, digest and data rows. */
interface CsvFile {
  readonly path: string
  readonly size: number
  readonly sha256: string
  readonly rows: number
}

const CUSTOMERS = ['Ada', 'Bob', 'Zoë', 'José', 'Łucja', '東京 Trading', 'Dana', 'Émile']
/** Distinct 1 MiB blocks of rows the file repeats (generating 1 GiB of rows one by one takes ~40 s). */
const POOL_BLOCKS = 16
/** Bytes kept for the last row, padded to land on the exact size. */
const TAIL = 128

const row = (i: number) =>
  `${i + 1},${CUSTOMERS[i % CUSTOMERS.length]} ${i % 9973},${((i * 37) % 100_000) / 100},2026-11-${String((i % 28) + 1).padStart(2, '0')}\n`

/** Rows from the `first`, as many as fit in `max` bytes. */
function rowBlock(first: number, max: number): { readonly bytes: Buffer; readonly rows: number } {
  const parts: string[] = []
  let size = 0
  let i = first
  for (;;) {
    const r = row(i)
    const b = Buffer.byteLength(r)
    if (size + b > max) break
    parts.push(r)
    size += b
    i++
  }
  return { bytes: Buffer.from(parts.join('')), rows: i - first }
}

/** Writes a UTF-8 CSV of exactly `bytes` bytes to disk in 1 MiB chunks (never whole in memory), hashing as it goes. */
async function writeCsv(path: string, bytes: number): Promise<CsvFile> {
  const hash = createHash('sha256')
  let rows = 0
  let written = 0
  const pool: ReturnType<typeof rowBlock>[] = []
  for (let k = 0, first = 0; k < POOL_BLOCKS; k++) {
    const block = rowBlock(first, 2 ** 20)
    pool.push(block)
    first += block.rows
  }
  function* chunks(): Generator<Buffer> {
    const emit = (chunk: Buffer) => {
      hash.update(chunk)
      written += chunk.length
      return chunk
    }
    yield emit(Buffer.from('id,customer,amount,day\n'))
    for (let k = 0; ; k++) {
      const block = pool[k % pool.length] as (typeof pool)[number]
      if (written + block.bytes.length + TAIL > bytes) break
      rows += block.rows
      yield emit(block.bytes)
    }
    const tail = rowBlock(rows, bytes - written - TAIL)
    rows += tail.rows
    yield emit(tail.bytes)
    const prefix = `${rows + 1},last `
    const suffix = ',0,2026-11-30\n'
    rows++
    yield emit(Buffer.from(`${prefix}${'x'.repeat(bytes - written - prefix.length - suffix.length)}${suffix}`))
  }
  await pipeline(chunks, createWriteStream(path))
  if (written !== bytes) throw new Error(`generated ${written} bytes, meant ${bytes}`)
  return { path, size: written, sha256: hash.digest('hex'), rows }
}

/** The example server in a child process, with a line of IPC to read its heap. */
interface ServerProcess {
  readonly url: string
  readonly pid: number
  /** Collects garbage, starts a new peak, answers the heap (heapUsed + external) in bytes. */
  resetPeak(): Promise<number>
  /** The child's largest heap (heapUsed + external) in bytes since `resetPeak`, sampled every 50 ms in the child. */
  heapPeak(): Promise<number>
  stop(): Promise<void>
}

/** What runs in the child: the example server's `startServer`, and answers to the bench's memory questions. */
const CHILD = `
import { startServer } from ${JSON.stringify(pathToFileURL(MAIN).href)}
const server = await startServer()
const heap = () => { const m = process.memoryUsage(); return m.heapUsed + m.external }
let peak = 0
setInterval(() => { peak = Math.max(peak, heap()) }, ${SAMPLE_MS}).unref()
process.on('message', async (m) => {
  if (m === 'reset') { globalThis.gc?.(); peak = heap(); process.send({ reset: peak }) }
  if (m === 'peak') process.send({ peak: Math.max(peak, heap()) })
  if (m === 'stop') { await server.stop(); process.disconnect() }
})
process.send({ url: server.url })
`

async function startChild(dataDir: string): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD], {
    env: {
      ...process.env,
      PORT: '0',
      SPARKLE_DATA_DIR: dataDir,
      SPARKLE_WORKER: 'off',
      SPARKLE_RATE_LIMIT: 'off',
      SPARKLE_LOG_LEVEL: 'warn',
      SPARKLE_ADMIN_KEY: ADMIN_KEY,
      SPARKLE_ARTIFACTS_MAX_BYTES: '2gb',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let output = ''
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const ask = <K extends string>(message: string, key: K) =>
    new Promise<number>((resolve, reject) => {
      const onMessage = (m: Record<string, number>) => {
        if (m[key] === undefined) return
        child.off('message', onMessage)
        resolve(m[key])
      }
      child.on('message', onMessage)
      if (!child.send(message)) reject(new Error('the server process is gone'))
    })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url?: string }) => (m.url ? resolve(m.url) : reject(new Error('no url'))))
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it listened:\n${output}`)))
  })
  const pid = child.pid
  if (pid === undefined) throw new Error('the server process has no pid')
  return {
    url,
    pid,
    resetPeak: () => ask('reset', 'reset'),
    heapPeak: () => ask('peak', 'peak'),
    async stop() {
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      child.send('stop')
      await exited
      clearTimeout(timer)
    },
  }
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM). */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? Number.NaN) * 1024
}

/** A process's CPU time (user + system) in ms, from /proc/<pid>/stat (in clock ticks, 100 a second on Linux). */
function cpuTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** What one measured upload gave. */
interface Measured {
  readonly ms: number
  /** Resident memory before the upload (after a collection), and its peak during it, in bytes. */
  readonly baseline: number
  readonly peak: number
  readonly heapBaseline: number
  readonly heapPeak: number
  /** The server's CPU time (user + system) during the upload. */
  readonly cpuMs: number
}

/**
 * Times `upload` while sampling the server's resident memory every 50 ms from /proc, and reads the kernel's own
 * high-water mark (VmHWM, reset through clear_refs) so that no short peak between samples is missed.
 */
async function measured(server: ServerProcess, upload: () => Promise<void>): Promise<Measured> {
  const heapBaseline = await server.resetPeak()
  await new Promise((r) => setTimeout(r, 200))
  let hwmReset = true
  try {
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5')
  } catch {
    hwmReset = false
  }
  const baseline = procStatus(server.pid, 'VmRSS')
  let peak = baseline
  const timer = setInterval(() => {
    peak = Math.max(peak, procStatus(server.pid, 'VmRSS'))
  }, SAMPLE_MS)
  const cpu0 = cpuTime(server.pid)
  const t0 = performance.now()
  try {
    await upload()
  } finally {
    clearInterval(timer)
  }
  const ms = performance.now() - t0
  const cpuMs = cpuTime(server.pid) - cpu0
  peak = Math.max(peak, procStatus(server.pid, 'VmRSS'))
  if (hwmReset) peak = Math.max(peak, procStatus(server.pid, 'VmHWM'))
  return { ms, baseline, peak, heapBaseline, heapPeak: await server.heapPeak(), cpuMs }
}

/** The answer must describe the file's bytes exactly, or the bench fails. */
function verify(label: string, file: CsvFile, artifact: { size: number; sha256: string; rowCount?: number | null }) {
  if (artifact.size !== file.size || artifact.sha256 !== file.sha256 || artifact.rowCount !== file.rows) {
    throw new Error(
      `${label}: the server stored size ${artifact.size}, sha256 ${artifact.sha256}, ${artifact.rowCount} rows; the file has ${file.size}, ${file.sha256}, ${file.rows}`,
    )
  }
}

async function uploadRaw(client: StudioClient, file: CsvFile): Promise<string> {
  const artifact = await client.uploadArtifact({
    query: { name: 'orders.csv' },
    body: createReadStream(file.path),
    contentType: 'text/csv',
    size: file.size,
  })
  verify('raw upload', file, artifact)
  return artifact.id
}

async function uploadForm(url: string, file: CsvFile): Promise<string> {
  const form = new FormData()
  form.append('file', await openAsBlob(file.path, { type: 'text/csv' }), 'orders.csv')
  const answer = await fetch(`${url}/api/v1/artifacts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: form,
  })
  const body = (await answer.json()) as { data: { id: string; size: number; sha256: string; rowCount?: number } }
  if (answer.status !== 201) throw new Error(`form upload: ${answer.status} ${JSON.stringify(body)}`)
  verify('form upload', file, body.data)
  return body.data.id
}

const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000)
const mb = (bytes: number) => round(bytes / MB)

/** Runs the benchmark. */
export async function run(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-bench-artifact-'))
  let server: ServerProcess | undefined
  try {
    const t0 = performance.now()
    const file = await writeCsv(join(dir, 'orders.csv'), FILE_BYTES)
    const generatedMs = performance.now() - t0
    server = await startChild(join(dir, 'data'))
    const startRss = procStatus(server.pid, 'VmRSS')
    const client = createStudioClient({ baseUrl: server.url, token: ADMIN_KEY, timeout: false })
    // Warm-up: a small upload through both paths, so that the baseline holds the code and pools an upload needs.
    const small = await writeCsv(join(dir, 'small.csv'), 4 * 2 ** 20)
    for (const id of [await uploadRaw(client, small), await uploadForm(server.url, small)]) {
      await client.deleteArtifact({ params: { id } })
    }

    const copies: number[] = []
    const kernelCopies: number[] = []
    const raws: Measured[] = []
    const forms: Measured[] = []
    const target = join(dir, 'copy.csv')
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now()
      await pipeline(createReadStream(file.path), createWriteStream(target))
      copies.push(performance.now() - t)
      await rm(target)
      t = performance.now()
      await copyFile(file.path, target)
      kernelCopies.push(performance.now() - t)
      await rm(target)
      let id = ''
      raws.push(
        await measured(server, async () => {
          id = await uploadRaw(client, file)
        }),
      )
      await client.deleteArtifact({ params: { id } })
      const url = server.url
      forms.push(
        await measured(server, async () => {
          id = await uploadForm(url, file)
        }),
      )
      await client.deleteArtifact({ params: { id } })
    }

    const copyMs = Math.min(...copies)
    const copyRate = mbps(file.size, copyMs)
    const growth = (m: Measured) => m.peak - m.baseline
    const rows: BenchRow[] = []
    for (const [label, runs] of [
      ['raw body, typed client from fs.createReadStream', raws],
      ['multipart form, fetch + FormData(fs.openAsBlob)', forms],
    ] as const) {
      const rate = mbps(file.size, Math.min(...runs.map((m) => m.ms)))
      rows.push({
        metric: `upload throughput, 1 GiB CSV (${label})`,
        value: round(rate),
        unit: 'MB/s',
        anchor: 'fs stream copy of the same file',
        anchorValue: round(copyRate),
        ratio: round(rate / copyRate),
        ratioLabel: 'of the anchor',
      })
      rows.push({
        metric: `server RSS growth during the upload (${label})`,
        value: mb(Math.max(...runs.map(growth))),
        unit: 'MB',
        target: '< 100 MB',
      })
    }
    const describe = (m: Measured) =>
      `${round(m.ms / 1000)} s (server CPU ${round(m.cpuMs / 1000)} s), RSS ${mb(m.baseline)} -> ${mb(m.peak)} MB, heap + external ${mb(m.heapBaseline)} -> ${mb(m.heapPeak)} MB`
    return {
      name: 'artifacts: 1 GiB CSV upload, server memory and throughput',
      rows,
      notes: [
        `The file: ${file.size} bytes, ${file.rows} data rows of UTF-8 CSV with non-ASCII names (${POOL_BLOCKS} distinct 1 MiB blocks of rows, repeated; generated on disk in ${round(generatedMs / 1000)} s, in the page cache for every reader). The server is the example server (Express, embedded database, local storage in a temp folder, authentication on) in a child process; the bench process is the client. MB = 10^6 bytes.`,
        `Every answer's size, sha256 and row count are checked against the file's. ${ROUNDS} rounds of copy, raw upload, form upload: the best throughput and the largest memory growth are reported.`,
        `Growth is the server's peak resident memory (VmRSS sampled every ${SAMPLE_MS} ms and the kernel's VmHWM, reset before each upload) minus its resident memory just before (after a collection and a small warm-up upload). The server's RSS once listening: ${mb(startRss)} MB.`,
        `Anchors: fs stream copy (pipeline(createReadStream, createWriteStream)) ${copies.map((ms) => round(mbps(file.size, ms))).join(', ')} MB/s; fs.promises.copyFile (kernel copy) ${kernelCopies.map((ms) => round(mbps(file.size, ms))).join(', ')} MB/s.`,
        `Raw uploads: ${raws.map(describe).join('; ')}.`,
        `Form uploads: ${forms.map(describe).join('; ')}.`,
      ],
    }
  } finally {
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
