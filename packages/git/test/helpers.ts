// Shared helpers for the git package's tests: real repositories in temp folders, documents, and repo snapshots.
import { join } from 'node:path'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { GitPipelineStore } from '../src/git-pipeline-store.ts'
import { runGit } from '../src/git-process.ts'
import type { PipelineDocumentLike } from '../src/pipeline-document.ts'
import { initRepository } from '../src/repository-setup.ts'
import type { GitPipelineStoreOptions } from '../src/types.ts'

/** A test pipeline document: a source and a sink joined by one edge. */
export function pipelineDoc(name: string, overrides: Partial<Record<string, unknown>> = {}): PipelineDocumentLike {
  return {
    schemaVersion: 1,
    name,
    description: `The ${name} pipeline`,
    tags: ['test'],
    nodes: [
      {
        id: 'orders',
        position: { x: 0, y: 0 },
        data: { component: 'ingestor/csv@1', label: 'Orders', config: { path: '/data/orders.csv', header: true } },
      },
      {
        id: 'sink',
        position: { x: 300, y: 0 },
        data: { component: 'sink/parquet@1', label: 'Lake', config: { path: '/lake/orders', mode: 'overwrite' } },
      },
    ],
    edges: [{ id: 'e1', source: 'orders', target: 'sink' }],
    ...overrides,
  } as PipelineDocumentLike
}

/** A fixed clock, so commit times are deterministic. */
export function fixedClock(start = Date.UTC(2026, 10, 2, 9, 30)): () => Date {
  let t = start
  return () => {
    t += 1000
    return new Date(t)
  }
}

/** A temp folder with an empty bare repository in it, and a store opened on it. */
export async function bareStore(
  options: Partial<GitPipelineStoreOptions<PipelineDocumentLike>> = {},
): Promise<{ dir: TempDir; repo: string; store: GitPipelineStore; cleanup: () => Promise<void> }> {
  const dir = await makeTempDir('sparkle-git-store-')
  const repo = await initRepository(join(dir.path, 'pipelines.git'))
  const store = await GitPipelineStore.open({ repo, now: fixedClock(), ...options })
  return {
    dir,
    repo,
    store,
    cleanup: async () => {
      await store.close()
      await dir.remove()
    },
  }
}

/** Everything that shows whether a repository changed: its refs and its object counts. */
export async function snapshot(repo: string): Promise<string> {
  const refs = await runGit(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: repo })
  const objects = await runGit(['count-objects', '-v'], { cwd: repo })
  return `${refs.stdout}\n${objects.stdout}`
}

/** `git fsck --strict` output; throws (GIT_FAILED) when the repository is corrupt. */
export async function fsck(repo: string): Promise<string> {
  const out = await runGit(['fsck', '--strict', '--no-dangling'], { cwd: repo })
  return out.stdout + out.stderr
}

const identity = {
  GIT_AUTHOR_NAME: 'Someone Else',
  GIT_AUTHOR_EMAIL: 'else@example.com',
  GIT_COMMITTER_NAME: 'Someone Else',
  GIT_COMMITTER_EMAIL: 'else@example.com',
}

/**
 * Commits raw files (path to content) on top of a branch with plain git plumbing, the way another tool would,
 * e.g. to plant a file that is not JSON.
 */
export async function commitFiles(repo: string, files: Record<string, string>, branch = 'main'): Promise<string> {
  const env = { ...identity, GIT_INDEX_FILE: join(repo, `test-index-${process.pid}-${Math.random()}`) }
  const head = (
    await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: repo, okCodes: [1] })
  ).stdout.trim()
  await runGit(head ? ['read-tree', head] : ['read-tree', '--empty'], { cwd: repo, env })
  for (const [path, content] of Object.entries(files)) {
    const blob = (await runGit(['hash-object', '-w', '--stdin'], { cwd: repo, input: content })).stdout.trim()
    await runGit(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { cwd: repo, env })
  }
  const tree = (await runGit(['write-tree'], { cwd: repo, env })).stdout.trim()
  const commit = (
    await runGit(['commit-tree', tree, ...(head ? ['-p', head] : []), '-m', 'planted by a test'], { cwd: repo, env })
  ).stdout.trim()
  await runGit(['update-ref', `refs/heads/${branch}`, commit, head], { cwd: repo })
  await runGit(['read-tree', '--empty'], { cwd: repo, env }).catch(() => undefined)
  const { rm } = await import('node:fs/promises')
  await rm(env.GIT_INDEX_FILE, { force: true })
  return commit
}

/** The file names in a commit's tree under `pipelines/`. */
export async function treeFiles(repo: string, rev = 'refs/heads/main'): Promise<string[]> {
  const out = await runGit(['ls-tree', '-r', '--name-only', rev, '--', 'pipelines'], { cwd: repo })
  return out.stdout.split('\n').filter(Boolean)
}
