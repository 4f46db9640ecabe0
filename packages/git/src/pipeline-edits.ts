import { StudioError } from '@sparkle-studio/core'
import { checkExpected } from './expected.ts'
import type { CommitObject } from './git-objects.ts'
import { PIPELINES_DIR, pipelinePath } from './names.ts'
import { folderFiles, locatePipeline, readPipelineDocument, refLabel } from './pipeline-tree.ts'
import type { GitRepository, IndexChange } from './repository.ts'
import { stringifyPipeline } from './stable-json.ts'

/** What the caller last read of the pipeline an edit touches (see `WriteOptions.expected`); absent for no check. */
type Expected = string | null | undefined

/**
 * One change a write makes to one pipeline, planned afresh against the head of every attempt: `put` writes a
 * serialized document (`text`), `delete` removes the pipeline's folder, `rename` moves the folder and sets the
 * document's `name`. `expected` is checked against the same head.
 */
export type PipelineEdit =
  | { readonly kind: 'put'; readonly name: string; readonly text: string; readonly expected?: Expected }
  | { readonly kind: 'delete'; readonly name: string; readonly expected?: Expected }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly expected?: Expected }

/** The paths and blobs some edits come to at one head. */
export interface EditPlan {
  /** Paths to set or remove; empty when the edits change nothing. */
  readonly changes: readonly IndexChange[]
  /** Each touched pipeline's `pipeline.json` blob after the write (`null` once deleted), by name. */
  readonly blobs: ReadonlyMap<string, string | null>
  /** The new blobs the changes refer to (id to text); they are written only once the plan is known to commit. */
  readonly texts: ReadonlyMap<string, string>
}

function notFound(name: string, ref: string): StudioError {
  return new StudioError('NOT_FOUND', `pipeline "${name}" not found on ${refLabel(ref)}`, { name })
}

/**
 * Turns edits into tree changes against `head` (the commit they build on, `null` for a branch without commits),
 * checking each `expected` there, in order. Reads go through the object reader: planning starts no process.
 *
 * @throws StudioError `NOT_FOUND` (deleting or renaming a missing pipeline), `CONFLICT` (a stale `expected`, or a
 * rename onto an existing pipeline).
 */
export async function planEdits(
  repo: GitRepository,
  head: CommitObject | null,
  edits: readonly PipelineEdit[],
  ref: string,
  signal?: AbortSignal | undefined,
): Promise<EditPlan> {
  const changes: IndexChange[] = []
  const blobs = new Map<string, string | null>()
  const texts = new Map<string, string>()
  for (const edit of edits) {
    if (edit.kind === 'put') {
      const blob = repo.blobId(edit.text)
      const found = await locatePipeline(repo, head, edit.name, signal)
      const current = found?.file?.oid ?? null
      await checkExpected(repo, edit.name, edit.expected, head, current, signal)
      blobs.set(edit.name, blob)
      if (current === blob) continue
      changes.push({ path: pipelinePath(edit.name), oid: blob })
      texts.set(blob, edit.text)
    } else if (edit.kind === 'delete') {
      const found = await locatePipeline(repo, head, edit.name, signal)
      if (!found) throw notFound(edit.name, ref)
      await checkExpected(repo, edit.name, edit.expected, head, found.file?.oid ?? null, signal)
      const files = await folderFiles(repo, found.folder.oid, `${PIPELINES_DIR}/${edit.name}`, signal)
      changes.push(...files.map(({ path }) => ({ path, oid: null })))
      blobs.set(edit.name, null)
    } else {
      const { from, to } = edit
      const found = await locatePipeline(repo, head, from, signal)
      if (!found?.file) throw notFound(from, ref)
      await checkExpected(repo, from, edit.expected, head, found.file.oid, signal)
      const existing = await locatePipeline(repo, head, to, signal)
      if (existing)
        throw new StudioError('CONFLICT', `pipeline "${to}" already exists: choose another name`, {
          name: to,
          currentRevision: head?.oid ?? null,
          currentBlob: existing.file?.oid ?? null,
        })
      const document = await readPipelineDocument(repo, found.file, pipelinePath(from), signal)
      const text = stringifyPipeline({ ...document, name: to })
      const blob = repo.blobId(text)
      const files = await folderFiles(repo, found.folder.oid, `${PIPELINES_DIR}/${from}`, signal)
      changes.push(...files.map(({ path }) => ({ path, oid: null })))
      for (const { path, entry } of files) {
        const moved = `${PIPELINES_DIR}/${to}${path.slice(PIPELINES_DIR.length + 1 + from.length)}`
        const oid = path === pipelinePath(from) ? blob : entry.oid
        changes.push({ path: moved, oid, mode: entry.mode })
      }
      blobs.set(from, null)
      blobs.set(to, blob)
      texts.set(blob, text)
    }
  }
  return { changes, blobs, texts }
}
