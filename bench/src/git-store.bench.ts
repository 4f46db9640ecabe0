// The git pipeline store over 1,000 pipelines (list, get, save), beside the naive approach in the same run: files read
// from a work tree with fs + JSON.parse, saves written to the work tree then `git add` + `git commit` through simple-git.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GitPipelineStore, stringifyPipeline } from '@sparkle-studio/git'
import { simpleGit } from 'simple-git'
import { type BenchResult, quantile, round, runIfMain, sample, timeRow } from './lib.ts'

const PIPELINES = 1000
const GETS = 300
const SAVES = 100
const LISTS = 15

function nameOf(i: number): string {
  return `pipeline-${String(i).padStart(4, '0')}`
}

function documentOf(i: number, revision = 0) {
  const name = nameOf(i)
  return {
    schemaVersion: 1,
    name,
    description: `Pipeline ${i} (revision ${revision})`,
    tags: [i % 2 ? 'daily' : 'hourly', `team-${i % 7}`],
    nodes: [
      {
        id: 'orders',
        position: { x: 0, y: 0 },
        data: { component: 'ingestor/csv@1', label: 'Orders', config: { path: `/data/${name}.csv`, header: true } },
      },
      {
        id: 'filter',
        position: { x: 250, y: 0 },
        data: { component: 'transformer/filter@1', config: { condition: `amount > ${i}` } },
      },
      {
        id: 'sink',
        position: { x: 500, y: 0 },
        data: { component: 'sink/parquet@1', label: 'Lake', config: { path: `/lake/${name}`, mode: 'overwrite' } },
      },
    ],
    edges: [
      { id: 'e1', source: 'orders', target: 'filter' },
      { id: 'e2', source: 'filter', target: 'sink' },
    ],
  }
}

/** Builds the 1,000-pipeline repository in one `git fast-import` (one commit). */
function buildRepository(bare: string): void {
  execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main', bare])
  const parts: string[] = [
    'commit refs/heads/main',
    'committer Bench <bench@example.com> 1793000000 +0000',
    'data 6',
    'import',
  ]
  for (let i = 0; i < PIPELINES; i++) {
    const text = stringifyPipeline(documentOf(i))
    parts.push(`M 100644 inline pipelines/${nameOf(i)}/pipeline.json`, `data ${Buffer.byteLength(text)}`, text)
  }
  parts.push('done', '')
  const res = spawnSync('git', ['fast-import', '--quiet', '--done'], { cwd: bare, input: parts.join('\n') })
  if (res.status !== 0) throw new Error(`fast-import failed: ${res.stderr.toString()}`)
}

/** Deterministic pseudo-random indexes, so both sides touch the same pipelines. */
function picks(count: number, seed: number): number[] {
  let x = seed
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x % PIPELINES
  })
}

/** The naive list: every file read from the work tree and parsed. */
async function naiveList(work: string) {
  const dir = join(work, 'pipelines')
  const names = await readdir(dir)
  return Promise.all(
    names.map(async (name) => {
      const doc = JSON.parse(await readFile(join(dir, name, 'pipeline.json'), 'utf8')) as {
        description?: string
        tags?: string[]
      }
      return { name, description: doc.description, tags: doc.tags ?? [] }
    }),
  )
}

/** The naive last commits: one `git log --name-only` walk through simple-git, newest change of each file. */
async function naiveLastCommits(work: string) {
  const out = await simpleGit(work).raw([
    'log',
    '--format=%x1e%H%x1f%an%x1f%aI%x1f%s',
    '--name-only',
    '--',
    'pipelines',
  ])
  const last = new Map<string, string>()
  for (const record of out.split('\x1e')) {
    const [header = '', ...files] = record.split('\n')
    const sha = header.split('\x1f')[0] ?? ''
    for (const file of files) if (file && !last.has(file)) last.set(file, sha)
  }
  return last
}

/** One git process, started and awaited: the floor of every step a save cannot do in the reader. */
function gitVersion(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--version'], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('close', () => resolve())
  })
}

function catFileChildren(): number {
  const out = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.startsWith('git cat-file')).length
}

