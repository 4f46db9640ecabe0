import { isIPv4, isIPv6 } from 'node:net'
import { ValidationError } from '@sparkle-studio/core'

/** The port a Spark Connect server listens on when a connection string names none (Spark's `ConnectCommon`). */
export const DEFAULT_SPARK_CONNECT_PORT = 15002

/** The longest `user_agent` accepted, counted after URL escaping (the limit of Spark's Python client). */
export const MAX_USER_AGENT_LENGTH = 2048

/**
 * The stable codes of the rules a connection string can break, found in the `code` of the
 * {@link @sparkle-studio/core!index.ValidationError | ValidationError}'s issue.
 */
export type ConnectionStringRule =
  | 'scheme'
  | 'host'
  | 'port'
  | 'path'
  | 'param_syntax'
  | 'param_duplicate'
  | 'param_encoding'
  | 'use_ssl'
  | 'token'
  | 'token_plaintext'
  | 'session_id'
  | 'user_id'
  | 'user_agent'
  | 'grpc_max_message_size'
  | 'metadata_key'

/** The parameters Spark Connect interprets; any other parameter is sent to the server as gRPC metadata. */
const KNOWN_PARAMS = ['token', 'use_ssl', 'user_id', 'user_agent', 'session_id', 'grpc_max_message_size'] as const
type KnownParam = (typeof KNOWN_PARAMS)[number]

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HOSTNAME_PATTERN = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*\.?$/i
/** gRPC metadata keys: lower-case letters, digits, `-`, `_` and `.` (HTTP/2 header names). */
const METADATA_KEY_PATTERN = /^[0-9a-z_.-]+$/
/** Metadata a connection string may not set: gRPC's own headers, HTTP/2 pseudo headers and the bearer token's. */
const RESERVED_METADATA = /^(?:grpc-|:)|^(?:authorization|content-type|te|user-agent|host)$|-bin$/
/** Metadata keys whose values the redacted form hides as it hides the token. */
const SECRET_LOOKING_KEY = /token|secret|passw|credential|auth|key|cookie|session/i

function fail(rule: ConnectionStringRule, part: string, message: string): never {
  throw new ValidationError(`invalid Spark Connect connection string: ${message} (rule: ${rule})`, [
    { path: part, message, code: rule },
  ])
}

/**
 * True for `localhost`, `*.localhost`, `127.0.0.0/8` and `::1`: names that never leave the machine, to which a
 * token may travel without TLS.
 *
 * @example
 * ```ts
 * import { isLoopbackHost } from '@sparkle-studio/spark/connect'
 *
 * isLoopbackHost('127.0.0.1') // true
 * isLoopbackHost('spark.example.com') // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIPv4(h)) return h.startsWith('127.')
  if (isIPv6(h)) return h === '::1' || /^(?:0{1,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h)
  return false
}

/**
 * A parsed Spark Connect connection string (`sc://host[:port]/;param=value;...`), made by
 * {@link parseConnectionString}. The token is held privately: `toString()`, `toJSON()` and Node's `util.inspect` show
 * the {@link ConnectionString.redacted | redacted} form.
 *
 * @example
 * ```ts
 * import { parseConnectionString } from '@sparkle-studio/spark/connect'
 *
 * const target = parseConnectionString('sc://127.0.0.1:15002/;token=abc')
 * console.log(`connecting to ${target}`) // connecting to sc://127.0.0.1:15002/;token=***;use_ssl=false
 * target.tls // false: a token to a loopback host goes over plaintext
 * ```
 */
