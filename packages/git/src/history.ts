import { StudioError } from '@sparkle-studio/core'
import { type CommitSummary, messageText } from './commit-summary.ts'
import { isoFromRaw } from './git-objects.ts'
import { PIPELINE_FILE, PIPELINES_DIR, pipelinePath } from './names.ts'
import type { GitRepository } from './repository.ts'

/**
 * One commit in a pipeline's history: the commit's summary (pass `commit` as `ref` to `get` or to `diff` to see the
 * pipeline at that revision) and what it did to the pipeline.
 */
export interface PipelineHistoryEntry extends CommitSummary {
  /** The pipeline's name at that commit (differs from today's name before a rename). */
  readonly name: string
  /** The `pipeline.json` blob after the commit; `null` when the commit deleted the pipeline. */
  readonly blob: string | null
  /** What the commit did to the pipeline. */
  readonly change: 'added' | 'modified' | 'deleted' | 'renamed'
  /** For a rename, the name before it. */
  readonly renamedFrom?: string
}

/** The `git log` format {@link parseHistory} reads (with `--date=raw`): fields split by 0x1f, records by 0x1e. */
export const HISTORY_FORMAT = '%x1e%H%x1f%an%x1f%ae%x1f%ad%x1f%B%x1f'

function nameOf(path: string | undefined): string | undefined {
  const prefix = `${PIPELINES_DIR}/`
  const suffix = `/${PIPELINE_FILE}`
  if (!path?.startsWith(prefix) || !path.endsWith(suffix)) return undefined
  return path.slice(prefix.length, -suffix.length)
}

/** Parses `git log --follow --raw --no-abbrev -z --date=raw --format=HISTORY_FORMAT -- <pipeline.json>`. */
export function parseHistory(output: string, fallbackName: string, zeroId: string): PipelineHistoryEntry[] {
  const entries: PipelineHistoryEntry[] = []
  for (const record of output.split('\x1e')) {
    if (record.length === 0) continue
    const end = record.lastIndexOf('\x1f')
    if (end < 0) continue
    const [commit = '', authorName = '', authorEmail = '', date = '', ...rest] = record.slice(0, end).split('\x1f')
    const message = messageText(rest.join('\x1f'))
    const raw = record.slice(end + 1).replace(/^\0?\n?/, '')
    const [meta = '', path1, path2] = raw.split('\0')
    const fields = meta.replace(/^:/, '').split(' ')
    const newBlob = fields[3]
    const status = fields[4] ?? 'M'
    let change: PipelineHistoryEntry['change'] = 'modified'
    if (status.startsWith('A') || status.startsWith('C')) change = 'added'
    else if (status.startsWith('D')) change = 'deleted'
    else if (status.startsWith('R')) change = 'renamed'
    const name = nameOf(change === 'renamed' ? path2 : path1) ?? fallbackName
    const renamedFrom = change === 'renamed' ? nameOf(path1) : undefined
    entries.push({
      commit,
      author: { name: authorName, email: authorEmail },
      date: isoFromRaw(date),
      message,
      name,
      blob: change === 'deleted' || !newBlob || newBlob === zeroId ? null : newBlob,
      change,
      ...(renamedFrom === undefined ? {} : { renamedFrom }),
    })
  }
  return entries
}

/** Validated paging of a history. */
export interface HistoryPaging {
  readonly limit: number
  readonly skip: number
}

/**
 * Checks a history's paging: `limit` (default 50) of 1..10000, `skip` (default 0) of 0 or more.
 *
 * @throws StudioError `BAD_REQUEST`.
 */
export function historyPaging(options: {
  readonly limit?: number | undefined
  readonly skip?: number | undefined
}): HistoryPaging {
  const limit = options.limit ?? 50
  const skip = options.skip ?? 0
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000 || !Number.isInteger(skip) || skip < 0)
    throw new StudioError('BAD_REQUEST', 'history paging needs an integer limit of 1..10000 and skip >= 0', {
      limit,
      skip,
    })
  return { limit, skip }
}

/** The commits that changed a pipeline up to `head`, newest first, following renames (one `git log --follow`). */
export async function readHistory(
  repo: GitRepository,
  head: string,
  name: string,
  paging: HistoryPaging,
  signal?: AbortSignal | undefined,
): Promise<PipelineHistoryEntry[]> {
  const args = ['log', '--follow', '--no-abbrev', '--raw', '-z', '--date=raw', `--format=${HISTORY_FORMAT}`]
  const page = [`--max-count=${paging.limit}`, `--skip=${paging.skip}`]
  const out = await repo.git([...args, ...page, head, '--', pipelinePath(name)], { signal })
  return parseHistory(out.stdout, name, repo.zeroId)
}
