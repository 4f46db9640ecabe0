import { isStudioError, isValidPipelineName, PIPELINE_NAME_PATTERN } from '@sparkle-studio/core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bareStore, pipelineDoc, snapshot, treeFiles } from '../test/helpers.ts'
import { assertBranchName, assertPipelineName, revisionName } from './names.ts'

const BAD_NAMES: [string, string][] = [
  ['../x', 'path'],
  ['..', 'path'],
  ['-x', 'leading_dash'],
  ['a/b', 'path'],
  ['a\\b', 'path'],
  ['--upload-pack=touch /tmp/pwned', 'leading_dash'],
  ['x'.repeat(300), 'too_long'],
  ['', 'empty'],
  ['Orders', 'pattern'],
  ['orders-', 'pattern'],
  ['a b', 'control_character'],
  ['a\nb', 'control_character'],
  ['.git', 'pattern'],
  ['ordérs', 'pattern'],
]

async function rejection(promise: Promise<unknown>) {
  try {
    await promise
  } catch (error) {
    return error
  }
  return undefined
}

describe('pipeline names', () => {
  it.each(BAD_NAMES)('refuses %j with rule %s', (name, rule) => {
    let error: unknown
    try {
      assertPipelineName(name)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'BAD_REQUEST', details: { rule } })
    expect((error as Error).message.length).toBeLessThan(400)
  })

  it('accepts slugs', () => {
    for (const name of ['orders', 'daily-revenue', 'a', 'a_1', '0-9', 'x'.repeat(64)]) assertPipelineName(name)
  })

  it('refuses branch names git would not accept or that look like options', () => {
    for (const bad of ['-b', 'a..b', 'a//b', '/a', 'a/', 'a.lock', '.a', 'a b', 'HEAD', '@', 'a~1', 'a^', 'a:b', ''])
      expect(() => assertBranchName(bad)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
    for (const good of ['main', 'feature/orders', 'release-1.2', 'user_x/fix.v2']) assertBranchName(good)
    expect(revisionName('main')).toBe('refs/heads/main')
    expect(revisionName('refs/tags/v1')).toBe('refs/tags/v1')
    expect(revisionName('a'.repeat(40))).toBe('a'.repeat(40))
    expect(() => revisionName('--upload-pack=x')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
  })
})

describe('bad names against a real repository', () => {
  let ctx: Awaited<ReturnType<typeof bareStore>>
  let blob: string
  beforeAll(async () => {
    ctx = await bareStore()
    blob = (await ctx.store.save('orders', pipelineDoc('orders'))).blob ?? ''
  })
  afterAll(async () => {
    await ctx.cleanup()
  })

  it.each(BAD_NAMES)(
    'every operation refuses %j with BAD_REQUEST and leaves refs and objects unchanged',
    async (name) => {
      const { store, repo } = ctx
      const before = await snapshot(repo)
      const calls = [
        store.save(name, pipelineDoc(name)),
        store.save(name, pipelineDoc(name), { expected: null }),
        store.get(name),
        store.delete(name),
        store.rename('orders', name, { expected: blob }),
        store.rename(name, 'orders2'),
        store.history(name),
        store.diff(name, 'main', 'main'),
      ]
      for (const call of calls) {
        const error = await rejection(call)
        expect(isStudioError(error) && error.code).toBe('BAD_REQUEST')
      }
      expect(await snapshot(repo)).toBe(before)
    },
  )

  it.each(['-x', '--upload-pack=touch /tmp/pwned', '../x', 'a b', 'x'.repeat(300), 'a..b', 'main.lock'])(
    'refuses %j as a branch or ref everywhere, changing nothing',
    async (name) => {
      const { store, repo } = ctx
      const before = await snapshot(repo)
      const calls = [
        store.save('orders', pipelineDoc('orders'), { branch: name }),
        store.get('orders', { ref: name }),
        store.list({ ref: name }),
        store.history('orders', { ref: name }),
        store.diff('orders', name, 'main'),
        store.createBranch(name),
        store.createBranch('ok', { from: name }),
        store.deleteBranch(name),
        store.migrateAll({ migrate: (d) => d, branch: name, dryRun: true }),
      ]
      for (const call of calls) {
        const error = await rejection(call)
        expect(isStudioError(error) && error.code).toBe('BAD_REQUEST')
      }
      expect(await snapshot(repo)).toBe(before)
    },
  )

  it('property: any string either passes the slug rule and saves exactly its own folder, or is refused and changes nothing', async () => {
    const { store, repo } = ctx
    const names = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.stringMatching(PIPELINE_NAME_PATTERN),
      fc.constantFrom(
        ...BAD_NAMES.map(([n]) => n),
        '../../etc/passwd',
        '-',
        '--',
        'a/../b',
        '\u0000',
        'refs/heads/main',
      ),
      fc
        .tuple(fc.constantFrom('-', '../', '/', '--', ' '), fc.stringMatching(PIPELINE_NAME_PATTERN))
        .map(([p, n]) => p + n),
    )
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        const before = await snapshot(repo)
        const filesBefore = await treeFiles(repo)
        const error = await rejection(store.save(name, pipelineDoc(name)))
        if (isValidPipelineName(name)) {
          expect(error).toBeUndefined()
          const files = await treeFiles(repo)
          const added = files.filter((f) => !filesBefore.includes(f))
          expect(added).toEqual(
            filesBefore.includes(`pipelines/${name}/pipeline.json`) ? [] : [`pipelines/${name}/pipeline.json`],
          )
        } else {
          expect(isStudioError(error) && error.code).toBe('BAD_REQUEST')
          expect(await snapshot(repo)).toBe(before)
        }
      }),
      { numRuns: 150 },
    )
  }, 120_000)
})
