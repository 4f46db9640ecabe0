import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hasErrorCode, isStudioError, type StudioError, type ValidationIssue } from '@sparkle-studio/core'
import { makeTempDir } from '@sparkle-studio/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bareStore, commitFiles, fixedClock, fsck, pipelineDoc, snapshot, treeFiles } from '../test/helpers.ts'
import { GitPipelineStore } from './git-pipeline-store.ts'
import { runGit } from './git-process.ts'
import type { PipelineDocumentLike } from './pipeline-document.ts'
import { initRepository } from './repository-setup.ts'

async function caught(promise: Promise<unknown>): Promise<StudioError> {
  try {
    await promise
  } catch (error) {
    if (isStudioError(error)) return error
    throw error
  }
  throw new Error('expected a StudioError, but the call succeeded')
}

describe('GitPipelineStore (real git, bare repository)', () => {
  let ctx: Awaited<ReturnType<typeof bareStore>>
  beforeEach(async () => {
    ctx = await bareStore()
  })
  afterEach(async () => {
    await ctx.cleanup()
  })

  it('saves a pipeline as one commit at pipelines/<name>/pipeline.json, pretty-printed in a stable key order', async () => {
    const { store, repo } = ctx
    const saved = await store.save('orders', pipelineDoc('orders'), { expected: null, message: 'Create orders' })
    expect(saved.changed).toBe(true)
    expect(saved.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(await treeFiles(repo)).toEqual(['pipelines/orders/pipeline.json'])
    const text = (await runGit(['show', 'refs/heads/main:pipelines/orders/pipeline.json'], { cwd: repo })).stdout
    expect(text.endsWith('}\n')).toBe(true)
    expect(text.split('\n')[1]).toBe('  "schemaVersion": 1,')
    expect(Object.keys(JSON.parse(text))).toEqual(['schemaVersion', 'name', 'description', 'tags', 'nodes', 'edges'])
    expect(text).toContain('"id": "orders",\n      "position"')
    const log = await runGit(['log', '--format=%s|%an', 'refs/heads/main'], { cwd: repo })
    expect(log.stdout.trim()).toBe('Create orders|Sparkle Studio')
    expect(await fsck(repo)).not.toMatch(/error/i)
  })

  it('gets the document with its revision (commit) and blob', async () => {
    const { store } = ctx
    const saved = await store.save('orders', pipelineDoc('orders'))
    const got = await store.get('orders')
    expect(got.document).toEqual(pipelineDoc('orders'))
    expect(got.revision).toBe(saved.commit)
    expect(got.blob).toBe(saved.blob)
    expect(got.path).toBe('pipelines/orders/pipeline.json')
  })

  it('makes no commit when the document did not change', async () => {
    const { store } = ctx
    const first = await store.save('orders', pipelineDoc('orders'))
    const reordered = JSON.parse(JSON.stringify(pipelineDoc('orders'), Object.keys(pipelineDoc('orders')).reverse()))
    const again = await store.save('orders', { ...reordered, ...pipelineDoc('orders') }, { expected: first.blob })
    expect(again).toMatchObject({ changed: false, commit: first.commit, blob: first.blob })
  })

  it('sets a missing name and refuses a document whose name differs from the pipeline name', async () => {
    const { store, repo } = ctx
    const { name: _name, ...unnamed } = pipelineDoc('orders')
    await store.save('orders', unnamed)
    expect((await store.get('orders')).document.name).toBe('orders')
    const before = await snapshot(repo)
    const error = await caught(store.save('orders', pipelineDoc('other')))
    expect(error.code).toBe('VALIDATION_FAILED')
    expect((error.details as { issues: ValidationIssue[] }).issues[0]).toMatchObject({
      path: '/name',
      code: 'name_mismatch',
    })
    expect(await snapshot(repo)).toBe(before)
  })

  it('refuses documents that are not JSON-safe or not pipeline-shaped, writing nothing', async () => {
    const { store, repo } = ctx
    await store.save('orders', pipelineDoc('orders'))
    const before = await snapshot(repo)
    const nan = await caught(store.save('orders', pipelineDoc('orders', { schemaVersion: Number.NaN })))
    expect(nan.code).toBe('VALIDATION_FAILED')
    const date = await caught(store.save('orders', pipelineDoc('orders', { createdAt: new Date() })))
    expect((date.details as { issues: ValidationIssue[] }).issues[0]).toMatchObject({
      code: 'not_json',
      path: '/createdAt',
    })
    const dangling = await caught(
      store.save('orders', pipelineDoc('orders', { edges: [{ id: 'e1', source: 'orders', target: 'nowhere' }] })),
    )
    expect((dangling.details as { issues: ValidationIssue[] }).issues).toEqual([
      expect.objectContaining({ path: '/edges/0/target', code: 'dangling_edge' }),
    ])
    const notObject = await caught(store.save('orders', [1, 2]))
    expect(notObject.code).toBe('VALIDATION_FAILED')
    expect(await snapshot(repo)).toBe(before)
  })

  it('refuses a document over maxDocumentBytes with PAYLOAD_TOO_LARGE', async () => {
    const dir = await makeTempDir('sparkle-git-limit-')
    const repo = await initRepository(join(dir.path, 'r.git'))
    const store = await GitPipelineStore.open({ repo, maxDocumentBytes: 2000 })
    try {
      const big = pipelineDoc('big', { description: 'x'.repeat(3000) })
      expect((await caught(store.save('big', big))).code).toBe('PAYLOAD_TOO_LARGE')
    } finally {
      await store.close()
      await dir.remove()
    }
  })

  it('lists name, description, tags, blob and the last commit of each pipeline', async () => {
    const { store } = ctx
    const a = await store.save('alpha', pipelineDoc('alpha', { tags: ['daily', 'sales'] }), {
      author: { name: 'Ada', email: 'ada@example.com' },
      message: 'Create alpha',
    })
    const b = await store.save('beta', pipelineDoc('beta', { description: 'Beta one' }), { message: 'Create beta' })
    await store.save('alpha', pipelineDoc('alpha', { tags: ['daily'] }), {
      expected: a.blob,
      author: { name: 'Grace', email: 'grace@example.com' },
      message: 'Retag alpha\n\nbecause sales moved out',
    })
    const list = await store.list()
    expect(list.problems).toEqual([])
    expect(list.pipelines.map((p) => p.name)).toEqual(['alpha', 'beta'])
    const [alpha, beta] = list.pipelines
    expect(alpha).toMatchObject({ tags: ['daily'], description: 'The alpha pipeline', schemaVersion: 1 })
    expect(alpha?.lastCommit).toMatchObject({
      author: { name: 'Grace', email: 'grace@example.com' },
      message: 'Retag alpha\n\nbecause sales moved out',
      commit: list.revision,
    })
    expect(alpha?.lastCommit?.date).toMatch(/^2026-11-02T09:30:\d\dZ$/)
    expect(beta).toMatchObject({
      description: 'Beta one',
      blob: b.blob,
      lastCommit: { commit: b.commit, message: 'Create beta' },
    })
    expect(await store.list({ ref: b.commit })).toMatchObject({
      revision: b.commit,
      pipelines: [{ name: 'alpha', lastCommit: { commit: a.commit } }, { name: 'beta' }],
    })
    expect((await store.list({ lastCommit: false })).pipelines[0]?.lastCommit).toBeUndefined()
  })

  it('lists pipelines sorted by name, not in git tree order', async () => {
    const { store } = ctx
    for (const name of ['a-b', 'a', 'a_c', 'a0']) await store.save(name, pipelineDoc(name))
    expect((await store.list()).pipelines.map((p) => p.name)).toEqual(['a', 'a-b', 'a0', 'a_c'])
  })

  it('lists an empty repository as empty and an unknown ref as NOT_FOUND', async () => {
    const { store } = ctx
    expect(await store.list()).toEqual({ revision: null, pipelines: [], problems: [] })
    expect((await caught(store.list({ ref: 'nope' }))).code).toBe('NOT_FOUND')
    expect((await caught(store.get('orders'))).code).toBe('NOT_FOUND')
  })

  it('reports a pipeline.json that is not JSON as a typed error naming the file, and lists the rest', async () => {
    const { store, repo } = ctx
    await store.save('good', pipelineDoc('good'))
    await commitFiles(repo, {
      'pipelines/broken/pipeline.json': 'this is { not json',
      'pipelines/array/pipeline.json': '[1, 2, 3]\n',
      'pipelines/README.md': '# Pipelines\n',
      'pipelines/Bad Name/pipeline.json': '{}',
      'pipelines/empty/notes.txt': 'no document here',
      'pipelines/renamed/pipeline.json': JSON.stringify(pipelineDoc('other-name')),
    })
    const before = await snapshot(repo)
    const list = await store.list()
    expect(list.pipelines.map((p) => p.name)).toEqual(['good', 'renamed'])
    expect(list.problems.map((p) => [p.name, p.code])).toEqual([
      ['Bad Name', 'invalid_name'],
      ['README.md', 'not_a_pipeline'],
      ['array', 'invalid_document'],
      ['broken', 'invalid_json'],
      ['empty', 'missing_document'],
      ['renamed', 'name_mismatch'],
    ])
    expect(list.problems.find((p) => p.name === 'broken')?.message).toContain('pipelines/broken/pipeline.json')
    expect(list.pipelines[1]).toMatchObject({ name: 'renamed', description: 'The other-name pipeline' })
    const error = await caught(store.get('broken'))
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(error.message).toContain('pipelines/broken/pipeline.json is not valid JSON')
    expect((error.details as { issues: ValidationIssue[] }).issues[0]?.code).toBe('invalid_json')
    expect((await caught(store.get('array'))).code).toBe('VALIDATION_FAILED')
    expect((await caught(store.get('empty'))).code).toBe('NOT_FOUND')
    expect(await snapshot(repo)).toBe(before)
    // A broken file can be repaired by saving over it.
    const blob = (
      await runGit(['rev-parse', 'refs/heads/main:pipelines/broken/pipeline.json'], { cwd: repo })
    ).stdout.trim()
    await store.save('broken', pipelineDoc('broken'), { expected: blob })
    expect((await store.get('broken')).document.name).toBe('broken')
  })

  it('gives a typed CONFLICT naming the current revision when expected is stale', async () => {
    const { store, repo } = ctx
    const v1 = await store.save('orders', pipelineDoc('orders'), { expected: null })
    const v2 = await store.save('orders', pipelineDoc('orders', { description: 'v2' }), { expected: v1.blob })
    const before = await snapshot(repo)
    const error = await caught(
      store.save('orders', pipelineDoc('orders', { description: 'mine' }), { expected: v1.blob }),
    )
    expect(error.code).toBe('CONFLICT')
    expect(error.details).toEqual({ name: 'orders', currentRevision: v2.commit, currentBlob: v2.blob })
    expect(error.message).toContain(v2.commit.slice(0, 12))
    const exists = await caught(store.save('orders', pipelineDoc('orders'), { expected: null }))
    expect(exists).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('already exists') })
    expect(await snapshot(repo)).toBe(before)
  })

  it('accepts a commit id as expected: a conflict only when this pipeline changed since that commit', async () => {
    const { store } = ctx
    const orders = await store.save('orders', pipelineDoc('orders'))
    const other = await store.save('other', pipelineDoc('other'))
    expect(other.commit).not.toBe(orders.commit)
    const ok = await store.save('orders', pipelineDoc('orders', { description: 'edited' }), { expected: orders.commit })
    expect(ok.changed).toBe(true)
    const stale = await caught(
      store.save('orders', pipelineDoc('orders', { description: 'again' }), { expected: orders.commit }),
    )
    expect(stale.code).toBe('CONFLICT')
    expect((await caught(store.save('orders', pipelineDoc('orders'), { expected: 'abc' }))).code).toBe('BAD_REQUEST')
  })

  it('deletes a pipeline folder as one commit, and a stale delete is a conflict', async () => {
    const { store, repo } = ctx
    const v1 = await store.save('orders', pipelineDoc('orders'))
    await commitFiles(repo, { 'pipelines/orders/README.md': 'notes' })
    await store.save('keep', pipelineDoc('keep'))
    const v2 = await store.save('orders', pipelineDoc('orders', { description: 'v2' }))
    expect((await caught(store.delete('orders', { expected: v1.blob }))).code).toBe('CONFLICT')
    const deleted = await store.delete('orders', { expected: v2.blob })
    expect(deleted).toMatchObject({ changed: true, blob: null })
    expect(await treeFiles(repo)).toEqual(['pipelines/keep/pipeline.json'])
    expect((await caught(store.get('orders'))).code).toBe('NOT_FOUND')
    expect((await caught(store.delete('orders'))).code).toBe('NOT_FOUND')
    expect((await store.get('orders', { ref: v2.commit })).document.description).toBe('v2')
  })

  it('renames a pipeline with its folder, updating the document name, in one commit', async () => {
    const { store, repo } = ctx
    const v1 = await store.save('orders', pipelineDoc('orders'))
    await commitFiles(repo, { 'pipelines/orders/README.md': 'notes' })
    await store.save('taken', pipelineDoc('taken'))
    const blocked = await caught(store.rename('orders', 'taken'))
    expect(blocked).toMatchObject({ code: 'CONFLICT', details: { name: 'taken' } })
    const renamed = await store.rename('orders', 'daily-orders', { expected: v1.blob })
    expect(renamed).toMatchObject({ name: 'daily-orders', changed: true })
    expect(await treeFiles(repo)).toEqual([
      'pipelines/daily-orders/README.md',
      'pipelines/daily-orders/pipeline.json',
      'pipelines/taken/pipeline.json',
    ])
    const got = await store.get('daily-orders')
    expect(got.document.name).toBe('daily-orders')
    expect(got.blob).toBe(renamed.blob)
    const log = await runGit(['log', '-1', '--format=%s', 'refs/heads/main'], { cwd: repo })
    expect(log.stdout.trim()).toBe('Rename pipeline orders to daily-orders')
    const history = await store.history('daily-orders')
    expect(history.map((h) => [h.change, h.name])).toEqual([
      ['renamed', 'daily-orders'],
      ['added', 'orders'],
    ])
    expect(history[0]?.renamedFrom).toBe('orders')
    expect((await caught(store.rename('orders', 'x'))).code).toBe('NOT_FOUND')
    expect((await caught(store.rename('daily-orders', 'daily-orders'))).code).toBe('BAD_REQUEST')
  })

  it('keeps the history of a pipeline, newest first, and reads it at any revision', async () => {
    const { store } = ctx
    const v1 = await store.save('orders', pipelineDoc('orders'), { message: 'Create orders' })
    await store.save('noise', pipelineDoc('noise'))
    const v2 = await store.save('orders', pipelineDoc('orders', { description: 'v2' }), {
      message: 'Describe orders',
      author: { name: 'Ada', email: 'ada@example.com' },
    })
    const v3 = await store.save('orders', pipelineDoc('orders', { description: 'v3' }), { message: 'Edit again' })
    const history = await store.history('orders')
    expect(history.map((h) => h.message)).toEqual(['Edit again', 'Describe orders', 'Create orders'])
    expect(history.map((h) => h.commit)).toEqual([v3.commit, v2.commit, v1.commit])
    expect(history.map((h) => h.blob)).toEqual([v3.blob, v2.blob, v1.blob])
    expect(history.map((h) => h.change)).toEqual(['modified', 'modified', 'added'])
    expect(history[1]?.author).toEqual({ name: 'Ada', email: 'ada@example.com' })
    expect((await store.history('orders', { limit: 1, skip: 1 })).map((h) => h.commit)).toEqual([v2.commit])
    for (const entry of history) {
      const got = await store.get('orders', { ref: entry.commit })
      expect(got.blob).toBe(entry.blob)
    }
    expect((await store.get('orders', { ref: v1.commit })).document.description).toBe('The orders pipeline')
    await store.delete('orders')
    expect((await store.history('orders'))[0]).toMatchObject({ change: 'deleted', blob: null })
  })

  it('diffs a pipeline between revisions: nodes, config fields as JSON pointers, edges, top-level fields', async () => {
    const { store } = ctx
    const v1 = await store.save('orders', pipelineDoc('orders'))
    const base = pipelineDoc('orders')
    const changed = {
      ...base,
      description: 'Now filtered',
      nodes: [
        { ...base.nodes[0], position: { x: 10, y: 20 }, data: { ...base.nodes[0]?.data, label: 'Raw orders' } },
        {
          ...base.nodes[1],
          data: {
            ...base.nodes[1]?.data,
            config: { path: '/lake/orders_v2', mode: 'overwrite', password: { $secret: 'LAKE' } },
          },
        },
        {
          id: 'filter',
          position: { x: 150, y: 0 },
          data: { component: 'transformer/filter@1', config: { condition: 'amount > 0' } },
        },
      ],
      edges: [
        { id: 'e2', source: 'orders', target: 'filter' },
        { id: 'e3', source: 'filter', target: 'sink' },
      ],
    }
    const v2 = await store.save('orders', changed, { expected: v1.blob })
    const diff = await store.diff('orders', v1.commit, v2.commit)
    expect(diff.from).toEqual({ revision: v1.commit, blob: v1.blob })
    expect(diff.to).toEqual({ revision: v2.commit, blob: v2.blob })
    expect(diff.identical).toBe(false)
    expect(diff.fields).toEqual([
      { path: '/description', kind: 'changed', before: 'The orders pipeline', after: 'Now filtered' },
    ])
    expect(diff.nodes.added).toEqual([{ id: 'filter', component: 'transformer/filter@1' }])
    expect(diff.nodes.removed).toEqual([])
    expect(diff.nodes.moved).toEqual([{ id: 'orders', from: { x: 0, y: 0 }, to: { x: 10, y: 20 } }])
    expect(diff.nodes.relabelled).toEqual([{ id: 'orders', before: 'Orders', after: 'Raw orders' }])
    expect(diff.nodes.config).toEqual([
      { nodeId: 'sink', path: '/password', kind: 'added', after: { $secret: 'LAKE' } },
      { nodeId: 'sink', path: '/path', kind: 'changed', before: '/lake/orders', after: '/lake/orders_v2' },
    ])
    expect(diff.edges.added.map((e) => e.id)).toEqual(['e2', 'e3'])
    expect(diff.edges.removed).toEqual([{ id: 'e1', source: 'orders', target: 'sink' }])
    const created = await store.diff('orders', v1.commit, v1.commit)
    expect(created.identical).toBe(true)
    await store.save('later', pipelineDoc('later'))
    const fromNothing = await store.diff('later', v1.commit, 'main')
    expect(fromNothing.from.blob).toBeNull()
    expect(fromNothing.nodes.added.map((n) => n.id)).toEqual(['orders', 'sink'])
    expect((await caught(store.diff('missing', v1.commit, v2.commit))).code).toBe('NOT_FOUND')
  })

  it('saves to another branch and reads from it without touching the store branch', async () => {
    const { store } = ctx
    const main = await store.save('orders', pipelineDoc('orders'))
    expect((await caught(store.save('orders', pipelineDoc('orders'), { branch: 'feature' }))).code).toBe('NOT_FOUND')
    await store.createBranch('feature')
    const onFeature = await store.save('orders', pipelineDoc('orders', { description: 'feature' }), {
      branch: 'feature',
      expected: main.blob,
    })
    expect((await store.get('orders')).blob).toBe(main.blob)
    expect((await store.get('orders', { ref: 'feature' })).blob).toBe(onFeature.blob)
    expect((await store.get('orders', { ref: 'refs/heads/feature' })).revision).toBe(onFeature.commit)
    expect((await caught(store.get('orders', { ref: '--upload-pack=evil' }))).code).toBe('BAD_REQUEST')
  })

  it('keeps one cat-file process for every read', async () => {
    const { store } = ctx
    for (let i = 0; i < 5; i++) await store.save(`p${i}`, pipelineDoc(`p${i}`))
    await Promise.all([store.list(), ...Array.from({ length: 20 }, (_, i) => store.get(`p${i % 5}`))])
    await store.diff('p1', 'main', 'main')
    expect(store.readerProcessStarts).toBe(1)
  })
})

