import { artifactRefs } from '@sparkle-studio/core'
import type { ArtifactRecord } from '../artifacts/records.ts'
import type { StudioParts } from '../parts.ts'
import type { UseCases } from './types.ts'

type ArtifactCases = Pick<
  UseCases,
  'uploadArtifact' | 'listArtifacts' | 'getArtifact' | 'artifactSample' | 'downloadArtifact' | 'deleteArtifact'
>

/** An artifact as the API shows it: its facts and columns, never where the storage keeps it. */
export function artifactDto(record: ArtifactRecord) {
  return {
    id: record.id,
    name: record.name,
    ...(record.description !== undefined ? { description: record.description } : {}),
    format: record.format,
    contentType: record.contentType,
    size: record.size,
    sha256: record.sha256,
    rowCount: record.rowCount,
    ...(record.columns ? { schema: [...record.columns] } : {}),
    inspection: { ...record.inspection },
    ref: { $artifact: record.id },
    createdBy: record.createdBy,
    createdAt: record.createdAt,
  }
}

/**
 * The pipelines on the store's branch that reference an artifact; each document's references are remembered by its
 * blob id, so a second call reads only the pipelines that changed.
 */
function artifactUsers(parts: Pick<StudioParts, 'pipelines'>) {
  const refsByBlob = new Map<string, ReadonlySet<string>>()
  return async (id: string): Promise<string[]> => {
    const list = await parts.pipelines.list({ lastCommit: false })
    const users: string[] = []
    const live = new Set<string>()
    for (const p of list.pipelines) {
      live.add(p.blob)
      let ids = refsByBlob.get(p.blob)
      if (!ids) {
        const stored = await parts.pipelines.get(p.name, list.revision ? { ref: list.revision } : {})
        ids = new Set(artifactRefs(stored.document).map((r) => r.id))
        refsByBlob.set(p.blob, ids)
      }
      if (ids.has(id)) users.push(p.name)
    }
    for (const blob of refsByBlob.keys()) if (!live.has(blob)) refsByBlob.delete(blob)
    return users.sort()
  }
}

/** Data artifacts: upload, list, detail (with Spark's columns), sample, download, delete. */
export function artifactUseCases(parts: Pick<StudioParts, 'artifacts' | 'pipelines'>): ArtifactCases {
  const { artifacts } = parts
  const usedBy = artifactUsers(parts)
  return {
    uploadArtifact: async ({ query, body }, { principal, signal }) =>
      artifactDto(
        await artifacts.upload(body, {
          name: query.name,
          description: query.description,
          format: query.format,
          header: query.header,
          createdBy: principal.id,
          signal,
        }),
      ),
    listArtifacts: async ({ query }) => {
      const page = await artifacts.list(query)
      return { items: page.items.map(artifactDto), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
    },
    getArtifact: async ({ params }, { signal }) => artifactDto(await artifacts.inspected(params.id, signal)),
    artifactSample: async ({ params, query }, { signal }) => artifacts.sample(params.id, query.limit ?? 100, signal),
    downloadArtifact: async ({ params, headers }) => artifacts.download(params.id, headers.range),
    deleteArtifact: async ({ params }) => artifactDto(await artifacts.delete(params.id, usedBy)),
  }
}
