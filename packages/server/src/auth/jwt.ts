import { createPublicKey, KeyObject, type webcrypto } from 'node:crypto'
import { StudioError } from '@sparkle-studio/core'
import type { Role } from '@sparkle-studio/core/contract'
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { type Authenticate, type AuthRequest, type Principal, ROLES } from '../principal.ts'

/**
 * The signature algorithms a {@link createJwtAuthenticator} may accept: asymmetric ones only, so a token can never
 * be signed with a shared secret (`HS*`) or not at all (`none`).
 *
 * @example
 * ```ts
 * import type { JwtAlgorithm } from '@sparkle-studio/server'
 *
 * const algorithms: JwtAlgorithm[] = ['RS256', 'ES256']
 * ```
 */
export type JwtAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'

const ALGORITHMS: ReadonlySet<string> = new Set<JwtAlgorithm>([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
])

/**
 * Why a bearer token that looked like a JWT was refused, as {@link JwtAuthenticatorOptions.onReject} gets it.
 * Never carries anything from the token itself.
 *
 * @example
 * ```ts
 * import type { JwtRejectReason } from '@sparkle-studio/server'
 *
 * const onReject = (reason: JwtRejectReason) => console.warn(`JWT refused: ${reason}`)
 * ```
 */
export type JwtRejectReason =
  | 'malformed'
  | 'alg-not-allowed'
  | 'bad-signature'
  | 'unknown-key'
  | 'jwks-unavailable'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'missing-exp'
  | 'invalid-claims'
  | 'missing-sub'
  | 'no-role'

/**
 * Options of {@link createJwtAuthenticator}. Give exactly one key source (`jwksUrl` or `publicKey`); the issuer,
 * the audience and the algorithms are pinned, never read from the token.
 *
 * @example
 * ```ts
 * import type { JwtAuthenticatorOptions } from '@sparkle-studio/server'
 *
 * const options: JwtAuthenticatorOptions = {
 *   jwksUrl: 'https://login.example.com/realms/studio/protocol/openid-connect/certs',
 *   issuer: 'https://login.example.com/realms/studio',
 *   audience: 'sparkle-studio',
 *   algorithms: ['RS256'],
 *   roleClaim: 'realm_access.roles',
 *   roleMap: { 'studio-admins': 'admin', 'studio-editors': 'editor', 'studio-viewers': 'viewer' },
 * }
 * ```
 */
export interface JwtAuthenticatorOptions {
  /**
   * The identity provider's JSON Web Key Set, fetched when first needed and cached. Must be `https:` (plain `http:`
   * only for a loopback host), since whoever can change these keys can sign tokens.
   */
  readonly jwksUrl?: string | URL | undefined
  /** How long one JWKS fetch may take, in milliseconds. @default 5000 */
  readonly jwksTimeoutMs?: number | undefined
  /** The least time between two JWKS fetches caused by a token with an unknown key, in milliseconds. @default 30000 */
  readonly jwksCooldownMs?: number | undefined
  /** How long fetched keys are trusted before the set is fetched again, in milliseconds. @default 600000 */
  readonly jwksCacheMaxAgeMs?: number | undefined
  /** Instead of `jwksUrl`: the one public key that signs tokens, as a PEM (SPKI) string, a `KeyObject` or a `CryptoKey`. */
  readonly publicKey?: string | KeyObject | webcrypto.CryptoKey | undefined
  /** The only accepted `iss` claim. */
  readonly issuer: string
  /** The accepted `aud` value (or values); a token must name one of them. */
  readonly audience: string | readonly string[]
  /** The accepted signature algorithms; non-empty, asymmetric only. */
  readonly algorithms: readonly JwtAlgorithm[]
  /** Leeway for `exp` and `nbf`, in seconds, for clocks that disagree a little. @default 30 */
  readonly clockToleranceS?: number | undefined
  /**
   * The claim holding the role: a claim name, or a dotted path into nested objects (`realm_access.roles`). A claim
   * that is an array gives the most powerful role it holds.
   * @default 'role'
   */
  readonly roleClaim?: string | undefined
  /**
   * Maps claim values to roles (`{ 'sparkle-admins': 'admin' }`). When given, only its keys count: a claim value
   * `admin` is not a role unless the map says so, so group names at the provider cannot grant roles by accident.
   * Without it, the claim must hold role names (`viewer`, `editor`, `admin`).
   */
  readonly roleMap?: Readonly<Record<string, Role>> | undefined
  /** Called with the reason when a token that looked like a JWT is refused; for logs and metrics. */
  readonly onReject?: ((reason: JwtRejectReason) => void) | undefined
}

