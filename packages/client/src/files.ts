// File uploads and downloads: a body that is a file (from a browser File or Blob, or a Node stream) with progress, and
// an answer that is a file's bytes.
import { type ApiError, ApiNetworkError, toApiError } from './errors.ts'

/** What an upload sends: a `File` or `Blob`, bytes, a web `ReadableStream`, or any async iterable of bytes (a Node stream). */
export type UploadBody = Blob | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

/** Upload progress: bytes sent so far, and the total when known. */
export interface UploadProgress {
  readonly loaded: number
  /** The body's size: a Blob's, a Uint8Array's, or the `size` you gave. */
  readonly total?: number | undefined
}

/** Options of an upload besides its route input. */
export interface UploadOptions {
  /** The file. */
  readonly body: UploadBody
  /**
   * The file's content type (`text/csv`, `application/jsonl`, `application/vnd.apache.parquet`); a `File`'s own type
   * by default, else `application/octet-stream` (the server tells the format from the content).
   */
  readonly contentType?: string | undefined
  /** The body's size in bytes, when it is a stream: sent as `Content-Length` and used for progress totals. */
  readonly size?: number | undefined
  /** Called as bytes go out (at most every 64 KiB or so, and once at the end). */
  readonly onProgress?: ((progress: UploadProgress) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

/** What a request needs from the client: the URL, the headers (with credentials), and the fetch to use. */
export interface FileRequest {
  readonly url: string
  readonly headers: Record<string, string>
  readonly fetch: typeof globalThis.fetch
}

function sizeOf(body: UploadBody, size: number | undefined): number | undefined {
  if (size !== undefined) return size
  if (typeof Blob !== 'undefined' && body instanceof Blob) return body.size
  if (body instanceof Uint8Array) return body.byteLength
  return undefined
}

function isReadableStream(body: UploadBody): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream).getReader === 'function'
}

/** The body as a byte stream that reports progress as it is read. */
function countingStream(body: UploadBody, total: number | undefined, onProgress: UploadOptions['onProgress']) {
  const source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> =
    typeof Blob !== 'undefined' && body instanceof Blob
      ? body.stream()
      : body instanceof Uint8Array
        ? (async function* () {
            yield body
          })()
        : (body as ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>)
  const iterator: AsyncIterator<Uint8Array> = isReadableStream(source as UploadBody)
    ? readerIterator(source as ReadableStream<Uint8Array>)
    : (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  let loaded = 0
  let reported = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next()
      if (next.done) {
        onProgress?.({ loaded, total })
        controller.close()
        return
      }
      const chunk = next.value instanceof Uint8Array ? next.value : new Uint8Array(next.value)
      loaded += chunk.byteLength
      if (onProgress && loaded - reported >= 65_536) {
        reported = loaded
        onProgress({ loaded, total })
      }
      controller.enqueue(chunk)
    },
    async cancel(reason) {
      await iterator.return?.(reason)
    },
  })
}