export class ConnectionString {
  /** The host as written, without the brackets of an IPv6 address (`::1`, `spark.example.com`). */
  readonly host: string
  /** The server's port ({@link DEFAULT_SPARK_CONNECT_PORT} when the string names none). */
  readonly port: number
  /** The gRPC target `host:port`, with an IPv6 host in brackets (`[::1]:15002`). */
  readonly endpoint: string
  /**
   * Whether the channel uses TLS: `use_ssl=true`; or a token to a host that is not loopback (a bearer token never
   * crosses the network in clear). A token to a loopback host without `use_ssl=true` goes over plaintext, as Spark's
   * own clients do for `localhost`.
   */
  readonly tls: boolean
  /** True when {@link ConnectionString.host | host} is a loopback name or address ({@link isLoopbackHost}). */
  readonly loopback: boolean
  /** `user_id`: the user the server isolates sessions by. */
  readonly userId: string | undefined
  /** `user_agent`: the client type reported to the server. */
  readonly userAgent: string | undefined
  /** `session_id`: a UUID to join an existing server-side session instead of starting a new one. */
  readonly sessionId: string | undefined
  /** `grpc_max_message_size`: the largest message in bytes the client accepts. */
  readonly grpcMaxMessageSize: number | undefined
  /** Every other parameter, keyed by its (lower-case) name: sent as gRPC metadata on each call. */
  readonly metadata: Readonly<Record<string, string>>
  readonly #token: string | undefined

  /** @internal Use {@link parseConnectionString}. */
  constructor(fields: {
    host: string
    port: number
    tls: boolean
    token: string | undefined
    userId: string | undefined
    userAgent: string | undefined
    sessionId: string | undefined
    grpcMaxMessageSize: number | undefined
    metadata: Record<string, string>
  }) {
    this.host = fields.host
    this.port = fields.port
    this.endpoint = `${fields.host.includes(':') ? `[${fields.host}]` : fields.host}:${fields.port}`
    this.tls = fields.tls
    this.loopback = isLoopbackHost(fields.host)
    this.userId = fields.userId
    this.userAgent = fields.userAgent
    this.sessionId = fields.sessionId
    this.grpcMaxMessageSize = fields.grpcMaxMessageSize
    this.metadata = Object.freeze({ ...fields.metadata })
    this.#token = fields.token
    Object.freeze(this)
  }

  /** `token`: the bearer token sent as `Authorization: Bearer <token>`. Never log it: log {@link ConnectionString.redacted | redacted}. */
  get token(): string | undefined {
    return this.#token
  }

  /**
   * The connection string in canonical form with the token (and metadata whose name looks secret) replaced by
   * `***`: safe for logs, events and error messages.
   */
  get redacted(): string {
    return this.#format(true)
  }

  /** The connection string in canonical form, token included (to hand to another Spark Connect client). */
  format(): string {
    return this.#format(false)
  }

  /** The {@link ConnectionString.redacted | redacted} form. */
  toString(): string {
    return this.redacted
  }

  /** The {@link ConnectionString.redacted | redacted} form, so that `JSON.stringify` never writes the token. */
  toJSON(): string {
    return this.redacted
  }

