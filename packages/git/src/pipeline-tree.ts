import { ValidationError } from '@sparkle-studio/core'
import { type CommitObject, isBlobEntry, isTreeEntry, type TreeEntry } from './git-objects.ts'
import { PIPELINE_FILE, PIPELINES_DIR } from './names.ts'
import { parsePipelineText } from './pipeline-document.ts'
import type { GitRepository } from './repository.ts'

/** A pipeline's folder at a commit, and its `pipeline.json` when it has one. */
export interface LocatedPipeline {
  readonly folder: TreeEntry
  readonly file: TreeEntry | null
}

/** Finds a pipeline's folder at a commit (read through the object reader: no process). */
export async function locatePipeline(
  repo: GitRepository,
  commit: CommitObject | null,
  name: string,
  signal?: AbortSignal | undefined,
): Promise<LocatedPipeline | null> {
  if (!commit) return null
  const folder = await repo.entryAt(commit.tree, [PIPELINES_DIR, name], signal)
  if (!folder || !isTreeEntry(folder)) return null
  const entries = await repo.readTree(folder.oid, signal)
  return { folder, file: entries.find((e) => e.name === PIPELINE_FILE) ?? null }
}

/** The blob of a pipeline's `pipeline.json` at a commit; `null` when it has none there. */
export async function pipelineBlobAt(
  repo: GitRepository,
  commit: CommitObject | null,
  name: string,
  signal?: AbortSignal | undefined,
): Promise<string | null> {
  const found = await locatePipeline(repo, commit, name, signal)
  return found?.file ? found.file.oid : null
}

/**
 * Reads and parses a `pipeline.json` entry.
 *
 * @throws ValidationError when it is not a regular file or not a JSON object.
 */
export async function readPipelineDocument(
  repo: GitRepository,
  file: TreeEntry,
  path: string,
  signal?: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const data = isBlobEntry(file) ? await repo.readBlob(file.oid, signal) : null
  if (!data)
    throw new ValidationError(`${path} is not a file: replace it with the pipeline's JSON document`, [
      { path: '', code: 'invalid_document', message: `${path} is not a regular file` },
    ])
  return parsePipelineText(data.toString('utf8'), path)
}

/** Every file under a folder tree, with its repository path (`prefix/...`). */
export async function folderFiles(
  repo: GitRepository,
  folder: string,
  prefix: string,
  signal?: AbortSignal | undefined,
): Promise<{ path: string; entry: TreeEntry }[]> {
  const out: { path: string; entry: TreeEntry }[] = []
  for (const entry of await repo.readTree(folder, signal)) {
    const path = `${prefix}/${entry.name}`
    if (isTreeEntry(entry)) out.push(...(await folderFiles(repo, entry.oid, path, signal)))
    else out.push({ path, entry })
  }
  return out
}

/** `branch main` for `refs/heads/main`, for messages. */
export function refLabel(ref: string): string {
  return `branch ${ref.replace(/^refs\/heads\//, '')}`
}