describe('GitPipelineStore validation hook', () => {
  const secretAware = (document: unknown) => {
    const doc = document as PipelineDocumentLike
    const issues: ValidationIssue[] = []
    doc.nodes.forEach((node, i) => {
      const password = node.data.config['password']
      if (typeof password === 'string')
        issues.push({
          path: `/nodes/${i}/data/config/password`,
          code: 'secret_in_plaintext',
          message: 'password is a secret field: store a reference',
          nodeId: node.id,
        })
    })
    if (doc.nodes.length === 0) issues.push({ path: '/nodes', code: 'too_small', message: 'a pipeline needs a node' })
    return issues.length > 0
      ? { ok: false as const, issues }
      : { ok: true as const, document: { ...doc, description: doc.description ?? 'normalized' } }
  }

  it('saves what the validator returns, and refuses invalid documents with its issues', async () => {
    const ctx = await bareStore({ validate: secretAware })
    try {
      const { description: _d, ...doc } = pipelineDoc('orders')
      await ctx.store.save('orders', doc)
      expect((await ctx.store.get('orders')).document.description).toBe('normalized')
      const before = await snapshot(ctx.repo)
      const error = await caught(ctx.store.save('orders', pipelineDoc('orders', { nodes: [] })))
      expect(error.code).toBe('VALIDATION_FAILED')
      expect(
        hasErrorCode(error, 'VALIDATION_FAILED') && (error.details as { issues: ValidationIssue[] }).issues,
      ).toEqual([{ path: '/nodes', code: 'too_small', message: 'a pipeline needs a node' }])
      expect(await snapshot(ctx.repo)).toBe(before)
    } finally {
      await ctx.cleanup()
    }
  })

  it('refuses plaintext secrets with SECRET_IN_PLAINTEXT, never echoing the value, and writes nothing', async () => {
    const ctx = await bareStore({ validate: async (d) => secretAware(d) })
    try {
      const doc = pipelineDoc('orders')
      const leaky = {
        ...doc,
        nodes: [
          doc.nodes[0],
          { ...doc.nodes[1], data: { ...doc.nodes[1]?.data, config: { path: '/x', password: 'hunter2-very-secret' } } },
        ],
      }
      const before = await snapshot(ctx.repo)
      const error = await caught(ctx.store.save('orders', leaky))
      expect(error.code).toBe('SECRET_IN_PLAINTEXT')
      expect(error.message).toContain('/nodes/1/data/config/password')
      expect(error.message).not.toContain('hunter2')
      expect(JSON.stringify(error.toJSON())).not.toContain('hunter2')
      expect(await snapshot(ctx.repo)).toBe(before)
      const objects = await runGit(['count-objects'], { cwd: ctx.repo })
      expect(objects.stdout).toMatch(/^0 objects/)
    } finally {
      await ctx.cleanup()
    }
  })
})

