// OpenLineage from the environment: where the studio sends lineage events, and the receiver's API key.
import { StudioError } from '@sparkle-studio/core'
import type { OpenLineageOptions } from '@sparkle-studio/server'

/**
 * `SPARKLE_OPENLINEAGE_URL` (an http(s) URL, e.g. Marquez's `http://marquez:5000/api/v1/lineage`),
 * `SPARKLE_OPENLINEAGE_API_KEY` (sent as a bearer token; a secret) and `SPARKLE_OPENLINEAGE_NAMESPACE`
 * (`sparkle-studio` by default). `undefined` (OpenLineage off) without a URL.
 * @throws StudioError `BAD_REQUEST` for a URL that is not http(s) or holds credentials, or a key without a URL.
 */
export function openLineageFromEnv(env: Readonly<Record<string, string | undefined>>): OpenLineageOptions | undefined {
  const url = env['SPARKLE_OPENLINEAGE_URL']?.trim() || undefined
  const apiKey = env['SPARKLE_OPENLINEAGE_API_KEY'] || undefined
  const namespace = env['SPARKLE_OPENLINEAGE_NAMESPACE']?.trim() || undefined
  if (url === undefined) {
    if (apiKey !== undefined || namespace !== undefined) {
      throw new StudioError('BAD_REQUEST', 'SPARKLE_OPENLINEAGE_API_KEY and _NAMESPACE need SPARKLE_OPENLINEAGE_URL')
    }
    return undefined
  }
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.password) {
    // The value is not echoed: it may hold a token.
    throw new StudioError(
      'BAD_REQUEST',
      'SPARKLE_OPENLINEAGE_URL must be an http(s) URL without credentials (give the key in SPARKLE_OPENLINEAGE_API_KEY)',
    )
  }
  return { url, ...(apiKey ? { apiKey } : {}), ...(namespace ? { namespace } : {}) }
}
