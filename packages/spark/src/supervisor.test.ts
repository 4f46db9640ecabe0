import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import type { ExitRecord } from './job-files.ts'
import { groupMembers } from './process.ts'
import { supervisorScriptPath } from './runtime.ts'

// The supervisor is plain Python: these tests give it small Python programs instead of spark-submit.
const python = process.env['SPARKLE_PYTHON'] || 'python3'

async function supervise(
  dir: string,
  code: string,
  opts: { maxLogBytes?: number; tailBytes?: number; deadline?: number; graceMs?: number } = {},
): Promise<{ pid: number; done: Promise<void> }> {
  const child = spawn(
    python,
    [
      supervisorScriptPath(),
      '--dir',
      dir,
      '--max-log-bytes',
      String(opts.maxLogBytes ?? 1_000_000),
      '--tail-bytes',
      String(opts.tailBytes ?? 1000),
      '--deadline',
      String(opts.deadline ?? 0),
      '--grace-ms',
      String(opts.graceMs ?? 2000),
      '--',
      python,
      '-c',
      code,
    ],
    { detached: true, stdio: 'ignore' },
  )
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise((resolve) => child.once('spawn', resolve))
  return { pid: child.pid as number, done }
}

const readExit = async (dir: string) => JSON.parse(await readFile(join(dir, 'exit.json'), 'utf8')) as ExitRecord

describe('job supervisor (runner/sparkle_supervisor.py)', () => {
  let dir: TempDir
  afterEach(async () => {
    await dir?.remove()
  })

  it('keeps the head and the tail of a log over its cap, and records the exit code', async () => {
    dir = await makeTempDir()
    const { done } = await supervise(
      dir.path,
      "import sys\nfor i in range(20000): print('line %06d' % i)\nprint('the last words', file=sys.stderr)\nsys.exit(3)",
      { maxLogBytes: 50_000, tailBytes: 5_000 },
    )
    await done
    const log = await readFile(join(dir.path, 'spark.log'), 'utf8')
    expect(log).toContain('line 000000')
    expect(log).toContain('the log reached its cap of 50000 bytes')
    expect(log).not.toContain('line 010000')
    expect(log).toContain('line 019999\nthe last words')
    expect((await stat(join(dir.path, 'spark.log'))).size).toBeLessThan(50_000 + 1_000)
    expect(await readExit(dir.path)).toMatchObject({ code: 3, signal: null, timedOut: false })
  })

  it('records a command killed by a signal', async () => {
    dir = await makeTempDir()
    const { done } = await supervise(dir.path, 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)')
    await done
    expect(await readExit(dir.path)).toMatchObject({ code: null, signal: 'SIGKILL' })
  })

  it('stops the job at its deadline (SIGTERM, then SIGKILL for a job that ignores it)', async () => {
    dir = await makeTempDir()
    const { pid, done } = await supervise(
      dir.path,
      'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("working", flush=True)\ntime.sleep(600)',
      { deadline: Date.now() + 500, graceMs: 500 },
    )
    await done
    expect(await readExit(dir.path)).toMatchObject({ signal: 'SIGKILL', timedOut: true })
    expect(JSON.parse(await readFile(join(dir.path, 'timeout.json'), 'utf8'))).toHaveProperty('at')
    expect(await groupMembers(pid)).toEqual([])
  })

  it('stops what the command left behind in its process group', async () => {
    dir = await makeTempDir()
    const { pid, done } = await supervise(
      dir.path,
      "import subprocess\nsubprocess.Popen(['sleep', '600'])\nprint('left a sleeper behind', flush=True)",
    )
    await done
    expect(await readExit(dir.path)).toMatchObject({ code: 0 })
    expect(await groupMembers(pid)).toEqual([])
  })

  it("replaces the job's secret values by *** in its log, also a value written in two pieces, and removes the list", async () => {
    dir = await makeTempDir()
    await writeFile(join(dir.path, 'redact.json'), JSON.stringify(['hunter2-pass', 'jdbc:pg://u:pw@db']), {
      mode: 0o600,
    })
    const { done } = await supervise(
      dir.path,
      [
        'import sys, time',
        "print('connecting to jdbc:pg://u:pw@db with hunter2-pass', flush=True)",
        "sys.stdout.write('half hunter'); sys.stdout.flush(); time.sleep(0.3)",
        "sys.stdout.write('2-pass, the rest\\n'); sys.stdout.flush()",
        "print('no newline at the end: hunter2-pass', end='', file=sys.stderr)",
      ].join('\n'),
    )
    await done
    const log = await readFile(join(dir.path, 'spark.log'), 'utf8')
    expect(log).not.toContain('hunter2')
    expect(log).not.toContain('u:pw@db')
    expect(log).toContain('connecting to *** with ***')
    expect(log).toContain('half ***, the rest')
    expect(log).toContain('no newline at the end: ***')
    expect(existsSync(join(dir.path, 'redact.json'))).toBe(false)
  })
})