/** Longer bearer values are not tokens we verify. */
const MAX_TOKEN_LENGTH = 16 * 1024
const BEARER = /^Bearer +(\S+) *$/i
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * An {@link Authenticate} that accepts `Authorization: Bearer <JWT>` signed by an identity provider (OIDC access or ID
 * tokens from Keycloak, Auth0, Entra ID, ...). The principal's role comes from a claim; a token without a valid role
 * is anonymous, never a default role. Every refused token answers `null` (never a throw), and a bearer value that is
 * not a JWT (an API key such as `sk_live_…`) answers `null` at once, so another authenticator can be tried after it.
 *
 * @throws StudioError `BAD_REQUEST` when the options are invalid: no key source or both, a missing issuer or audience,
 *   an empty or non-asymmetric algorithm list, a public key that does not fit the algorithms, an unknown role in
 *   `roleMap`.
 *
 * @example
 * ```ts
 * import { createJwtAuthenticator, createStudio } from '@sparkle-studio/server'
 *
 * const authenticate = createJwtAuthenticator({
 *   jwksUrl: 'https://login.example.com/.well-known/jwks.json',
 *   issuer: 'https://login.example.com/',
 *   audience: 'sparkle-studio',
 *   algorithms: ['RS256'],
 *   roleClaim: 'https://studio.example.com/roles',
 *   roleMap: { 'data-admins': 'admin', 'data-engineers': 'editor' },
 *   onReject: (reason) => console.warn(`JWT refused: ${reason}`),
 * })
 * const studio = await createStudio({ dataDir: '.data', authenticate })
 * ```
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticate {
  const algorithms = checkAlgorithms(options.algorithms)
  const key = keySource(options, algorithms)
  const issuer = nonEmpty(options.issuer, 'issuer')
  const audience =
    typeof options.audience === 'string'
      ? nonEmpty(options.audience, 'audience')
      : Array.isArray(options.audience) && options.audience.length > 0
        ? options.audience.map((a: unknown) => nonEmpty(a, 'audience'))
        : bad('audience must be a non-empty string or list of strings')
  const clockTolerance = options.clockToleranceS ?? 30
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) bad('clockToleranceS must be a number >= 0')
  const roleClaim = nonEmpty(options.roleClaim ?? 'role', 'roleClaim')
  const roleMap = checkRoleMap(options.roleMap)
  const verifyOptions = Object.freeze({ issuer, audience, algorithms, clockTolerance, requiredClaims: ['exp'] })

  const reject = (reason: JwtRejectReason): null => {
    try {
      options.onReject?.(reason)
    } catch {
      // A failing log hook must not turn a refusal into a server error.
    }
    return null
  }

  return async (request: AuthRequest): Promise<Principal | null> => {
    const token = bearerToken(request)
    if (token === undefined || !COMPACT_JWS.test(token)) return null
    if (token.length > MAX_TOKEN_LENGTH) return reject('malformed')
    let alg: unknown
    try {
      alg = decodeProtectedHeader(token).alg
    } catch {
      return reject('malformed')
    }
    // Checked before jose too, so a forged header never costs a JWKS fetch.
    if (typeof alg !== 'string' || !algorithms.includes(alg)) return reject('alg-not-allowed')
    let payload: JWTPayload
    try {
      const verified =
        typeof key === 'function'
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, key, verifyOptions)
      payload = verified.payload
    } catch (error) {
      return reject(reasonOf(error))
    }
    const sub = payload.sub
    if (typeof sub !== 'string' || sub === '') return reject('missing-sub')
    const role = roleOf(claimAt(payload, roleClaim), roleMap)
    if (role === undefined) return reject('no-role')
    const name = firstString(payload['name'], payload['preferred_username']) ?? sub
    const email = typeof payload['email'] === 'string' ? payload['email'] : undefined
    return Object.freeze(
      email === undefined ? { id: sub, name, role, via: 'jwt' } : { id: sub, name, email, role, via: 'jwt' },
    )
  }
}

class JwksUnavailable extends Error {
  readonly code = 'ERR_JWKS_UNAVAILABLE'
}

function bad(message: string): never {
  throw new StudioError('BAD_REQUEST', `Invalid JWT authenticator options: ${message}`)
}

function nonEmpty(value: unknown, name: string): string {
  return typeof value === 'string' && value.trim() !== '' ? value : bad(`${name} must be a non-empty string`)
}

function checkAlgorithms(algorithms: readonly string[] | undefined): string[] {
  if (!Array.isArray(algorithms) || algorithms.length === 0) bad('algorithms must list at least one algorithm')
  const refused = algorithms.filter((a) => !ALGORITHMS.has(a))
  if (refused.length > 0) {
    bad(`algorithms ${refused.join(', ')} not accepted; use asymmetric ones (${[...ALGORITHMS].join(', ')})`)
  }
  return [...new Set(algorithms)]
}

function checkRoleMap(roleMap: Readonly<Record<string, Role>> | undefined): ReadonlyMap<string, Role> | undefined {
  if (roleMap === undefined) return undefined
  const entries = Object.entries(roleMap)
  const unknown = entries.filter(([, role]) => !ROLES.includes(role)).map(([value]) => value)
  if (unknown.length > 0) bad(`roleMap maps ${unknown.join(', ')} to an unknown role (use ${ROLES.join(', ')})`)
  return new Map(entries)
}

