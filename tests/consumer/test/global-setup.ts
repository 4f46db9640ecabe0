// Packs the packages and npm-installs them into one project outside the workspace, once per test run; every guide's
// test writes its code into that project and runs it there.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { assertBuilt, installConsumer, packAll } from './consumer-project.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A temporary folder outside the workspace: the consumer project is `<root>/app`, the tarballs `<root>/packs`. */
    consumerRoot: string
    /** The consumer project: the packed packages installed with npm. */
    consumerApp: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertBuilt()
  const root = await mkdtemp(join(tmpdir(), 'sparkle-consumer-'))
  const app = join(root, 'app')
  await mkdir(join(root, 'packs'))
  await mkdir(app)
  const started = Date.now()
  await installConsumer(app, await packAll(join(root, 'packs')))
  console.log(`consumer project: packed and installed with npm in ${Math.round((Date.now() - started) / 1000)} s`)
  project.provide('consumerRoot', root)
  project.provide('consumerApp', app)
  return async () => {
    if (!process.env['SPARKLE_KEEP_CONSUMER']) await rm(root, { recursive: true, force: true })
  }
}
