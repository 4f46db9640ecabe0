// The OpenAPI document as outside tools read it: generated from core's contract and written to a file.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateOpenApi, type OpenApiDocument } from '@sparkle-studio/core/contract'

/** An operation of the document: its path, method (lower case) and the operation object. */
export interface Operation {
  readonly path: string
  readonly method: string
  readonly op: Record<string, unknown>
}

/** Writes the document with `servers` into `dir` as `openapi.json` and returns its path and the document. */
export async function writeDocument(
  dir: string,
  servers: readonly string[] = ['http://127.0.0.1:3000'],
): Promise<{ file: string; doc: OpenApiDocument }> {
  const doc = generateOpenApi({ servers })
  const file = join(dir, 'openapi.json')
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`)
  return { file, doc }
}

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const paths = doc['paths'] as Record<string, Record<string, Record<string, unknown>>>
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  )
}
