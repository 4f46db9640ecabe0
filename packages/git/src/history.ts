import { PIPELINE_FILE, PIPELINES_DIR } from './names.ts'

/** One commit in a pipeline's history. */
export interface PipelineHistoryEntry {
  /** Commit id: pass it as `ref` to `get` or to `diff` to see the pipeline at that revision. */
  readonly commit: string
  /** The pipeline's name at that commit (differs from today's name before a rename). */
  readonly name: string
  /** The `pipeline.json` blob after the commit; `null` when the commit deleted the pipeline. */
  readonly blob: string | null
  /** What the commit did to the pipeline. */
  readonly change: 'added' | 'modified' | 'deleted' | 'renamed'
  /** For a rename, the name before it. */
  readonly renamedFrom?: string
  /** Who wrote the change. */
  readonly author: { readonly name: string; readonly email: string }
  /** When it was written (ISO 8601). */
  readonly date: string
  /** The full commit message. */
  readonly message: string
}

/** The `git log` format {@link parseHistory} reads: fields split by 0x1f, records by 0x1e. */
export const HISTORY_FORMAT = '%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%B%x1f'

function nameOf(path: string | undefined): string | undefined {
  const prefix = `${PIPELINES_DIR}/`
  const suffix = `/${PIPELINE_FILE}`
  if (!path?.startsWith(prefix) || !path.endsWith(suffix)) return undefined
  return path.slice(prefix.length, -suffix.length)
}

/** Parses `git log --follow --raw --no-abbrev -z --format=HISTORY_FORMAT -- <pipeline.json>`. */
export function parseHistory(output: string, fallbackName: string, zeroId: string): PipelineHistoryEntry[] {
  const entries: PipelineHistoryEntry[] = []
  for (const record of output.split('\x1e')) {
    if (record.length === 0) continue
    const end = record.lastIndexOf('\x1f')
    if (end < 0) continue
    const [commit = '', authorName = '', authorEmail = '', date = '', ...rest] = record.slice(0, end).split('\x1f')
    const message = rest.join('\x1f').replace(/\n+$/, '')
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
      name,
      blob: change === 'deleted' || !newBlob || newBlob === zeroId ? null : newBlob,
      change,
      ...(renamedFrom === undefined ? {} : { renamedFrom }),
      author: { name: authorName, email: authorEmail },
      date,
      message,
    })
  }
  return entries
}