  /** What Node's `util.inspect` (and `console.log`) prints: the {@link ConnectionString.redacted | redacted} form. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ConnectionString(${this.redacted})`
  }

  #format(redact: boolean): string {
    const params: string[] = []
    const add = (key: string, value: string | number | undefined, secret = false) => {
      if (value !== undefined) params.push(`${key}=${secret && redact ? '***' : encodeURIComponent(String(value))}`)
    }
    add('token', this.#token, true)
    add('use_ssl', this.tls ? 'true' : this.#token !== undefined ? 'false' : undefined)
    add('user_id', this.userId)
    add('user_agent', this.userAgent)
    add('session_id', this.sessionId)
    add('grpc_max_message_size', this.grpcMaxMessageSize)
    for (const [key, value] of Object.entries(this.metadata)) add(key, value, SECRET_LOOKING_KEY.test(key))
    return `sc://${this.endpoint}/${params.map((p) => `;${p}`).join('')}`
  }
}

function decode(key: string, raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return fail('param_encoding', key, `the value of '${key}' is not valid percent-encoding`)
  }
}

function parseAuthority(authority: string): { host: string; port: number } {
  if (authority.includes('@')) fail('host', 'host', 'user information (`user@`) is not allowed before the host')
  let host: string
  let portText: string | undefined
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']')
    if (close < 0) fail('host', 'host', 'an IPv6 host opened with `[` is not closed with `]`')
    host = authority.slice(1, close)
    const rest = authority.slice(close + 1)
    if (rest !== '' && !rest.startsWith(':')) fail('host', 'host', 'only `:port` may follow a bracketed IPv6 host')
    if (rest !== '') portText = rest.slice(1)
    if (!isIPv6(host)) fail('host', 'host', `'${host}' in brackets is not an IPv6 address`)
  } else {
    const colon = authority.lastIndexOf(':')
    host = colon < 0 ? authority : authority.slice(0, colon)
    if (colon >= 0) portText = authority.slice(colon + 1)
    if (host.includes(':')) fail('host', 'host', 'an IPv6 host must be written in brackets, e.g. `sc://[::1]:15002`')
    if (host === '') fail('host', 'host', 'the host is missing, e.g. `sc://localhost:15002`')
    if (!HOSTNAME_PATTERN.test(host)) fail('host', 'host', `'${host}' is not a valid host name or address`)
  }
  let port = DEFAULT_SPARK_CONNECT_PORT
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65_535) {
      fail('port', 'port', `port '${portText}' is not a number from 1 to 65535`)
    }
    port = Number(portText)
  }
  return { host, port }
}

/**
 * Parses a Spark Connect connection string, `sc://host[:port]/;param=value;...`, with the rules of Spark's own
 * clients, stricter where they are lax:
 *
 * - the port defaults to {@link DEFAULT_SPARK_CONNECT_PORT}; an IPv6 host is written in brackets (`sc://[::1]:15002`);
 * - parameters follow a `/` after the authority; there is no other path, query or fragment; empty segments
 *   (`/;;a=b;`) are skipped;
 * - each parameter is `key=value` with a non-empty key and value and no raw `=` in the value (write `%3D`); values
 *   are percent-decoded; a key given twice is an error (Spark keeps the last one silently);
 * - `token` (non-empty), `use_ssl` (`true` or `false`, any case), `user_id`, `user_agent` (at most
 *   {@link MAX_USER_AGENT_LENGTH} characters escaped), `session_id` (a UUID), `grpc_max_message_size` (a positive
 *   integer) are interpreted; their names are lower-case (`Token=` is an error, not metadata);
 * - any other parameter becomes gRPC metadata: its name must be a valid metadata key (`[0-9a-z_.-]`) and not one that
 *   gRPC or authentication owns (`authorization`, `grpc-*`, `*-bin`, ...);
 * - TLS: `use_ssl=true` turns it on. A `token` turns it on as well (Spark's clients do the same), except for a
 *   loopback host ({@link isLoopbackHost}), where the token goes over plaintext unless `use_ssl=true`: Spark's clients
 *   make that exception for `localhost` only, this parser for every loopback address. `use_ssl=false` with a token
 *   to a host that is not loopback is refused (rule `token_plaintext`): a bearer token never crosses the network in
 *   clear.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} (`VALIDATION_FAILED`) whose one issue has
 * the broken rule as `code` ({@link ConnectionStringRule}) and the part (`host`, `port`, a parameter name) as `path`;
 * messages never quote the token.
 * @example
 * ```ts
 * import { parseConnectionString } from '@sparkle-studio/spark/connect'
 *
 * const target = parseConnectionString('sc://spark.example.com/;token=s3cr%3Dt;user_id=ana;x-team=data')
 * target.endpoint // 'spark.example.com:15002'
 * target.tls // true: a token to a remote host implies TLS
 * target.token // 's3cr=t'
 * target.metadata // { 'x-team': 'data' }
 * String(target) // 'sc://spark.example.com:15002/;token=***;use_ssl=true;user_id=ana;x-team=data'
 * ```
 */
export function parseConnectionString(text: string): ConnectionString {
  if (typeof text !== 'string' || !text.startsWith('sc://')) {
    fail('scheme', 'scheme', 'it must start with `sc://`, e.g. `sc://localhost:15002`')
  }
  const rest = text.slice('sc://'.length)
  if (/[?#]/.test(rest)) fail('path', 'path', 'a query (`?`) or fragment (`#`) is not allowed; use `/;key=value`')
  if (/\s/.test(rest)) fail('path', 'path', 'white space is not allowed')
  const slash = rest.indexOf('/')
  const authority = slash < 0 ? rest : rest.slice(0, slash)
  const tail = slash < 0 ? '' : rest.slice(slash + 1)
  if (authority.includes(';'))
    fail('path', 'path', 'parameters must follow a `/` after host[:port], e.g. `sc://h/;a=b`')
  const { host, port } = parseAuthority(authority)
  if (tail !== '' && !tail.startsWith(';')) {
    fail('path', 'path', 'the path must be empty: only `/;key=value;...` may follow host[:port]')
  }

  const known: Partial<Record<KnownParam, string>> = {}
  const metadata: Record<string, string> = {}
  const seen = new Set<string>()
  for (const segment of tail.split(';')) {
    if (segment === '') continue
    const eq = segment.indexOf('=')
    const key = eq < 0 ? segment : segment.slice(0, eq)
    const safeKey = /^[\w.-]{1,64}$/.test(key) ? key : '(unprintable)'
    if (eq <= 0) fail('param_syntax', safeKey, `parameter '${safeKey}' must be written key=value`)
    const raw = segment.slice(eq + 1)
    if (raw === '') fail('param_syntax', key, `parameter '${safeKey}' has an empty value`)
    if (raw.includes('=')) {
      fail('param_syntax', key, `the value of '${safeKey}' holds a raw '=': percent-encode it as %3D`)
    }
    if (seen.has(key)) fail('param_duplicate', key, `parameter '${safeKey}' is given more than once`)
    seen.add(key)
    const value = decode(safeKey, raw)
    if ((KNOWN_PARAMS as readonly string[]).includes(key)) {
      known[key as KnownParam] = value
      continue
    }
    const lower = key.toLowerCase()
    if ((KNOWN_PARAMS as readonly string[]).includes(lower)) {
      fail('param_syntax', key, `parameter '${safeKey}' must be written in lower case, '${lower}'`)
    }
    if (!METADATA_KEY_PATTERN.test(lower) || RESERVED_METADATA.test(lower)) {
      fail('metadata_key', key, `parameter '${safeKey}' is not a gRPC metadata key a connection string may set`)
    }
    if (lower in metadata) fail('param_duplicate', key, `parameter '${safeKey}' is given more than once`)
    metadata[lower] = value
  }

  const token = known.token
  let useSsl: boolean | undefined
  if (known.use_ssl !== undefined) {
    const v = known.use_ssl.toLowerCase()
    if (v !== 'true' && v !== 'false')
      fail('use_ssl', 'use_ssl', `use_ssl must be true or false, not '${known.use_ssl}'`)
    useSsl = v === 'true'
  }
  const loopback = isLoopbackHost(host)
  if (token !== undefined && token.trim() === '') fail('token', 'token', 'the token is blank')
  if (token !== undefined && useSsl === false && !loopback) {
    fail(
      'token_plaintext',
      'use_ssl',
      `a token is sent over plaintext (use_ssl=false) only to a loopback host, not '${host}'`,
    )
  }
  const tls = useSsl ?? (token !== undefined && !loopback)
  if (known.session_id !== undefined && !UUID_PATTERN.test(known.session_id)) {
    fail('session_id', 'session_id', `session_id '${known.session_id}' is not a UUID (8-4-4-4-12 hexadecimal digits)`)
  }
  if (known.user_id !== undefined && known.user_id.trim() === '') fail('user_id', 'user_id', 'user_id is blank')
  if (known.user_agent !== undefined && encodeURIComponent(known.user_agent).length > MAX_USER_AGENT_LENGTH) {
    fail('user_agent', 'user_agent', `user_agent is longer than ${MAX_USER_AGENT_LENGTH} characters once escaped`)
  }
  let grpcMaxMessageSize: number | undefined
  if (known.grpc_max_message_size !== undefined) {
    const v = known.grpc_max_message_size
    if (!/^\d{1,10}$/.test(v) || Number(v) < 1 || Number(v) > 2_147_483_647) {
      fail(
        'grpc_max_message_size',
        'grpc_max_message_size',
        `grpc_max_message_size '${v}' is not a positive 32-bit integer`,
      )
    }
    grpcMaxMessageSize = Number(v)
  }
  return new ConnectionString({
    host,
    port,
    tls,
    token,
    userId: known.user_id,
    userAgent: known.user_agent,
    sessionId: known.session_id,
    grpcMaxMessageSize,
    metadata,
  })
}
