import { isStudioError, StudioError } from '@sparkle-studio/core'
import ky, { HTTPError, type KyInstance } from 'ky'

/** Options of {@link createStudioClient}. */
export interface StudioClientOptions {
  /** The server's base URL, e.g. `http://localhost:3000`. Routes are under `/api/v1`. */
  readonly baseUrl: string
  /**
   * The fetch implementation (a test double, an instrumented fetch, undici).
   * @default globalThis.fetch
   */
  readonly fetch?: typeof globalThis.fetch | undefined
  /** Headers sent with every request (for example `authorization`). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** The server's health report. */
export interface HealthReport {
  /** SDK version of the server. */
  readonly version: string
  /** Whether each dependency of the server answers. */
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>
}

/** A typed client for the Sparkle Studio HTTP API. */
export interface StudioClient {
  /** `GET /api/v1/health`. */
  health(options?: { readonly signal?: AbortSignal | undefined }): Promise<HealthReport>
}

/** An error answered by the API, rebuilt from its `{ success: false, error }` envelope. */
export class ApiError extends StudioError {
  override name = 'ApiError'
  /** The HTTP status of the response. */
  readonly status: number

  constructor(status: number, code: StudioError['code'], message: string, details?: unknown) {
    super(code, message, details)
    this.status = status
  }
}

/**
 * Creates a client for a Sparkle Studio server. Works in browsers and Node (any global `fetch`).
 *
 * @example
 * ```ts
 * import { createStudioClient } from '@sparkle-studio/client'
 *
 * const client = createStudioClient({ baseUrl: 'http://localhost:3000' })
 * const health = await client.health()
 * ```
 */
export function createStudioClient(options: StudioClientOptions): StudioClient {
  const http: KyInstance = ky.create({
    prefix: `${options.baseUrl.replace(/\/$/, '')}/api/v1/`,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  })
  return {
    async health(opts) {
      return unwrap<HealthReport>(() => http.get('health', opts?.signal ? { signal: opts.signal } : {}).json())
    },
  }
}

async function unwrap<T>(call: () => Promise<unknown>): Promise<T> {
  try {
    const body = (await call()) as { success?: boolean; data?: unknown }
    return body.data as T
  } catch (error) {
    if (error instanceof HTTPError) {
      // ky has already read and parsed the body into `data`.
      const body = error.data as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined
      const e = body?.error
      const candidate = { name: 'StudioError', code: e?.code, message: e?.message }
      if (isStudioError(candidate)) {
        throw new ApiError(error.response.status, candidate.code, candidate.message, e?.details)
      }
      throw new ApiError(error.response.status, 'INTERNAL', `HTTP ${error.response.status} without an error envelope`)
    }
    throw error
  }
}
