import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commitFiles } from '../test/helpers.ts'
import { runGit } from './git-process.ts'
import { ObjectReader } from './object-reader.ts'
import { initRepository } from './repository-setup.ts'

function catFileProcesses(): number {
  const out = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.startsWith('git cat-file --batch')).length
}

describe('ObjectReader (one long-lived git cat-file --batch)', () => {
  let dir: TempDir
  let repo: string
  let reader: ObjectReader
  beforeEach(async () => {
    dir = await makeTempDir('sparkle-git-reader-')
    repo = await initRepository(join(dir.path, 'r.git'))
    reader = new ObjectReader(repo)
  })
  afterEach(async () => {
    await reader.close()
    await dir.remove()
  })

  it('reads blobs, trees and commits, answers null for missing objects, and pipelines concurrent reads', async () => {
    const big = 'x'.repeat(300_000)
    const commit = await commitFiles(repo, { 'a.json': '{"a":1}\n', 'big.txt': big, 'empty.txt': '' })
    const blobs = Object.fromEntries(
      await Promise.all(
        ['a.json', 'big.txt', 'empty.txt'].map(async (f) => [
          f,
          (await runGit(['rev-parse', `${commit}:${f}`], { cwd: repo })).stdout.trim(),
        ]),
      ),
    )
    const reads = await Promise.all([
      reader.read(blobs['a.json']),
      reader.read(blobs['big.txt']),
      reader.read('0'.repeat(40)),
      reader.read(blobs['empty.txt']),
      reader.read('refs/heads/main^{commit}'),
      reader.read('refs/heads/nope'),
      ...Array.from({ length: 100 }, () => reader.read(blobs['a.json'])),
    ])
    expect(reads[0]?.data.toString()).toBe('{"a":1}\n')
    expect(reads[1]?.data.toString()).toBe(big)
    expect(reads[2]).toBeNull()
    expect(reads[3]).toMatchObject({ type: 'blob', data: Buffer.alloc(0) })
    expect(reads[4]).toMatchObject({ type: 'commit', oid: commit })
    expect(reads[5]).toBeNull()
    expect(reads.slice(6).every((r) => r?.data.toString() === '{"a":1}\n')).toBe(true)
    expect(catFileProcesses()).toBe(1)
    expect(reader.processStarts).toBe(1)
  })

  it('sees a branch moved by another process', async () => {
    const first = await commitFiles(repo, { 'a.json': '1' })
    expect((await reader.read('refs/heads/main^{commit}'))?.oid).toBe(first)
    const second = await commitFiles(repo, { 'a.json': '2' })
    await runGit(['pack-refs', '--all'], { cwd: repo })
    expect((await reader.read('refs/heads/main^{commit}'))?.oid).toBe(second)
  })

  it('restarts the process when it dies, and fails reads after close', async () => {
    const commit = await commitFiles(repo, { 'a.json': '1' })
    expect((await reader.read(commit))?.type).toBe('commit')
    const pid = reader.pid
    expect(pid).toBeGreaterThan(0)
    process.kill(pid as number, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 50))
    expect((await reader.read(commit))?.type).toBe('commit')
    expect(reader.processStarts).toBe(2)
    await reader.close()
    await expect(reader.read(commit)).rejects.toMatchObject({ code: 'GIT_FAILED' })
    expect(catFileProcesses()).toBe(0)
  })

  it('refuses names that would be two requests, and honours an aborted signal', async () => {
    await expect(reader.read('a\nb')).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(reader.read('refs/heads/main', AbortSignal.abort())).rejects.toThrow()
  })
})