function keySource(options: JwtAuthenticatorOptions, algorithms: readonly string[]): KeyObject | JWTVerifyGetKey {
  const { jwksUrl, publicKey } = options
  if ((jwksUrl === undefined) === (publicKey === undefined)) bad('give exactly one of jwksUrl and publicKey')
  if (jwksUrl !== undefined) {
    let url: URL
    try {
      url = new URL(jwksUrl)
    } catch {
      return bad('jwksUrl is not a URL')
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
      bad('jwksUrl must use https: (http: only on a loopback host)')
    }
    const remote: Parameters<typeof createRemoteJWKSet>[1] = {}
    if (options.jwksTimeoutMs !== undefined) remote.timeoutDuration = options.jwksTimeoutMs
    if (options.jwksCooldownMs !== undefined) remote.cooldownDuration = options.jwksCooldownMs
    if (options.jwksCacheMaxAgeMs !== undefined) remote.cacheMaxAge = options.jwksCacheMaxAgeMs
    let jwks: JWTVerifyGetKey
    try {
      jwks = createRemoteJWKSet(url, remote)
    } catch (cause) {
      throw new StudioError('BAD_REQUEST', `Invalid JWT authenticator options: ${String(cause)}`, undefined, { cause })
    }
    // Tells a provider that cannot be reached (a plain error from fetch, a non-200) from a token without a key.
    return async (header, token) => {
      try {
        return await jwks(header, token)
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code
        if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error
        throw new JwksUnavailable()
      }
    }
  }
  const key = toKeyObject(publicKey)
  const misfits = algorithms.filter((alg) => !fits(key, alg))
  if (misfits.length > 0) bad(`publicKey (${describe(key)}) cannot verify ${misfits.join(', ')}`)
  return key
}

function toKeyObject(publicKey: string | KeyObject | webcrypto.CryptoKey | undefined): KeyObject {
  let key: KeyObject
  try {
    if (typeof publicKey === 'string') {
      if (!publicKey.includes('-----BEGIN PUBLIC KEY-----')) bad('publicKey must be a PEM "PUBLIC KEY" (SPKI)')
      key = createPublicKey({ key: publicKey, format: 'pem' })
    } else if (publicKey instanceof KeyObject) {
      key = publicKey
    } else {
      key = KeyObject.from(publicKey as webcrypto.CryptoKey)
    }
  } catch (error) {
    if (error instanceof StudioError) throw error
    throw new StudioError('BAD_REQUEST', 'Invalid JWT authenticator options: publicKey cannot be read', undefined, {
      cause: error,
    })
  }
  if (key.type !== 'public') bad(`publicKey must be a public key, not a ${key.type} key`)
  return key
}

const CURVES: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }

function fits(key: KeyObject, alg: string): boolean {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return /^(RS|PS)(256|384|512)$/.test(alg)
    case 'rsa-pss':
      return /^PS(256|384|512)$/.test(alg)
    case 'ec':
      return CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] === alg
    case 'ed25519':
      return alg === 'EdDSA' || alg === 'Ed25519'
    default:
      return false
  }
}

function describe(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve
  return curve === undefined ? String(key.asymmetricKeyType) : `${key.asymmetricKeyType} ${curve}`
}

function bearerToken(request: AuthRequest): string | undefined {
  const header = request.header('authorization')
  if (header === undefined) return undefined
  return BEARER.exec(header)?.[1]
}

function reasonOf(error: unknown): JwtRejectReason {
  const { code, claim, reason } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown
    claim?: unknown
    reason?: unknown
  }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'exp' && reason === 'missing') return 'missing-exp'
      if (claim === 'nbf') return 'not-yet-valid'
      if (claim === 'iss') return 'wrong-issuer'
      if (claim === 'aud') return 'wrong-audience'
      return 'invalid-claims'
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'alg-not-allowed'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'bad-signature'
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'unknown-key'
    case 'ERR_JWKS_UNAVAILABLE':
      return 'jwks-unavailable'
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed'
    default:
      return 'malformed'
  }
}

/** The claim named `path` itself when the payload has it (names may contain dots), else the dotted path into it. */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path]
  let value: unknown = payload
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return undefined
    }
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

function roleOf(claim: unknown, roleMap: ReadonlyMap<string, Role> | undefined): Role | undefined {
  let best: Role | undefined
  for (const value of Array.isArray(claim) ? claim : [claim]) {
    if (typeof value !== 'string') continue
    const role = roleMap === undefined ? ROLES.find((r) => r === value) : roleMap.get(value)
    if (role !== undefined && (best === undefined || ROLES.indexOf(role) > ROLES.indexOf(best))) best = role
  }
  return best
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && v !== '')
}
