// The JWT authenticator against real keys: RS256 and ES256 pairs made by jose, a JWKS served over node:http on
// 127.0.0.1, tokens signed here. Every refusal is `null` with a reason for the log hook, never a throw.
import { createPublicKey } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isStudioError } from '@sparkle-studio/core'
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createJwtAuthenticator,
  type JwtAlgorithm,
  type JwtAuthenticatorOptions,
  type JwtRejectReason,
} from '../src/auth/jwt.ts'
import type { AuthRequest } from '../src/principal.ts'

const ISSUER = 'https://login.example.test/realms/studio'
const AUDIENCE = 'sparkle-studio'

interface Pair {
  readonly publicKey: CryptoKey
  readonly privateKey: CryptoKey
}

let rsa: Pair
let ec: Pair
let rogue: Pair
let server: Server
let jwksUrl: string
let jwksRequests = 0

const now = () => Math.floor(Date.now() / 1000)

function request(authorization?: string): AuthRequest {
  return {
    method: 'GET',
    path: '/api/v1/runs',
    header: (name) => (name === 'authorization' ? authorization : undefined),
  }
}

const bearer = (token: string) => request(`Bearer ${token}`)

/** Claims a valid token carries; an override of `undefined` drops the claim. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const t = now()
  const all: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    name: 'Ada Lovelace',
    email: 'ada@example.test',
    role: 'editor',
    iat: t,
    exp: t + 300,
    ...overrides,
  }
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined))
}

async function sign(
  overrides: Record<string, unknown> = {},
  {
    key = rsa.privateKey,
    alg = 'RS256',
    kid = 'rsa-1',
  }: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string } = {},
): Promise<string> {
  return new SignJWT(claims(overrides)).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key)
}

/** An authenticator on the test JWKS, collecting the reasons it refuses tokens. */
function jwt(options: Partial<JwtAuthenticatorOptions> = {}) {
  const reasons: JwtRejectReason[] = []
  const authenticate = createJwtAuthenticator({
    jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256', 'ES256'],
    onReject: (reason) => reasons.push(reason),
    ...options,
  })
  return { authenticate, reasons }
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function creationError(options: Partial<JwtAuthenticatorOptions>): unknown {
  try {
    createJwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], ...options })
  } catch (error) {
    return error
  }
  return undefined
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256')
  ec = await generateKeyPair('ES256')
  rogue = await generateKeyPair('RS256')
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ]
  server = createServer((req, res) => {
    jwksRequests++
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }))
    } else {
      res.writeHead(500).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('createJwtAuthenticator with a JWKS', () => {
  it('accepts a valid RS256 token and takes the role from the claim', async () => {
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer(await sign()))).toEqual({
      id: 'user-1',
      name: 'Ada Lovelace',
      email: 'ada@example.test',
      role: 'editor',
      via: 'jwt',
    })
    expect(reasons).toEqual([])
  })

  it('accepts a valid ES256 token; the name falls back to preferred_username, then sub', async () => {
    const { authenticate } = jwt()
    const es = { key: ec.privateKey, alg: 'ES256', kid: 'ec-1' }
    const p1 = await authenticate(bearer(await sign({ name: undefined, preferred_username: 'ada', role: 'admin' }, es)))
    expect(p1).toEqual({ id: 'user-1', name: 'ada', email: 'ada@example.test', role: 'admin', via: 'jwt' })
    const p2 = await authenticate(bearer(await sign({ name: undefined, email: 42, role: 'viewer' }, es)))
    expect(p2).toEqual({ id: 'user-1', name: 'user-1', role: 'viewer', via: 'jwt' })
    expect(p2).not.toHaveProperty('email')
  })

  it('reads the header case-insensitively and ignores other schemes', async () => {
    const { authenticate } = jwt()
    const token = await sign()
    expect((await authenticate(request(`bearer ${token}`)))?.role).toBe('editor')
    expect(await authenticate(request(`Basic ${token}`))).toBeNull()
    expect(await authenticate(request())).toBeNull()
  })

  it('maps claim values through roleMap, and then only mapped values count', async () => {
    const { authenticate, reasons } = jwt({ roleClaim: 'groups', roleMap: { 'sparkle-admins': 'admin' } })
    expect((await authenticate(bearer(await sign({ groups: 'sparkle-admins' }))))?.role).toBe('admin')
    expect(await authenticate(bearer(await sign({ groups: 'admin' })))).toBeNull()
    expect(reasons).toEqual(['no-role'])
  })

  it('picks the most powerful known role from an array claim', async () => {
    const { authenticate } = jwt()
    const token = await sign({ role: ['viewer', 'superuser', 7, 'editor'] })
    expect((await authenticate(bearer(token)))?.role).toBe('editor')
  })

  it('follows a dotted claim path, and prefers a claim whose name has dots', async () => {
    const dotted = jwt({
      roleClaim: 'realm_access.roles',
      roleMap: { 'studio-viewers': 'viewer', 'studio-admins': 'admin' },
    })
    const token = await sign({ role: undefined, realm_access: { roles: ['offline_access', 'studio-admins'] } })
    expect((await dotted.authenticate(bearer(token)))?.role).toBe('admin')

    const namespaced = jwt({ roleClaim: 'https://studio.example.test/role' })
    const t2 = await sign({ role: undefined, 'https://studio.example.test/role': 'viewer' })
    expect((await namespaced.authenticate(bearer(t2)))?.role).toBe('viewer')
  })

  it('refuses an unknown role value or no role claim: never a default role', async () => {
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer(await sign({ role: 'superuser' })))).toBeNull()
    expect(await authenticate(bearer(await sign({ role: undefined })))).toBeNull()
    expect(await authenticate(bearer(await sign({ role: { admin: true } })))).toBeNull()
    expect(reasons).toEqual(['no-role', 'no-role', 'no-role'])
  })

  it('refuses a token without sub', async () => {
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer(await sign({ sub: undefined })))).toBeNull()
    expect(await authenticate(bearer(await sign({ sub: '' })))).toBeNull()
    expect(reasons).toEqual(['missing-sub', 'missing-sub'])
  })

  it('refuses an expired token, a token not yet valid, and a token without exp', async () => {
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer(await sign({ iat: now() - 600, exp: now() - 120 })))).toBeNull()
    expect(await authenticate(bearer(await sign({ nbf: now() + 120 })))).toBeNull()
    expect(await authenticate(bearer(await sign({ exp: undefined })))).toBeNull()
    expect(reasons).toEqual(['expired', 'not-yet-valid', 'missing-exp'])
  })

  it('honours the clock tolerance (30 s by default)', async () => {
    const late = await sign({ iat: now() - 600, exp: now() - 20 })
    const early = await sign({ nbf: now() + 20 })
    const lenient = jwt()
    expect((await lenient.authenticate(bearer(late)))?.id).toBe('user-1')
    expect((await lenient.authenticate(bearer(early)))?.id).toBe('user-1')
    const strict = jwt({ clockToleranceS: 0 })
    expect(await strict.authenticate(bearer(late))).toBeNull()
    expect(await strict.authenticate(bearer(early))).toBeNull()
    expect(strict.reasons).toEqual(['expired', 'not-yet-valid'])
    const wide = jwt({ clockToleranceS: 300 })
    expect((await wide.authenticate(bearer(await sign({ iat: now() - 600, exp: now() - 120 }))))?.id).toBe('user-1')
  })

  it('refuses a wrong audience and a wrong issuer', async () => {
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer(await sign({ aud: 'another-api' })))).toBeNull()
    expect(await authenticate(bearer(await sign({ aud: undefined })))).toBeNull()
    expect(await authenticate(bearer(await sign({ iss: 'https://evil.example.test/' })))).toBeNull()
    expect(reasons).toEqual(['wrong-audience', 'wrong-audience', 'wrong-issuer'])
    const either = jwt({ audience: ['another-api', AUDIENCE] })
    expect((await either.authenticate(bearer(await sign({ aud: ['x', AUDIENCE] }))))?.id).toBe('user-1')
  })

  it('refuses an unsigned alg:none token without fetching the JWKS', async () => {
    const { authenticate, reasons } = jwt()
    const before = jwksRequests
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims({ role: 'admin' }))}.`
    expect(await authenticate(bearer(unsigned))).toBeNull()
    expect(reasons).toEqual(['alg-not-allowed'])
    expect(jwksRequests).toBe(before)
  })

  it('refuses HS256 signed with the RSA public key PEM as the HMAC secret', async () => {
    const pem = await exportSPKI(rsa.publicKey)
    const forged = await sign({ role: 'admin' }, { key: new TextEncoder().encode(pem), alg: 'HS256' })
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer(forged))).toBeNull()
    const pinned = jwt({ jwksUrl: undefined, publicKey: pem, algorithms: ['RS256'] })
    expect(await pinned.authenticate(bearer(forged))).toBeNull()
    expect([...reasons, ...pinned.reasons]).toEqual(['alg-not-allowed', 'alg-not-allowed'])
  })

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const { authenticate, reasons } = jwt()
    expect(
      await authenticate(bearer(await sign({ role: 'admin' }, { key: rogue.privateKey, kid: 'rsa-1' }))),
    ).toBeNull()
    expect(
      await authenticate(bearer(await sign({ role: 'admin' }, { key: rogue.privateKey, kid: 'rogue' }))),
    ).toBeNull()
    expect(reasons).toEqual(['bad-signature', 'unknown-key'])
  })

  it('refuses a tampered payload', async () => {
    const { authenticate, reasons } = jwt()
    const [header, , signature] = (await sign({ role: 'viewer' })).split('.')
    expect(await authenticate(bearer(`${header}.${b64url(claims({ role: 'admin' }))}.${signature}`))).toBeNull()
    expect(reasons).toEqual(['bad-signature'])
  })

  it('answers null at once for an API key, without a JWKS fetch or a rejection', async () => {
    const { authenticate, reasons } = jwt()
    const before = jwksRequests
    expect(await authenticate(bearer('sk_live_4eC39HqLyjWDarjtT1zdp7dc'))).toBeNull()
    expect(await authenticate(bearer('not a token'))).toBeNull()
    expect(jwksRequests).toBe(before)
    expect(reasons).toEqual([])
  })

  it('refuses a malformed token that looks like a JWT', async () => {
    const { authenticate, reasons } = jwt()
    expect(await authenticate(bearer('aaaa.bbbb.cccc'))).toBeNull()
    expect(await authenticate(bearer(`${b64url({ typ: 'JWT' })}.${b64url(claims())}.c2ln`))).toBeNull()
    expect(reasons).toEqual(['malformed', 'alg-not-allowed'])
  })

  it('answers null when the JWKS cannot be fetched, and when the log hook throws', async () => {
    const { authenticate, reasons } = jwt({ jwksUrl: jwksUrl.replace('/jwks.json', '/broken') })
    expect(await authenticate(bearer(await sign()))).toBeNull()
    expect(reasons).toEqual(['jwks-unavailable'])
    const throwing = jwt({
      onReject: () => {
        throw new Error('log sink down')
      },
    })
    await expect(throwing.authenticate(bearer(await sign({ role: 'root' })))).resolves.toBeNull()
  })
})

describe('createJwtAuthenticator with a public key', () => {
  it('verifies with a PEM, a KeyObject or a CryptoKey, and refuses other signers', async () => {
    const pem = await exportSPKI(rsa.publicKey)
    const base = { issuer: ISSUER, audience: AUDIENCE } as const
    const fromPem = createJwtAuthenticator({ ...base, publicKey: pem, algorithms: ['RS256'] })
    const fromKeyObject = createJwtAuthenticator({ ...base, publicKey: createPublicKey(pem), algorithms: ['RS256'] })
    const fromCryptoKey = createJwtAuthenticator({ ...base, publicKey: ec.publicKey, algorithms: ['ES256'] })
    const before = jwksRequests
    const token = await sign({ role: 'admin' })
    expect((await fromPem(bearer(token)))?.role).toBe('admin')
    expect((await fromKeyObject(bearer(token)))?.role).toBe('admin')
    expect(await fromCryptoKey(bearer(token))).toBeNull()
    expect((await fromCryptoKey(bearer(await sign({}, { key: ec.privateKey, alg: 'ES256' }))))?.role).toBe('editor')
    expect(await fromPem(bearer(await sign({}, { key: rogue.privateKey })))).toBeNull()
    expect(jwksRequests).toBe(before)
  })
})

describe('createJwtAuthenticator options', () => {
  it.each<[string, Partial<JwtAuthenticatorOptions>]>([
    ['no key source', {}],
    ['both key sources', { jwksUrl: 'https://login.example.test/jwks.json', publicKey: 'x' }],
    ['HS256', { jwksUrl: 'https://login.example.test/jwks.json', algorithms: ['HS256'] as unknown as JwtAlgorithm[] }],
    [
      'alg none',
      { jwksUrl: 'https://login.example.test/jwks.json', algorithms: ['none'] as unknown as JwtAlgorithm[] },
    ],
    ['no algorithms', { jwksUrl: 'https://login.example.test/jwks.json', algorithms: [] }],
    ['no issuer', { jwksUrl: 'https://login.example.test/jwks.json', issuer: '' }],
    ['no audience', { jwksUrl: 'https://login.example.test/jwks.json', audience: [] }],
    ['plain http to a remote host', { jwksUrl: 'http://login.example.test/jwks.json' }],
    ['a role map to an unknown role', { jwksUrl: 'https://x.test/jwks', roleMap: { root: 'root' as 'admin' } }],
    ['a negative clock tolerance', { jwksUrl: 'https://x.test/jwks', clockToleranceS: -1 }],
    ['a JWKS timeout that is not an integer', { jwksUrl: 'https://x.test/jwks', jwksTimeoutMs: 1.5 }],
    ['a PEM that is not a public key', { publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }],
  ])('throws BAD_REQUEST at creation for %s', (_, options) => {
    const error = creationError(options)
    expect(isStudioError(error) && error.code).toBe('BAD_REQUEST')
  })

  it('throws BAD_REQUEST when the public key does not fit the algorithms', async () => {
    const pem = await exportSPKI(rsa.publicKey)
    const error = creationError({ publicKey: pem, algorithms: ['RS256', 'ES256'] })
    expect(isStudioError(error) && error.code).toBe('BAD_REQUEST')
    expect((error as Error).message).toContain('ES256')
    expect(creationError({ publicKey: ec.publicKey, algorithms: ['ES256'] })).toBeUndefined()
  })
})
