import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { connect as connectHttp2 } from 'node:http2'
import { connect, createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { isStudioError } from '@sparkle-studio/core'
import { makeTempDir, type TempDir } from '@sparkle-studio/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { groupMembers, isProcessAlive } from '../process.ts'
import { findSparkRuntime, type SparkRuntime } from '../runtime.ts'
import { SPARK_CONNECT_TOKEN_ENV, type SparkConnectServer, startSparkConnectServer } from './server.ts'

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * The gRPC status and message of one unary call to SparkConnectService/Config with an empty request, made over raw
 * HTTP/2 (this test stays independent of the Connect client): Spark's authentication interceptor answers it
 * before the request is read.
 */
function configCallStatus(port: number, token?: string): Promise<{ status: string; message: string }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`)
    session.once('error', reject)
    const request = session.request({
      ':method': 'POST',
      ':path': '/spark.connect.SparkConnectService/Config',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    })
    let status = ''
    let message = ''
    const read = (headers: Record<string, unknown>) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status'])
      if (headers['grpc-message'] !== undefined) message = decodeURIComponent(String(headers['grpc-message']))
    }
    request.on('response', read)
    request.on('trailers', read)
    request.on('data', () => {})
    request.once('error', reject)
    request.once('close', () => {
      session.close()
      resolve({ status, message })
    })
    request.end(Buffer.from([0, 0, 0, 0, 0]))
  })
}

const UNAUTHENTICATED = '16'

let runtime: SparkRuntime
let temp: TempDir

beforeAll(async () => {
  runtime = await findSparkRuntime()
  temp = await makeTempDir('sparkle-connect-server-')
})
afterAll(async () => {
  await temp?.remove()
})

describe('startSparkConnectServer (real Spark)', () => {
  it('starts a server on 127.0.0.1 that accepts connections, and stop leaves no process', async () => {
    const server = await startSparkConnectServer({ runtime, master: 'local[1]' })
    let stopped = false
    try {
      expect(server.url).toBe(`sc://127.0.0.1:${server.port}`)
      expect(await acceptsTcp(server.port)).toBe(true)
      expect(await isProcessAlive(server.pid)).toBe(true)
      expect(readFileSync(server.logFile, 'utf8')).toContain('SparkConnectService')
      // Without a token, calls are not refused for authentication.
      const { status } = await configCallStatus(server.port)
      expect(status).not.toBe(UNAUTHENTICATED)
      await server.stop()
      stopped = true
      expect(await groupMembers(server.pid)).toEqual([])
      expect(await isProcessAlive(server.pid)).toBe(false)
      // Not asserted: that nothing accepts on the port any more. The port is free once the group is gone, and another
      // process (a Spark JVM of a test running beside this one binds ephemeral ports) may take it at once: an earlier
      // version of this test failed that way (2 times in 6 beside standalone-submitter.test.ts).
      await server.stop()
    } finally {
      if (!stopped) await server.stop()
    }
  }, 180_000)

  it('with a token, refuses calls without it, and keeps it off the command line and the log', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}`
    const logFile = join(temp.path, 'with-token', 'server.log')
    const server: SparkConnectServer = await startSparkConnectServer({
      runtime,
      token,
      logFile,
      conf: { 'spark.sql.shuffle.partitions': '2' },
    })
    try {
      expect(server.logFile).toBe(logFile)
      expect(await configCallStatus(server.port)).toEqual({
        status: UNAUTHENTICATED,
        message: 'No authentication token provided',
      })
      expect(await configCallStatus(server.port, 'wrong')).toEqual({
        status: UNAUTHENTICATED,
        message: 'Invalid authentication token',
      })
      expect((await configCallStatus(server.port, token)).status).not.toBe(UNAUTHENTICATED)
      const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8')
      expect(cmdline).toContain('spark.sql.shuffle.partitions=2')
      expect(cmdline).not.toContain(token)
      expect(readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0')).toContain(
        `${SPARK_CONNECT_TOKEN_ENV}=${token}`,
      )
    } finally {
      await server.stop()
    }
    expect(await groupMembers(server.pid)).toEqual([])
    // The caller's log file stays, without the token.
    expect(readFileSync(logFile, 'utf8')).not.toContain(token)
  }, 180_000)

  it('fails with SPARK_UNAVAILABLE quoting the end of the log when the server cannot start', async () => {
    const logFile = join(temp.path, 'bad-master', 'server.log')
    const started = Date.now()
    const error = await startSparkConnectServer({ runtime, master: 'nowhere://x', logFile }).catch((e: unknown) => e)
    expect(isStudioError(error) && error.code).toBe('SPARK_UNAVAILABLE')
    const message = (error as Error).message
    expect(message).toMatch(/exited with code [1-9]/)
    expect(message).toContain(logFile)
    expect(message).toContain('Master must either be yarn or start with spark, k8s, or local')
    expect(Date.now() - started).toBeLessThan(60_000)
  }, 120_000)

  it('refuses a port another process listens on, before starting anything', async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()))
    const { port } = busy.address() as { port: number }
    try {
      const error = await startSparkConnectServer({ runtime, port }).catch((e: unknown) => e)
      expect(isStudioError(error) && error.code).toBe('SPARK_UNAVAILABLE')
      expect((error as Error).message).toContain(`cannot listen on 127.0.0.1:${port}`)
    } finally {
      busy.close()
    }
  })

  it('stops the server when the start is aborted', async () => {
    const logFile = join(temp.path, 'aborted', 'server.log')
    const controller = new AbortController()
    const start = startSparkConnectServer({ runtime, logFile, signal: controller.signal })
    // Abort once the JVM is up and writing its log, before its port opens.
    for (let i = 0; i < 200 && !(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('Running Spark')); i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    controller.abort()
    const error = await start.then(
      async (server) => {
        await server.stop()
        return server
      },
      (e: unknown) => e,
    )
    expect((error as Error).name).toBe('AbortError')
    // No process is left in the server's working folder.
    const left = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .filter((n) => {
        try {
          return readlinkSync(`/proc/${n}/cwd`) === dirname(logFile)
        } catch {
          return false
        }
      })
    expect(left).toEqual([])
  }, 120_000)

  it('refuses configuration it owns and a token that cannot travel in a header, before starting anything', async () => {
    for (const options of [
      { conf: { 'spark.connect.authenticate.token': 'x' } },
      { conf: { 'spark.connect.grpc.binding.address': '0.0.0.0' } },
      { token: 'has space' },
      { token: '' },
      { port: 70_000 },
    ]) {
      const error = await startSparkConnectServer({ runtime, ...options }).catch((e: unknown) => e)
      expect(isStudioError(error) && error.code, JSON.stringify(options)).toBe('VALIDATION_FAILED')
      expect((error as Error).message).not.toContain('has space')
    }
  })
})
