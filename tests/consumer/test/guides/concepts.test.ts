// docs/guides/concepts.md, as a reader runs it: each example a script in a project that installed the packed packages.
import { describe, expect, it } from 'vitest'
import { outsiderEnv, runNode } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, writeBlock } from './lib.ts'

const guide = new Guide('concepts.md')

/** The document the Pipelines example defines, which the Plans example says it continues with. */
function pipelinesDocument(): string {
  const code = guide.run('## Pipelines').code
  const literal = /^const document: PipelineDocument = \{[\s\S]*?^\}$/m.exec(code)?.[0]
  if (!literal) throw new Error('concepts.md: the Pipelines example defines no `const document: PipelineDocument`')
  return literal
}

describe('guide: concepts', () => {
  itInstallsWhatItImports(guide)

  it('lists the registry, and the filter schema, form and check it prints', async () => {
    const file = await writeBlock(guide, guide.run('## Components'), 'components.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv() })
    expect(stdout).toMatch(/^Clean .*transformer\/filter@1/m)
    expect(stdout).toContain("[ 'condition' ]")
    expect(stdout.trimEnd().endsWith('true')).toBe(true)
  })

  it('validates the example pipeline', async () => {
    const file = await writeBlock(guide, guide.run('## Pipelines'), 'pipelines.ts')
    const { stdout, stderr } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv() })
    expect(stderr).toBe('')
    expect(stdout.trim()).toBe('valid')
  })

  it('writes the same pipeline with the typed helpers: ids and positions filled in, valid', async () => {
    const file = await writeBlock(guide, guide.run('## Pipelines', 1), 'typed-authoring.ts')
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv() })
    const [edges = '', valid] = stdout.trim().split(' ')
    expect(JSON.parse(edges)).toEqual([
      expect.objectContaining({ source: 'orders', target: 'paid', id: expect.any(String) }),
      expect.objectContaining({ source: 'paid', target: 'out', id: expect.any(String) }),
    ])
    expect(valid).toBe('true')
  })

  it('compiles that pipeline to a plan, and to a preview plan with a query per node but the sink', async () => {
    const file = await writeBlock(guide, guide.run('## Plans'), 'plans.ts', { document: pipelinesDocument() })
    const { stdout } = await runNode(file, { cwd: await guideDir(guide), env: outsiderEnv() })
    const lines = stdout.trim().split('\n')
    expect(lines).toEqual(expect.arrayContaining(['orders read', 'paid view', 'out write']))
    expect(lines.at(-1)).toBe('2')
  })

  it('enqueues a run in an embedded run store, once per idempotency key', async () => {
    const file = await writeBlock(guide, guide.run('## Runs'), 'runs.ts')
    const cwd = await guideDir(guide)
    const first = await runNode(file, { cwd, env: outsiderEnv() })
    expect(first.stdout).toMatch(/^\S+ queued true$/m)
    const again = await runNode(file, { cwd, env: outsiderEnv() })
    expect(again.stdout.split(' ')[0]).toBe(first.stdout.split(' ')[0])
    expect(again.stdout).toMatch(/^\S+ queued false$/m)
  })

  itAccountsForEveryBlock(guide)
})