function readerIterator(stream: ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  const reader = stream.getReader()
  return {
    async next() {
      const { done, value } = await reader.read()
      return done ? { done: true, value: undefined } : { done: false, value }
    },
    async return() {
      await reader.cancel()
      return { done: true, value: undefined }
    },
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  return toApiError(response.status, body, response.headers.get('x-request-id') ?? undefined, {
    retryAfter: response.headers.get('retry-after'),
  })
}

/** The part of the browser's XMLHttpRequest an upload uses (declared here: Node has none, and its types no DOM). */
interface Xhr {
  open(method: string, url: string): void
  setRequestHeader(name: string, value: string): void
  getResponseHeader(name: string): string | null
  send(body: Blob): void
  abort(): void
  readonly status: number
  readonly responseText: string
  readonly upload: { onprogress: ((event: { readonly loaded: number }) => void) | null }
  onload: (() => void) | null
  onerror: (() => void) | null
  onabort: (() => void) | null
}

/** The browser's XMLHttpRequest, when there is one. */
function xhrClass(): (new () => Xhr) | undefined {
  return (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest
}

/** Sends a Blob with XMLHttpRequest, the one browser API that reports upload progress over HTTP/1.1. */
function xhrUpload(
  Request: new () => Xhr,
  request: FileRequest,
  body: Blob,
  options: UploadOptions,
  contentType: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new Request()
    xhr.open('POST', request.url)
    for (const [k, v] of Object.entries(request.headers)) xhr.setRequestHeader(k, v)
    xhr.setRequestHeader('content-type', contentType)
    xhr.upload.onprogress = (e) => options.onProgress?.({ loaded: e.loaded, total: body.size })
    xhr.onload = () => {
      let parsed: unknown
      try {
        parsed = JSON.parse(xhr.responseText) as unknown
      } catch {
        parsed = undefined
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.({ loaded: body.size, total: body.size })
        resolve((parsed as { data?: unknown } | undefined)?.data)
      } else {
        reject(toApiError(xhr.status, parsed, xhr.getResponseHeader('x-request-id') ?? undefined))
      }
    }
    xhr.onerror = () => reject(new ApiNetworkError(0, 'INTERNAL', 'no response: the upload failed'))
    xhr.onabort = () => reject(options.signal?.reason ?? new Error('aborted'))
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

/**
 * POSTs a file and answers the `data` of the JSON envelope. In a browser a `File`/`Blob` with `onProgress` goes by
 * XMLHttpRequest (fetch cannot report upload progress there); everything else is streamed with fetch.
 *
 * @throws the {@link ApiError} subclass of the server's error, or {@link ApiNetworkError} when no answer came.
 */
export async function uploadFile(request: FileRequest, options: UploadOptions): Promise<unknown> {
  const { body } = options
  const isBlob = typeof Blob !== 'undefined' && body instanceof Blob
  const contentType = options.contentType || (isBlob && body.type) || 'application/octet-stream'
  const Xhr = xhrClass()
  if (isBlob && options.onProgress && Xhr) return xhrUpload(Xhr, request, body, options, contentType)
  const total = sizeOf(body, options.size)
  const headers: Record<string, string> = { ...request.headers, 'content-type': contentType }
  if (total !== undefined) headers['content-length'] = String(total)
  // A Blob or bytes without progress go as they are; anything else as a stream (`duplex: 'half'`, as fetch requires).
  const direct = !options.onProgress && (isBlob || body instanceof Uint8Array)
  let response: Response
  try {
    response = await request.fetch(request.url, {
      method: 'POST',
      headers,
      body: direct ? (body as RequestInit['body']) : countingStream(body, total, options.onProgress),
      ...(direct ? {} : { duplex: 'half' }),
      ...(options.signal ? { signal: options.signal } : {}),
    } as RequestInit)
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw new ApiNetworkError(0, 'INTERNAL', `no response: ${(error as Error).message}`, undefined, undefined, {
      cause: error,
    })
  }
  if (!response.ok) throw await errorOf(response)
  return ((await response.json()) as { data?: unknown }).data
}

/**
 * GETs a file: the `Response` itself (read its `body` as a stream, or `arrayBuffer()`/`blob()`), `200` for the whole
 * file or `206` for a range.
 *
 * @throws the {@link ApiError} subclass of the server's error, or {@link ApiNetworkError} when no answer came.
 */
export async function downloadFile(request: FileRequest, signal?: AbortSignal): Promise<Response> {
  let response: Response
  try {
    response = await request.fetch(request.url, { headers: request.headers, ...(signal ? { signal } : {}) })
  } catch (error) {
    if (signal?.aborted) throw error
    throw new ApiNetworkError(0, 'INTERNAL', `no response: ${(error as Error).message}`, undefined, undefined, {
      cause: error,
    })
  }
  if (!response.ok) throw await errorOf(response)
  return response
}
