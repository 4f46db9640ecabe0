// docs/guides/custom-components.md, as a reader runs it in their own project: the guide's own component (the e-mail
// check, saved as email-format-check.ts) registered and run on real Spark by the "Registering" script, with the
// packed packages installed by npm and pyspark from an active virtualenv; then its version 2 and the upgrade of a
// pipeline that uses version 1. The rest of the guide quotes the example
// package of the repository (`from=` excerpts, checked line for line against those files by the docs build, and run
// by that package's own tests).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { outsiderEnv, runNode, sparkEnv } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, ownFileName, writeBlock } from './lib.ts'

const guide = new Guide('custom-components.md')
guide.excerptsNotRun()

describe('guide: writing a custom component', () => {
  itInstallsWhatItImports(guide)

  it("registers the guide's own check, shows its form, and runs it in a pipeline on Spark", async () => {
    const component = guide.run('## Compiling to Spark SQL', 0)
    expect(ownFileName(component)).toBe('email-format-check.ts')
    await writeBlock(guide, component, 'email-format-check.ts')
    const file = await writeBlock(guide, guide.run('## Registering', 0), 'registering.ts')
    const cwd = await guideDir(guide)
    const { stdout, stderr } = await runNode(file, { cwd, env: sparkEnv('virtualenv') })
    expect(stdout).toMatch(/^quality\/email-format@1 E-mail addresses look valid \{/m)
    expect(stdout, stdout).toContain('sql-expression')
    expect(stdout).toMatch(/^SELECT count\(\*\) AS failed_rows FROM .* RLIKE .* AND \(country = 'FR'\)/m)
    expect(stdout, `${stdout}\n${stderr}`).toMatch(/^emails: 1 failed rows \(warn\)$/m)
    expect(stdout).toMatch(/^succeeded $/m)
    const out = join(cwd, 'out', 'customers')
    const rows = readdirSync(out)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean))
    expect(rows).toHaveLength(3)
  })

  it("fails the run on that node with onFail: 'fail', as the guide says", async () => {
    const block = guide.run('## Registering', 0)
    expect(block.code).toContain("onFail: 'warn'")
    const failing = { ...block, code: block.code.replace("onFail: 'warn'", "onFail: 'fail'") }
    const file = await writeBlock(guide, failing, 'registering-fail.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: sparkEnv('virtualenv') })
    expect(stdout).toMatch(/^emails: 1 failed rows \(error\)$/m)
    expect(stdout).toMatch(/^failed \S/m)
  })

  it("upgrades a pipeline that uses version 1 of the check to the guide's version 2", async () => {
    await writeBlock(guide, guide.run('## Compiling to Spark SQL', 0), 'email-format-check.ts')
    const v2 = guide.run('## Versions and upgrades', 0)
    expect(ownFileName(v2)).toBe('email-format-check-v2.ts')
    await writeBlock(guide, v2, 'email-format-check-v2.ts')
    const file = await writeBlock(guide, guide.run('## Versions and upgrades', 1), 'upgrade.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv() })
    expect(stdout).toMatch(/^component \/nodes\/1\/data\/component .*quality\/email-format@1.*@2/m)
    const [data = '', valid] = stdout.trim().split('\n').at(-1)?.split(' ') ?? []
    expect(JSON.parse(data)).toEqual({
      component: 'quality/email-format@2',
      config: { columns: ['email'], onFail: 'warn' },
    })
    expect(valid).toBe('true')
  })

  itAccountsForEveryBlock(guide)
})
