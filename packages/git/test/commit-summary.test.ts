import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CommitSummary } from '../src/commit-summary.ts'
import type { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import { bareStore, pipelineDoc } from './helpers.ts'

/**
 * What git's own `git log` says about a commit, as a CommitSummary. Git spells UTC `+00:00` in `%aI` up to some
 * versions and `Z` after; the package always writes `Z`, so that one spelling is normalized (the instant is checked
 * against `%at` as well).
 */
async function gitsOwnSummary(repo: string, commit: string): Promise<CommitSummary & { seconds: number }> {
  const out = await runGit(['log', '-1', '--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%at%x1f%B', commit], { cwd: repo })
  const [id = '', name = '', email = '', iso = '', seconds = '', ...message] = out.stdout.split('\x1f')
  return {
    commit: id,
    author: { name, email },
    date: iso.replace(/\+00:00$/, 'Z'),
    message: message.join('\x1f').replace(/\n+$/, ''),
    seconds: Number(seconds),
  }
}

/** Checks a write's summary against git's own view of the commit, then against the package's other views of it. */
async function expectSummaryOf(repo: string, store: GitPipelineStore, name: string, result: CommitSummary) {
  const { seconds, ...git } = await gitsOwnSummary(repo, result.commit)
  const summary = { commit: result.commit, author: result.author, date: result.date, message: result.message }
  expect(summary).toEqual(git)
  expect(Date.parse(result.date)).toBe(seconds * 1000)
  const [newest] = await store.history(name, { ref: result.commit })
  expect(newest).toMatchObject(summary)
}

describe('every write answers the summary of its commit, equal to what git log says (real git)', () => {
  let ctx: Awaited<ReturnType<typeof bareStore>>
  beforeEach(async () => {
    ctx = await bareStore()
  })
  afterEach(async () => {
    await ctx.cleanup()
  })

  it('save, save with no change, commit, rename and delete', async () => {
    const { store, repo } = ctx
    const created = await store.save('orders', pipelineDoc('orders'), { expected: null })
    expect(created.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(created).toMatchObject({ name: 'orders', changed: true, message: 'Save pipeline orders' })
    await expectSummaryOf(repo, store, 'orders', created)

    // git drops trailing dots and spaces of a name: the summary says what git recorded, not what was asked for.
    const edited = await store.save('orders', pipelineDoc('orders', { description: 'v2' }), {
      expected: created.blob,
      author: { name: 'Ada Lovelace Jr. ', email: 'ada@example.com' },
      message: '  Describe orders\n\nSo the list says what it is.\n\n',
    })
    expect(edited.author).toEqual({ name: 'Ada Lovelace Jr', email: 'ada@example.com' })
    expect(edited.message).toBe('Describe orders\n\nSo the list says what it is.')
    await expectSummaryOf(repo, store, 'orders', edited)
    const listed = (await store.list()).pipelines.find((p) => p.name === 'orders')?.lastCommit
    expect(listed).toEqual({ commit: edited.commit, author: edited.author, date: edited.date, message: edited.message })

    const same = await store.save('orders', pipelineDoc('orders', { description: 'v2' }), { expected: edited.blob })
    expect(same.changed).toBe(false)
    expect(same).toMatchObject({ commit: edited.commit, date: edited.date, message: edited.message })
    await expectSummaryOf(repo, store, 'orders', same)

    const batch = await store.commit(
      [
        { name: 'orders', document: pipelineDoc('orders', { description: 'v3' }), expected: edited.blob },
        { name: 'returns', document: pipelineDoc('returns'), expected: null },
      ],
      { message: 'Two at once' },
    )
    expect(batch).toMatchObject({ changed: true, message: 'Two at once' })
    await expectSummaryOf(repo, store, 'returns', batch)

    const renamed = await store.rename('returns', 'refunds')
    expect(renamed).toMatchObject({ name: 'refunds', changed: true })
    await expectSummaryOf(repo, store, 'refunds', renamed)

    const deleted = await store.delete('refunds')
    expect(deleted).toMatchObject({ name: 'refunds', blob: null, changed: true })
    await expectSummaryOf(repo, store, 'refunds', deleted)
    expect((await store.history('refunds', { ref: deleted.commit }))[0]?.change).toBe('deleted')
  })

  it('migrateAll answers the migration commit, and commit null in a dry run', async () => {
    const { store, repo } = ctx
    await store.save('orders', pipelineDoc('orders'))
    const migrate = (doc: object) => ({ ...doc, description: 'migrated' })
    const dry = await store.migrateAll({ branch: 'migrate/a', migrate, dryRun: true })
    expect(dry.commit).toBeNull()
    const result = await store.migrateAll({ branch: 'migrate/a', migrate, message: 'Migrate descriptions' })
    if (result.commit === null) throw new Error('the migration made no commit')
    expect(result.message).toBe('Migrate descriptions')
    await expectSummaryOf(repo, store, 'orders', result)
  })
})
