// What every guide's test shares: its folder in the consumer project, the install check, the block accounting.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, inject, it } from 'vitest'
import { coreZod, installGuideProject } from '../consumer-project.ts'
import { type CodeBlock, type Guide, installName, supplyDeclared } from '../guide.ts'

/** Packages the consumer project has installed besides the packed ones (see installConsumer). */
const REGISTRY_PACKAGES = new Set(['express', 'zod'])

const projects = new Map<string, Promise<string>>()

/**
 * The guide's own project, outside the workspace and outside the tests' consumer project: made on first use with
 * exactly the guide's `npm install` commands (see installGuideProject), as a reader following the guide makes it.
 */
export function guideDir(guide: Guide): Promise<string> {
  let project = projects.get(guide.name)
  if (!project) {
    project = (async () => {
      const dir = join(inject('consumerRoot'), 'guides', guide.name.replace(/\.md$/, ''))
      await mkdir(dir, { recursive: true })
      const started = Date.now()
      await installGuideProject(dir, guide.installed(), inject('consumerTarballs'))
      console.log(`${guide.name}: npm install ${guide.installed().join(' ')} (${Date.now() - started} ms)`)
      return dir
    })()
    projects.set(guide.name, project)
  }
  return project
}

/** Writes a block into the guide's folder as `file`, with what it declares supplied; returns the path. */
export async function writeBlock(
  guide: Guide,
  block: CodeBlock,
  file: string,
  supply: Readonly<Record<string, string>> = {},
): Promise<string> {
  const path = join(await guideDir(guide), file)
  await writeFile(path, supplyDeclared(block.code, supply))
  return path
}

/** The file name a block gives itself on its first line (`// server.ts`), which other blocks import it by. */
export function ownFileName(block: CodeBlock): string {
  const name = /^\/\/ ([\w.-]+\.ts)\s*$/m.exec(block.code.split('\n')[0] ?? '')?.[1]
  if (!name) throw new Error(`line ${block.line}: the block does not start with its file name (// name.ts)`)
  return name
}

/**
 * The test that the guide's `npm install` commands name every package its code imports, with a zod pinned to the
 * version core uses, and nothing the consumer project could not install.
 */
export function itInstallsWhatItImports(guide: Guide): void {
  it(`${guide.name}: its npm install commands name every package its code imports`, () => {
    const installed = guide.installed()
    const names = installed.map(installName)
    expect(names.length, `${guide.name} has no npm install command`).toBeGreaterThan(0)
    expect(guide.importedPackages().filter((p) => !names.includes(p))).toEqual([])
    for (const name of names) {
      expect(name.startsWith('@sparkle-studio/') || REGISTRY_PACKAGES.has(name), name).toBe(true)
    }
    const zod = installed.find((arg) => installName(arg) === 'zod')
    if (zod) expect(zod, 'zod must be the version @sparkle-studio/core uses').toBe(`zod@${coreZod()}`)
    for (const b of guide.blocks) expect(b.code, `${guide.name}:${b.line}`).not.toMatch(/\bpnpm add\b/)
  })
}

/** The last test of a guide: every TypeScript block was run or has a reason; prints which. */
export function itAccountsForEveryBlock(guide: Guide): void {
  it(`${guide.name}: every TypeScript block is run, or the test says why not`, async () => {
    const report = guide.report()
    console.log(report)
    // The global teardown prints every guide's report together at the end of the run.
    const reports = join(inject('consumerRoot'), 'guide-reports')
    await mkdir(reports, { recursive: true })
    await writeFile(join(reports, `${guide.name}.txt`), `${report}\n`)
    expect(guide.unaccounted().map((b) => `${guide.name}:${b.line} (${b.heading})`)).toEqual([])
  })
}
