// docs/guides/quick-start.md, as a reader runs it: the script of "Drive the packages from a script" in a project that
// installed the packed packages with npm, on the pyspark of an active virtualenv (no SPARK_HOME, no SPARKLE_PYTHON).
// Its first part, `./sparkle demo`, needs a clone of the repository: it is not a consumer's code, and `./sparkle demo`
// is the repository's own command.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runNode, sparkEnv } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, writeBlock } from './lib.ts'

const guide = new Guide('quick-start.md')

describe('guide: quick start', () => {
  itInstallsWhatItImports(guide)

  it('saves the pipeline to git, previews every node and runs it on real Spark', async () => {
    const file = await writeBlock(guide, guide.run('## Drive the packages from a script'), 'quick-start.ts')
    const { stdout, stderr } = await runNode(file, { cwd: await guideDir(guide), env: sparkEnv('virtualenv') })
    const output = `${stdout}\n${stderr}`
    expect(stdout, output).toMatch(/^saved as commit [0-9a-f]{40}$/m)
    // The preview printed each node's rows: the paid orders only, with their amount in euros.
    expect(stdout, output).toMatch(/^orders \[/m)
    expect(stdout, output).toMatch(/^in_eur \[/m)
    expect(stdout, output).toContain('amount_eur: 110.4')
    const result = /^succeeded (\S+) output in (\S+)$/m.exec(stdout)
    expect(result, output).not.toBeNull()
    expect(result?.[1]).toMatch(/^local-/)
    const out = result?.[2] ?? ''
    const files = readdirSync(out).filter((f) => f.endsWith('.json'))
    expect(files.length).toBeGreaterThan(0)
    const rows = files.flatMap((f) =>
      readFileSync(join(out, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { id: number; amount_eur: number }),
    )
    expect(rows.map((r) => r.id).sort()).toEqual([1, 3])
    expect(rows.find((r) => r.id === 3)?.amount_eur).toBe(39.1)
  })

  itAccountsForEveryBlock(guide)
})
