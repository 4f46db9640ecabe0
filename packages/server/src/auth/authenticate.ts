// The authenticator chain: the host's own sessions first, then the bearer token as an API key or a JWT.
import type { Authenticate, AuthRequest } from '../principal.ts'
import { type ApiKeys, looksLikeApiKey } from './keys.ts'

/** The bearer token of a request, or `undefined`. */
export function bearerToken(request: Pick<AuthRequest, 'header'>): string | undefined {
  const header = request.header('authorization')
  const m = header ? /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header) : null
  return m?.[1]
}

/** One authenticator from the host's (tried first), the API keys and, when configured, JWTs. */
export function bearerAuthenticator(parts: {
  readonly host?: Authenticate | undefined
  readonly keys: ApiKeys
  readonly jwt?: Authenticate | undefined
}): Authenticate {
  return async (request) => {
    const fromHost = parts.host ? await parts.host(request) : null
    if (fromHost) return fromHost
    const token = bearerToken(request)
    if (!token) return null
    if (looksLikeApiKey(token)) return parts.keys.verify(token)
    return parts.jwt ? parts.jwt(request) : null
  }
}