export async function run(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkle-bench-git-'))
  const bare = join(dir, 'store.git')
  const work = join(dir, 'work')
  try {
    const built = performance.now()
    buildRepository(bare)
    const buildMs = performance.now() - built
    execFileSync('git', ['clone', '--quiet', bare, work])
    execFileSync('git', ['config', 'user.name', 'Bench'], { cwd: work })
    execFileSync('git', ['config', 'user.email', 'bench@example.com'], { cwd: work })
    const naive = simpleGit(work)

    const store = await GitPipelineStore.open({ repo: bare, author: { name: 'Bench', email: 'bench@example.com' } })
    try {
      // list: the first call reads every blob and walks history for the last commits; later calls reuse what is
      // immutable (blobs by id, trees, the last-commit answers per head).
      const cold = performance.now()
      const first = await store.list()
      const listCold = performance.now() - cold
      if (first.pipelines.length !== PIPELINES) throw new Error(`listed ${first.pipelines.length} pipelines`)
      const listWarm = await sample(() => store.list(), LISTS, 2)
      const listNoCommits = await sample(() => store.list({ lastCommit: false }), LISTS, 2)
      const naiveListTimes = await sample(() => naiveList(work), LISTS, 2)
      const naiveListWithCommits = await sample(
        async () => Promise.all([naiveList(work), naiveLastCommits(work)]),
        LISTS,
        2,
      )

      // get: one document with its revision and blob, vs reading and parsing one file.
      const getNames = picks(GETS, 7).map(nameOf)
      let g = 0
      const getTimes = await sample(() => store.get(getNames[g++ % GETS] ?? 'x'), GETS, 20)
      let n = 0
      const naiveGetTimes = await sample(
        async () =>
          JSON.parse(await readFile(join(work, 'pipelines', getNames[n++ % GETS] ?? 'x', 'pipeline.json'), 'utf8')),
        GETS,
        20,
      )

      // save: a changed document with the blob last read as `expected` (one commit each), vs write + add + commit.
      const saveIndexes = picks(SAVES, 11)
      const blobs = new Map(first.pipelines.map((p) => [p.name, p.blob]))
      let s = 0
      const saveTimes = await sample(
        async () => {
          const i = saveIndexes[s % SAVES] ?? 0
          const name = nameOf(i)
          const saved = await store.save(name, documentOf(i, ++s), { expected: blobs.get(name) })
          blobs.set(name, saved.blob ?? '')
        },
        SAVES,
        0,
      )
      let t = 0
      const naiveSaveTimes = await sample(
        async () => {
          const i = saveIndexes[t % SAVES] ?? 0
          const path = join('pipelines', nameOf(i), 'pipeline.json')
          await writeFile(join(work, path), stringifyPipeline(documentOf(i, ++t)))
          await naive.add(path)
          await naive.commit(`Save pipeline ${nameOf(i)}`)
        },
        SAVES,
        0,
      )
      const listAfterSaves = await sample(() => store.list(), LISTS, 1)
      const spawnTimes = await sample(() => gitVersion(), 30, 3)
      const readers = catFileChildren()
      const starts = store.readerProcessStarts

      const p50 = (xs: number[]) => quantile(xs, 0.5)
      const rows = [
        timeRow(
          'list 1,000, first call (p50 of 1)',
          listCold,
          'fs read + JSON.parse + git log walk',
          p50(naiveListWithCommits),
          '<= 50 ms',
        ),
        timeRow(
          'list 1,000 with last commits (p50)',
          p50(listWarm),
          'fs read + JSON.parse + git log walk',
          p50(naiveListWithCommits),
          '<= 50 ms',
        ),
        timeRow(
          'list 1,000 without last commits (p50)',
          p50(listNoCommits),
          'fs read + JSON.parse',
          p50(naiveListTimes),
          '<= 50 ms',
        ),
        timeRow(
          'list 1,000 after 100 saves (p50)',
          p50(listAfterSaves),
          'fs read + JSON.parse + git log walk',
          p50(naiveListWithCommits),
          '<= 50 ms',
        ),
        timeRow('get (p50)', p50(getTimes), 'fs read + JSON.parse', p50(naiveGetTimes), '<= 5 ms'),
        timeRow('get (p95)', quantile(getTimes, 0.95), 'fs read + JSON.parse', quantile(naiveGetTimes, 0.95)),
        timeRow('save (p50)', p50(saveTimes), 'simple-git add + commit', p50(naiveSaveTimes), '<= 30 ms'),
        timeRow('save (p95)', quantile(saveTimes, 0.95), 'simple-git add + commit', quantile(naiveSaveTimes, 0.95)),
      ]
      return {
        name: 'git pipeline store (1,000 pipelines)',
        rows,
        notes: [
          `Repository: ${PIPELINES} pipelines in one commit, built with git fast-import in ${round(buildMs)} ms; the naive side is a non-bare clone of it.`,
          `Reads went through ${starts} git cat-file process (${readers} alive at the end); list and get start no other process. A save runs 5 short git processes (hash-object, update-index, write-tree, commit-tree, update-ref; read-tree too when another writer moved the branch); hash-object runs beside the others, so 4 are on its critical path. One git process (spawn to exit of git --version) takes ${round(quantile(spawnTimes, 0.5))} ms p50 on this machine.`,
          'The naive get reads a file without knowing its revision; the store answers the commit and blob as well. The naive list with last commits needs one git log walk, whose cost grows with history.',
          `Samples: list ${LISTS} (first call 1), get ${GETS}, save ${SAVES} sequential saves with expected blob.`,
        ],
      }
    } finally {
      await store.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await runIfMain(import.meta.url, run)
