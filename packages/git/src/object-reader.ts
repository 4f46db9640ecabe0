import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { StudioError } from '@sparkle-studio/core'
import { type GitProcessListener, gitEnv } from './git-process.ts'

/** The object types git stores. */
export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag'

/** One object read from the repository. */
export interface GitObject {
  /** The object's id. */
  readonly oid: string
  /** Its type. */
  readonly type: GitObjectType
  /** Its raw body. */
  readonly data: Buffer
}

interface Pending {
  readonly resolve: (object: GitObject | null) => void
  readonly reject: (error: unknown) => void
  /** Set when the caller gave up; the answer is still read off the stream, then dropped. */
  dropped: boolean
}

/** Bytes from a stream, taken from the front without copying the rest each time. */
class ByteQueue {
  #chunks: Buffer[] = []
  #length = 0

  get length(): number {
    return this.#length
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#length += chunk.length
  }

  /** Index of the first `byte`, or -1. */
  indexOf(byte: number): number {
    let base = 0
    for (const chunk of this.#chunks) {
      const i = chunk.indexOf(byte)
      if (i >= 0) return base + i
      base += chunk.length
    }
    return -1
  }

  take(n: number): Buffer {
    const first = this.#chunks[0]
    let out: Buffer
    if (first && first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      const all = Buffer.concat(this.#chunks)
      out = all.subarray(0, n)
      this.#chunks = all.length > n ? [all.subarray(n)] : []
    }
    this.#length -= n
    return out
  }

  clear(): void {
    this.#chunks = []
    this.#length = 0
  }
}

/**
 * Reads objects through one long-lived `git cat-file --batch` process instead of a process per read. Requests are
 * written as they come and answered in order (git answers a batch strictly first in, first out), so concurrent reads
 * pipeline through the one process. The process is started on first use, restarted if it dies, and ended by
 * {@link ObjectReader.close}. Refs are resolved afresh on every request, so a reader never sees a stale branch head.
 */
export class ObjectReader {
  readonly #cwd: string
  readonly #onGitProcess: GitProcessListener | undefined
  #child: ChildProcessWithoutNullStreams | undefined
  #pending: Pending[] = []
  #outbox: string[] = []
  readonly #queue = new ByteQueue()
  #header: { oid: string; type: GitObjectType; size: number } | undefined
  #stderr = ''
  #closed = false
  #starts = 0

  /**
   * @param cwd The repository (its git directory for a bare repository).
   * @param onGitProcess Told each time the `cat-file` process starts.
   */
  constructor(cwd: string, onGitProcess?: GitProcessListener | undefined) {
    this.#cwd = cwd
    this.#onGitProcess = onGitProcess
  }

  /** How many times a `cat-file` process was started (1 unless one died); for diagnostics and benchmarks. */
  get processStarts(): number {
    return this.#starts
  }

  /** The running `cat-file` process id, if one is running. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /**
   * Reads one object by name: an object id, a full ref name, or `<rev>^{commit}`. Answers `null` when it does not exist.
   * Names must come from the store's own checks: a name with a newline would be two requests.
   */
  read(name: string, signal?: AbortSignal | undefined): Promise<GitObject | null> {
    if (this.#closed) return Promise.reject(new StudioError('GIT_FAILED', 'the pipeline store is closed'))
    if (/[\n\r\0]/.test(name)) return Promise.reject(new StudioError('BAD_REQUEST', 'invalid object name'))
    if (signal?.aborted) return Promise.reject(signal.reason)
    const child = this.#ensure()
    return new Promise<GitObject | null>((resolve, reject) => {
      let onAbort: (() => void) | undefined
      const pending: Pending = {
        dropped: false,
        resolve: (object) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort)
          resolve(object)
        },
        reject: (error) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      if (signal) {
        onAbort = () => {
          pending.dropped = true
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
      }
      if (this.#pending.length === 0) this.#setRef(child, true)
      this.#pending.push(pending)
      this.#send(child, name)
    })
  }

  /** Requests made in the same tick go to git in one write (a list asks for a thousand objects at once). */
  #send(child: ChildProcessWithoutNullStreams, name: string): void {
    this.#outbox.push(name)
    if (this.#outbox.length > 1) return
    queueMicrotask(() => {
      const lines = `${this.#outbox.join('\n')}\n`
      this.#outbox = []
      if (this.#child === child) child.stdin.write(lines)
    })
  }

  /** Ends the process. Reads after this fail. */
  async close(): Promise<void> {
    this.#closed = true
    const child = this.#child
    if (!child) return
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
    await exited
    clearTimeout(timer)
  }

  #setRef(child: ChildProcessWithoutNullStreams, busy: boolean): void {
    // An idle reader must not keep the process alive; a busy one must, or Node could exit mid-read.
    const streams = [child.stdout, child.stdin, child.stderr] as unknown as { ref(): void; unref(): void }[]
    if (busy) {
      child.ref()
      for (const s of streams) s.ref()
    } else {
      child.unref()
      for (const s of streams) s.unref()
    }
  }

  #ensure(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child
    const args = ['cat-file', '--batch']
    this.#onGitProcess?.(args)
    const child = spawn('git', args, {
      cwd: this.#cwd,
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#starts++
    this.#child = child
    this.#stderr = ''
    this.#header = undefined
    this.#outbox = []
    this.#queue.clear()
    child.stdout.on('data', (chunk: Buffer) => {
      this.#queue.push(chunk)
      this.#drain()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-2000)
    })
    child.stdin.on('error', () => {})
    const fail = (why: string) => {
      if (this.#child !== child) return
      this.#child = undefined
      const pending = this.#pending
      this.#pending = []
      const detail = this.#stderr.trim().split('\n').slice(-2).join(' ')
      const error = new StudioError('GIT_FAILED', `git cat-file stopped (${why})${detail ? `: ${detail}` : ''}`, {
        cwd: this.#cwd,
      })
      for (const p of pending) p.reject(error)
    }
    child.once('error', (e) => fail(e.message))
    child.once('close', (code, sig) => fail(sig ? `signal ${sig}` : `exit code ${code}`))
    return child
  }

  #drain(): void {
    for (;;) {
      const pending = this.#pending[0]
      if (!pending) return
      if (!this.#header) {
        const eol = this.#queue.indexOf(0x0a)
        if (eol < 0) return
        const line = this.#queue.take(eol + 1).toString('utf8', 0, eol)
        const parts = line.split(' ')
        if (parts.length === 3 && /^\d+$/.test(parts[2] ?? '')) {
          this.#header = { oid: parts[0] ?? '', type: parts[1] as GitObjectType, size: Number(parts[2]) }
        } else {
          // "<name> missing" or "<name> ambiguous": no object, no body.
          this.#finish(pending, null)
          continue
        }
      }
      const header = this.#header
      if (this.#queue.length < header.size + 1) return
      const data = Buffer.from(this.#queue.take(header.size + 1).subarray(0, header.size))
      this.#header = undefined
      this.#finish(pending, { oid: header.oid, type: header.type, data })
    }
  }

  #finish(pending: Pending, object: GitObject | null): void {
    this.#pending.shift()
    if (this.#pending.length === 0 && this.#child) this.#setRef(this.#child, false)
    if (!pending.dropped) pending.resolve(object)
  }
}
