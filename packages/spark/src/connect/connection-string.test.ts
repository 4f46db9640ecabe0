import { inspect } from 'node:util'
import { isStudioError } from '@sparkle-studio/core'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SPARK_CONNECT_PORT, isLoopbackHost, parseConnectionString } from './connection-string.ts'

const UUID = '0e5fc44c-6fd7-4b0b-bb0d-7a3b2b0a6d1e'

describe('parseConnectionString: valid strings', () => {
  const cases: [string, Record<string, unknown>][] = [
    [
      'sc://localhost',
      { host: 'localhost', port: DEFAULT_SPARK_CONNECT_PORT, endpoint: 'localhost:15002', tls: false },
    ],
    ['sc://localhost/', { host: 'localhost', port: 15002 }],
    ['sc://spark.example.com:443', { host: 'spark.example.com', port: 443, endpoint: 'spark.example.com:443' }],
    ['sc://10.0.0.5:15003/;;', { host: '10.0.0.5', port: 15003, metadata: {} }],
    ['sc://[::1]:15002', { host: '::1', endpoint: '[::1]:15002', loopback: true }],
    ['sc://[2001:db8::7]/;use_ssl=true', { host: '2001:db8::7', endpoint: '[2001:db8::7]:15002', tls: true }],
    ['sc://h/;use_ssl=TRUE', { tls: true }],
    ['sc://h/;use_ssl=false', { tls: false }],
    // A token to a remote host implies TLS, as in Spark's clients.
    ['sc://h/;token=abc', { tls: true, token: 'abc' }],
    // A token to a loopback host goes over plaintext unless use_ssl=true.
    ['sc://127.0.0.1:9/;token=abc', { tls: false, token: 'abc', loopback: true }],
    ['sc://localhost/;token=abc;use_ssl=false', { tls: false }],
    ['sc://localhost/;token=abc;use_ssl=true', { tls: true }],
    ['sc://h/;token=a%3Db%3B%20c', { token: 'a=b; c' }],
    [`sc://h/;session_id=${UUID}`, { sessionId: UUID }],
    [`sc://h/;session_id=${UUID.toUpperCase()}`, { sessionId: UUID.toUpperCase() }],
    ['sc://h/;user_id=ana%20b;user_agent=studio%2F1', { userId: 'ana b', userAgent: 'studio/1' }],
    ['sc://h/;grpc_max_message_size=134217728', { grpcMaxMessageSize: 134_217_728 }],
    ['sc://h/;x-team=data;X-Trace.Id=a%2Fb', { metadata: { 'x-team': 'data', 'x-trace.id': 'a/b' } }],
  ]
  it.each(cases)('%s', (text, expected) => {
    const parsed = parseConnectionString(text)
    for (const [key, value] of Object.entries(expected)) expect(parsed[key as keyof typeof parsed], key).toEqual(value)
  })

  it('leaves optional fields undefined and freezes the result', () => {
    const parsed = parseConnectionString('sc://localhost')
    expect([parsed.token, parsed.userId, parsed.userAgent, parsed.sessionId, parsed.grpcMaxMessageSize]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    expect(Object.isFrozen(parsed)).toBe(true)
    expect(Object.isFrozen(parsed.metadata)).toBe(true)
  })
})

describe('parseConnectionString: invalid strings name the rule and the part', () => {
  const cases: [string, string, string][] = [
    ['http://localhost:15002', 'scheme', 'scheme'],
    ['sc:/localhost', 'scheme', 'scheme'],
    ['sc://', 'host', 'host'],
    ['sc://:15002', 'host', 'host'],
    ['sc://user@h', 'host', 'host'],
    ['sc://::1', 'host', 'host'],
    ['sc://[::1', 'host', 'host'],
    ['sc://[not-v6]:1', 'host', 'host'],
    ['sc://[::1]x', 'host', 'host'],
    ['sc://bad_host!', 'host', 'host'],
    ['sc://h:', 'port', 'port'],
    ['sc://h:0', 'port', 'port'],
    ['sc://h:65536', 'port', 'port'],
    ['sc://h:15o02', 'port', 'port'],
    ['sc://h:-1', 'port', 'port'],
    ['sc://h;token=a', 'path', 'path'],
    ['sc://h/db', 'path', 'path'],
    ['sc://h/db;token=a', 'path', 'path'],
    ['sc://h/?token=a', 'path', 'path'],
    ['sc://h/#x', 'path', 'path'],
    ['sc://h/;token', 'param_syntax', 'token'],
    ['sc://h/;=v', 'param_syntax', '(unprintable)'],
    ['sc://h/;token=', 'param_syntax', 'token'],
    ['sc://h/;token=a=b', 'param_syntax', 'token'],
    ['sc://h/;Token=a', 'param_syntax', 'Token'],
    ['sc://h/;token=a;token=b', 'param_duplicate', 'token'],
    ['sc://h/;x-a=1;X-A=2', 'param_duplicate', 'X-A'],
    ['sc://h/;user_id=%E0%A4%A', 'param_encoding', 'user_id'],
    ['sc://h/;use_ssl=yes', 'use_ssl', 'use_ssl'],
    ['sc://h/;token=%20', 'token', 'token'],
    ['sc://spark.example.com/;token=abc;use_ssl=false', 'token_plaintext', 'use_ssl'],
    ['sc://h/;session_id=not-a-uuid', 'session_id', 'session_id'],
    [`sc://h/;session_id=${UUID}0`, 'session_id', 'session_id'],
    ['sc://h/;user_id=%20', 'user_id', 'user_id'],
    [`sc://h/;user_agent=${'a'.repeat(2049)}`, 'user_agent', 'user_agent'],
    ['sc://h/;grpc_max_message_size=0', 'grpc_max_message_size', 'grpc_max_message_size'],
    ['sc://h/;grpc_max_message_size=1e6', 'grpc_max_message_size', 'grpc_max_message_size'],
    ['sc://h/;grpc_max_message_size=4294967296', 'grpc_max_message_size', 'grpc_max_message_size'],
    ['sc://h/;authorization=Bearer%20x', 'metadata_key', 'authorization'],
    ['sc://h/;grpc-timeout=1S', 'metadata_key', 'grpc-timeout'],
    ['sc://h/;trace-bin=AA', 'metadata_key', 'trace-bin'],
    ['sc://h/;bad%20key=1', 'metadata_key', 'bad%20key'],
  ]
  it.each(cases)('%s breaks rule %s', (text, rule, part) => {
    let caught: unknown
    try {
      parseConnectionString(text)
    } catch (error) {
      caught = error
    }
    expect(isStudioError(caught) && caught.code).toBe('VALIDATION_FAILED')
    const error = caught as Error & { details: { issues: { code: string; path: string }[] } }
    expect(error.details.issues).toEqual([expect.objectContaining({ code: rule, path: part })])
    expect(error.message).toContain(`rule: ${rule}`)
  })

  it('never quotes the token in an error message', () => {
    for (const text of ['sc://h/;token=s3cret=x', 'sc://remote.example/;token=s3cret;use_ssl=false']) {
      expect(() => parseConnectionString(text)).toThrow(/.*/)
      try {
        parseConnectionString(text)
      } catch (error) {
        expect(String((error as Error).message)).not.toContain('s3cret')
        expect(JSON.stringify(error)).not.toContain('s3cret')
      }
    }
  })
})

describe('ConnectionString redaction', () => {
  const parsed = parseConnectionString('sc://[::1]:15010/;token=s3cr%3Dt;user_id=ana;x-api-key=k3y;x-team=data')

  it('hides the token (and secret-looking metadata) in every printed form', () => {
    const expected = 'sc://[::1]:15010/;token=***;use_ssl=false;user_id=ana;x-api-key=***;x-team=data'
    expect(parsed.redacted).toBe(expected)
    expect(String(parsed)).toBe(expected)
    expect(`${parsed}`).toBe(expected)
    expect(JSON.stringify({ target: parsed })).toBe(JSON.stringify({ target: expected }))
    expect(inspect(parsed)).toBe(`ConnectionString(${expected})`)
    for (const printed of [String(parsed), JSON.stringify(parsed), inspect(parsed, { showHidden: true })]) {
      expect(printed).not.toContain('s3cr')
      expect(printed).not.toContain('k3y')
    }
  })

  it('keeps the token readable for the client and formats a string that parses back to the same target', () => {
    expect(parsed.token).toBe('s3cr=t')
    expect(parsed.format()).toBe('sc://[::1]:15010/;token=s3cr%3Dt;use_ssl=false;user_id=ana;x-api-key=k3y;x-team=data')
    const again = parseConnectionString(parsed.format())
    expect([again.endpoint, again.token, again.tls, again.userId, again.metadata]).toEqual([
      parsed.endpoint,
      parsed.token,
      parsed.tls,
      parsed.userId,
      parsed.metadata,
    ])
    expect(parseConnectionString('sc://localhost').format()).toBe('sc://localhost:15002/')
  })
})

describe('the documented examples', () => {
  it('hold', () => {
    const target = parseConnectionString('sc://spark.example.com/;token=s3cr%3Dt;user_id=ana;x-team=data')
    expect([target.endpoint, target.tls, target.token, target.metadata]).toEqual([
      'spark.example.com:15002',
      true,
      's3cr=t',
      { 'x-team': 'data' },
    ])
    expect(String(target)).toBe('sc://spark.example.com:15002/;token=***;use_ssl=true;user_id=ana;x-team=data')
    const local = parseConnectionString('sc://127.0.0.1:15002/;token=abc')
    expect(`connecting to ${local}`).toBe('connecting to sc://127.0.0.1:15002/;token=***;use_ssl=false')
    expect(local.tls).toBe(false)
  })
})

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST.', true],
    ['studio.localhost', true],
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['localhost.example.com', false],
    ['::2', false],
    ['spark.example.com', false],
  ])('%s -> %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback)
  })
})
