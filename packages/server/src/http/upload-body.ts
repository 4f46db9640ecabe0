// The body of a file upload: the bytes as they arrive, sent as they are or as the `file` part of a multipart form.
import { Readable } from 'node:stream'
import { StudioError } from '@sparkle-studio/core'
import busboy from 'busboy'
import type { ArtifactContent } from '../artifacts/service.ts'
import type { StudioRequest } from './handler.ts'

/** The form fields an upload form may carry besides its file (each also a query parameter of the route). */
const FORM_FIELDS = new Set(['name', 'description', 'format', 'header'])

/**
 * The file of an upload request, streamed: the body itself, or the `file` part of a `multipart/form-data` form (parsed
 * by busboy; the fields before the file part are read as the route's query parameters, a query parameter winning).
 *
 * @throws `BAD_REQUEST` for a body a framework already parsed, a form without a file part, or a form that is not one.
 */
export async function uploadContent(request: StudioRequest): Promise<ArtifactContent> {
  const body = request.body
  if (body.kind !== 'bytes') {
    throw new StudioError(
      'BAD_REQUEST',
      'The upload was read by a body parser in front of the API: mount the API before express.json() or others',
    )
  }
  const contentType = request.header('content-type')
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase()
  const length = Number(request.header('content-length'))
  const source = kept(body.stream())
  if (type !== 'multipart/form-data') {
    return {
      stream: source,
      ...(contentType ? { contentType } : {}),
      ...(Number.isSafeInteger(length) && length >= 0 ? { declaredSize: length } : {}),
    }
  }
  return formFile(request, source, contentType ?? '')
}

/**
 * The body's bytes, without what stopping early would do to a request stream: a refused upload stops reading, and
 * the request must stay open for the answer (the adapter's server reads and drops the rest) instead of being
 * destroyed with its socket.
 */
function kept(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]()
      return {
        next: () => iterator.next(),
        return: async () => ({ done: true as const, value: undefined }),
      }
    },
  }
}

function formFile(
  request: StudioRequest,
  source: AsyncIterable<Uint8Array>,
  contentType: string,
): Promise<ArtifactContent> {
  let parser: busboy.Busboy
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      // The file name as sent: one with a path in it is refused (as in ?name=), not silently cut to its last part.
      preservePath: true,
      // Browsers send UTF-8 names as they are.
      defParamCharset: 'utf8',
      limits: { files: 1, fields: 10, fieldSize: 4096, parts: 12, headerPairs: 20 },
    })
  } catch (error) {
    throw new StudioError('BAD_REQUEST', `The form cannot be read: ${(error as Error).message}`)
  }
  const input = Readable.from(source, { objectMode: false })
  return new Promise<ArtifactContent>((resolve, reject) => {
    const fields: Record<string, string> = {}
    let settled = false
    const fail = (error: StudioError) => {
      if (settled) return
      settled = true
      input.destroy()
      reject(error)
    }
    parser.on('field', (name, value) => {
      if (FORM_FIELDS.has(name)) fields[name] = value
    })
    parser.on('file', (name, file, info) => {
      if (name !== 'file' || settled) {
        file.resume()
        return
      }
      settled = true
      resolve({
        stream: file,
        ...(info.mimeType ? { contentType: info.mimeType } : {}),
        ...(info.filename ? { filename: info.filename } : {}),
        fields,
      })
    })
    parser.on('error', (error: Error) =>
      fail(new StudioError('BAD_REQUEST', `The form cannot be read: ${error.message}`)),
    )
    parser.on('close', () => fail(new StudioError('BAD_REQUEST', 'The form has no "file" part')))
    input.on('error', (error) => fail(new StudioError('BAD_REQUEST', `The upload broke off: ${error.message}`)))
    request.signal.addEventListener('abort', () => input.destroy(), { once: true })
    input.pipe(parser)
  })
}
