// `redocly lint` with the recommended ruleset (redocly.yaml states it and silences nothing): no error, no warning.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { operationsOf, writeDocument } from './document.ts'

const here = dirname(fileURLToPath(import.meta.url))
const REDOCLY = join(here, '..', 'node_modules', '.bin', 'redocly')
const CONFIG = join(here, '..', 'redocly.yaml')

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number; readonly ignored: number }
  readonly problems: readonly { readonly ruleId: string; readonly severity: string; readonly message: string }[]
}

/** What `redocly lint` said: its JSON report (absent when it could not process the file), stderr and exit code. */
interface LintOutcome {
  readonly report: LintReport | undefined
  readonly stderr: string
  readonly code: number
}

/** Lints `file`; redocly exits non-zero on errors, and says why on stdout (the report) or stderr (a crash). */
async function lint(file: string): Promise<LintOutcome> {
  const { stdout, stderr, code } = await promisify(execFile)(
    REDOCLY,
    ['lint', file, '--config', CONFIG, '--format', 'json'],
    {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  ).then(
    (out) => ({ ...out, code: 0 }),
    (error: { stdout?: string; stderr?: string; code?: number }) => ({
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
      code: error.code ?? 1,
    }),
  )
  return { report: stdout.trim() ? (JSON.parse(stdout) as LintReport) : undefined, stderr, code }
}

describe('the OpenAPI document through redocly lint (recommended)', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparkle-redocly-'))
  })

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('has no error and no warning', async () => {
    const { file, doc } = await writeDocument(dir)
    const { report, stderr, code } = await lint(file)
    if (!report) throw new Error(`redocly lint gave no report (exit ${code}): ${stderr}`)
    console.log(
      `redocly lint (recommended): ${operationsOf(doc).length} operations; ${report.totals.errors} errors, ${report.totals.warnings} warnings, ${report.totals.ignored} ignored`,
    )
    expect(report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`)).toEqual([])
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 })
  })

  it('catches what it is there to catch: a schema that refers to itself', async () => {
    // The control: the fault the issue found (ErrorBody as a $ref to itself) is an error under this configuration.
    const { file, doc } = await writeDocument(dir)
    const components = (doc['components'] as { schemas: Record<string, unknown> }).schemas
    components['ErrorBody'] = { $ref: '#/components/schemas/ErrorBody' }
    await writeFile(file, JSON.stringify(doc))
    const { code, stderr } = await lint(file)
    expect(code).not.toBe(0)
    expect(stderr).toContain('Self-referencing circular pointer')
  })
})
