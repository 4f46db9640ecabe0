import type { ValidationError } from '@sparkle-studio/core'
import { type CommitObject, isBlobEntry, isTreeEntry } from './git-objects.ts'
import { LastChanges } from './last-changes.ts'
import { LruMap } from './lru.ts'
import { assertPipelineName, PIPELINE_FILE, PIPELINES_DIR, showInput } from './names.ts'
import { parsePipelineText } from './pipeline-document.ts'
import type { GitRepository } from './repository.ts'
import type { PipelineList, PipelineProblem, PipelineSummary } from './types.ts'

/** The list fields of one `pipeline.json`, or why it cannot be listed. */
type Summary =
  | {
      readonly ok: true
      readonly description?: string
      readonly tags: readonly string[]
      readonly version?: number
      /** Listed, but also reported (the document's name differs from its folder). */
      readonly warning?: { readonly code: string; readonly message: string }
    }
  | { readonly ok: false; readonly code: string; readonly message: string }

/**
 * Lists the pipelines at a commit from the object reader (no process), keeping the list fields of every blob it read
 * (blobs never change) and the last-change answers per head, so a list after a save reads only what the save changed.
 */
export class PipelineLister {
  readonly #repo: GitRepository
  readonly #lastChanges: LastChanges
  readonly #summaries = new LruMap<string, Summary>(16384)

  constructor(repo: GitRepository) {
    this.#repo = repo
    this.#lastChanges = new LastChanges(repo)
  }

  /** The pipelines at `commit`, with the commit that last changed each unless `lastCommit` is false. */
  async list(
    commit: CommitObject,
    options: { readonly lastCommit: boolean; readonly signal?: AbortSignal | undefined },
  ): Promise<PipelineList> {
    const { signal } = options
    const repo = this.#repo
    const dir = await repo.entryAt(commit.tree, [PIPELINES_DIR], signal)
    if (!dir || !isTreeEntry(dir)) return { revision: commit.oid, pipelines: [], problems: [] }
    const entries = await repo.readTree(dir.oid, signal)
    const problems: PipelineProblem[] = []
    const found = await Promise.all(
      entries.map(async (entry) => {
        const path = `${PIPELINES_DIR}/${entry.name}`
        if (!isTreeEntry(entry)) {
          problems.push({
            name: entry.name,
            path,
            code: 'not_a_pipeline',
            message: `${path} is not a pipeline folder: pipelines live in ${PIPELINES_DIR}/<name>/${PIPELINE_FILE}`,
          })
          return undefined
        }
        try {
          assertPipelineName(entry.name)
        } catch (e) {
          problems.push({ name: entry.name, path, code: 'invalid_name', message: (e as Error).message })
          return undefined
        }
        const file = (await repo.readTree(entry.oid, signal)).find((e) => e.name === PIPELINE_FILE)
        const filePath = `${path}/${PIPELINE_FILE}`
        if (!file || !isBlobEntry(file)) {
          problems.push({
            name: entry.name,
            path: filePath,
            code: 'missing_document',
            message: `${filePath} is missing: add the pipeline's document or remove the folder`,
          })
          return undefined
        }
        const summary = await this.#summary(file.oid, filePath, entry.name, signal)
        if (!summary.ok) {
          problems.push({ name: entry.name, path: filePath, code: summary.code, message: summary.message })
          return undefined
        }
        if (summary.warning) problems.push({ name: entry.name, path: filePath, ...summary.warning })
        return { name: entry.name, folder: entry.oid, blob: file.oid, summary }
      }),
    )
    // Git orders folders as if their names ended in "/", so "a-b" comes before "a": sort by name for callers.
    const listed = found.filter((f) => f !== undefined).sort((x, y) => (x.name < y.name ? -1 : 1))
    const last = options.lastCommit
      ? await this.#lastChanges.at(
          commit.oid,
          new Map(listed.map((f) => [f.name, { folder: f.folder, blob: f.blob }])),
          signal,
        )
      : undefined
    const pipelines = listed.map(({ name, blob, summary: s }): PipelineSummary => {
      const lastCommit = last?.get(name)
      return {
        name,
        ...(s.description === undefined ? {} : { description: s.description }),
        tags: s.tags,
        ...(s.version === undefined ? {} : { schemaVersion: s.version }),
        blob,
        ...(lastCommit ? { lastCommit } : {}),
      }
    })
    problems.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    return { revision: commit.oid, pipelines, problems }
  }

  /** The list fields of one blob, cached by blob id (blobs never change). */
  async #summary(blob: string, path: string, name: string, signal?: AbortSignal): Promise<Summary> {
    const key = `${blob}:${name}`
    const cached = this.#summaries.get(key)
    if (cached) return cached
    const data = await this.#repo.readBlob(blob, signal)
    let summary: Summary
    try {
      const doc = parsePipelineText(data?.toString('utf8') ?? '', path)
      const tags = Array.isArray(doc['tags']) ? doc['tags'].filter((t): t is string => typeof t === 'string') : []
      const description = typeof doc['description'] === 'string' ? doc['description'] : undefined
      const version = typeof doc['schemaVersion'] === 'number' ? doc['schemaVersion'] : undefined
      const mismatch = doc['name'] !== undefined && doc['name'] !== name
      summary = {
        ok: true,
        tags,
        ...(description === undefined ? {} : { description }),
        ...(version === undefined ? {} : { version }),
        ...(mismatch
          ? {
              warning: {
                code: 'name_mismatch',
                message: `${path} has name ${showInput(doc['name'])}, not "${name}": set "name" to the folder's name`,
              },
            }
          : {}),
      }
    } catch (e) {
      const issue = (e as ValidationError).issues?.[0]
      summary = { ok: false, code: issue?.code ?? 'invalid_json', message: (e as Error).message }
    }
    this.#summaries.set(key, summary)
    return summary
  }
}
