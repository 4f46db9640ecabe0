import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The openlineage-python release the checker is written for (and `./sparkle test` installs). */
export const OPENLINEAGE_CLIENT_VERSION = '1.54.0'

/** What the official OpenLineage Python client said about a list of events (see {@link checkOpenLineageEvents}). */
export interface OpenLineageCheck {
  /** The client's version. */
  readonly client: string
  /** The `schemaURL` the client's `RunEvent` class declares (spec 2-0-2). */
  readonly runEvent: string
  /** The `_schemaURL` each standard facet class of the client declares, by the facet's key. */
  readonly facets: Readonly<Record<string, string>>
  /** One result per event, in order: why the client refused it, if it did. */
  readonly results: readonly ({ readonly ok: true } | { readonly ok: false; readonly reason: string })[]
}

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..', '..')
const script = resolve(here, '..', 'openlineage_check.py')
const venv = join(repoRoot, '.tools', 'openlineage-venv')

/**
 * Checks OpenLineage RunEvents with the official Python client (`openlineage-python`, pinned), an implementation
 * independent of ours: each event is parsed strictly into the client's classes generated from the 2-0-2 spec and its
 * facet schemas, serialized back with the client's Serde and compared with what was sent
 * (`tools/test-utils/openlineage_check.py` says exactly what fails an event). The client runs from
 * `SPARKLE_OPENLINEAGE_PYTHON` or `<repo>/.tools/openlineage-venv` (installed by `./sparkle test`); without it this
 * throws, with the command that installs it.
 */
export async function checkOpenLineageEvents(events: readonly unknown[]): Promise<OpenLineageCheck> {
  const python = process.env['SPARKLE_OPENLINEAGE_PYTHON'] || join(venv, 'bin', 'python')
  if (!existsSync(python)) {
    throw new Error(
      `the OpenLineage Python client (the checker of lineage events) is not installed at ${python}. Fix: run the tests with ./sparkle test, or run: ` +
        `python3 -m venv .tools/openlineage-venv && .tools/openlineage-venv/bin/pip install openlineage-python==${OPENLINEAGE_CLIENT_VERSION} && echo ${OPENLINEAGE_CLIENT_VERSION} > .tools/openlineage-venv/OPENLINEAGE_VERSION`,
    )
  }
  const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exit = new Promise<number | null>((ok, fail) => {
    child.once('error', fail)
    child.once('close', ok)
  })
  child.stdin.end(JSON.stringify(events))
  const code = await exit
  if (code !== 0) throw new Error(`the OpenLineage checker exited with ${code}: ${stderr.trim()}`)
  return JSON.parse(stdout) as OpenLineageCheck
}

/**
 * {@link checkOpenLineageEvents}, throwing with every reason when the client refuses any event; answers the check
 * (for the schema URLs the client's classes declare).
 */
export async function assertOpenLineageEvents(events: readonly unknown[]): Promise<OpenLineageCheck> {
  const check = await checkOpenLineageEvents(events)
  const refused = check.results.flatMap((r, i) => (r.ok ? [] : [`event ${i}: ${r.reason}`]))
  if (refused.length > 0) {
    throw new Error(`openlineage-python ${check.client} refused ${refused.length} event(s):\n${refused.join('\n')}`)
  }
  return check
}
