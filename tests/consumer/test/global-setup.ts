// Packs the packages and npm-installs them into one project outside the workspace, once per test run; every guide's
// test writes its code into that project and runs it there. At the end, prints what each guide's test ran.
// SPARKLE_KEEP_CONSUMER=1 keeps the project (its path is printed) to look at afterwards.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { assertBuilt, installConsumer, packAll } from './consumer-project.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * A temporary folder outside the workspace: the tarballs in `<root>/packs`, the tests' consumer project in
     * `<root>/app`, and each guide's own project in `<root>/guides/<guide>`.
     */
    consumerRoot: string
    /** The consumer project: the packed packages installed with npm (the tests' tools: esbuild, pg). */
    consumerApp: string
    /** The tarball of each package, by name. */
    consumerTarballs: Record<string, string>
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertBuilt()
  const root = await mkdtemp(join(tmpdir(), 'sparkle-consumer-'))
  const app = join(root, 'app')
  await mkdir(join(root, 'packs'))
  await mkdir(app)
  const started = Date.now()
  const tarballs = await packAll(join(root, 'packs'))
  await installConsumer(app, tarballs)
  console.log(
    `consumer project ${app}: packed and installed with npm in ${Math.round((Date.now() - started) / 1000)} s`,
  )
  project.provide('consumerRoot', root)
  project.provide('consumerApp', app)
  project.provide('consumerTarballs', tarballs)
  return async () => {
    const reports = join(root, 'guide-reports')
    if (existsSync(reports)) {
      const texts = await Promise.all((await readdir(reports)).sort().map((f) => readFile(join(reports, f), 'utf8')))
      const counts = texts
        .map((t) => /: (\d+) of (\d+) TypeScript blocks run/.exec(t))
        .map((m) => [Number(m?.[1]), Number(m?.[2])])
      const ran = counts.reduce((sum, [r = 0]) => sum + r, 0)
      const all = counts.reduce((sum, [, n = 0]) => sum + n, 0)
      console.log(
        `\nguides run in the consumer project: ${texts.length}, TypeScript blocks run: ${ran} of ${all}\n${texts.join('')}`,
      )
    }
    if (!process.env['SPARKLE_KEEP_CONSUMER']) await rm(root, { recursive: true, force: true })
  }
}