describe('GitPipelineStore.open', () => {
  it('refuses a repository with a work tree, a folder that is not a repository, and a missing folder', async () => {
    const dir = await makeTempDir('sparkle-git-open-')
    try {
      await runGit(['init', '--quiet', 'work'], { cwd: dir.path })
      expect((await caught(GitPipelineStore.open({ repo: join(dir.path, 'work') }))).message).toContain('work tree')
      const sub = join(dir.path, 'work', 'sub')
      await import('node:fs/promises').then((fs) => fs.mkdir(sub))
      expect((await caught(GitPipelineStore.open({ repo: sub }))).code).toBe('BAD_REQUEST')
      expect((await caught(GitPipelineStore.open({ repo: join(dir.path, 'nothing') }))).code).toBe('NOT_FOUND')
      expect((await caught(GitPipelineStore.open({ repo: dir.path, branch: '-x' }))).code).toBe('BAD_REQUEST')
      // The work tree repository was not modified.
      expect(await readFile(join(dir.path, 'work', '.git', 'HEAD'), 'utf8')).toMatch(/^ref: refs\/heads\//)
    } finally {
      await dir.remove()
    }
  })

  it('works on a SHA-256 repository', async () => {
    const dir = await makeTempDir('sparkle-git-sha256-')
    try {
      const repo = join(dir.path, 'r.git')
      await runGit(['init', '--bare', '--quiet', '--object-format=sha256', '--initial-branch=main', repo], {
        cwd: dir.path,
      })
      const store = await GitPipelineStore.open({ repo })
      const v1 = await store.save('orders', pipelineDoc('orders'), { expected: null })
      expect(v1.commit).toMatch(/^[0-9a-f]{64}$/)
      const v2 = await store.save('orders', pipelineDoc('orders', { description: 'v2' }), { expected: v1.blob })
      expect((await store.get('orders')).blob).toBe(v2.blob)
      expect((await store.list()).pipelines[0]?.lastCommit?.commit).toBe(v2.commit)
      expect((await store.history('orders')).map((h) => h.commit)).toEqual([v2.commit, v1.commit])
      expect((await store.diff('orders', v1.commit, v2.commit)).fields[0]?.path).toBe('/description')
      await store.close()
      expect(await fsck(repo)).not.toMatch(/error/i)
    } finally {
      await dir.remove()
    }
  })

  it('uses the branch the repository HEAD names, and a fixed clock for commit times', async () => {
    const dir = await makeTempDir('sparkle-git-open-')
    try {
      const repo = await initRepository(join(dir.path, 'r.git'), { initialBranch: 'trunk' })
      const store = await GitPipelineStore.open({ repo, now: fixedClock(Date.UTC(2030, 0, 1)) })
      expect(store.branch).toBe('trunk')
      const saved = await store.save('orders', pipelineDoc('orders'))
      const date = await runGit(['log', '-1', '--format=%cI', saved.commit], { cwd: repo })
      expect(date.stdout.trim()).toBe('2030-01-01T00:00:01+00:00')
      await store.close()
    } finally {
      await dir.remove()
    }
  })
})
