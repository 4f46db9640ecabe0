import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js'
import { StudioError } from '@sparkle-studio/core'
import { type Schema, tableFromIPC } from 'apache-arrow'
import { rowsOf, type SparkColumn, type SparkRow, sparkColumns } from './arrow-values.ts'
import { type ConnectionString, DEFAULT_SPARK_CONNECT_PORT, parseConnectionString } from './connection-string.ts'
import { SparkConnectError } from './errors.ts'
import { sparkConnectProtocol } from './protocol.ts'

/** How the client retries a call the server could not take yet (gRPC `UNAVAILABLE` before any response). */
export interface SparkConnectRetryOptions {
  /**
   * Attempts in all, the first included.
   * @default 5
   */
  readonly maxAttempts?: number | undefined
  /**
   * The first wait; each next wait doubles.
   * @default 200
   */
  readonly initialDelayMs?: number | undefined
  /**
   * The longest wait between two attempts.
   * @default 5000
   */
  readonly maxDelayMs?: number | undefined
}

/** Where and as whom a {@link SparkConnectClient} connects. */
export interface SparkConnectClientOptions {
  /** The Spark Connect server's host name or IP address. */
  readonly host: string
  /**
   * The server's gRPC port.
   * @default 15002
   */
  readonly port?: number | undefined
  /** A bearer token, sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string | undefined
  /** More gRPC metadata sent on every call (a connection string's extra parameters). */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /**
   * Use TLS (with the system's trusted roots). Off by default so a token also works against a loopback server.
   * @default false
   */
  readonly useSsl?: boolean | undefined
  /**
   * The user id of the `user_context`; with the session id it names the server-side session.
   * @default 'sparkle-studio'
   */
  readonly userId?: string | undefined
  /** The user name of the `user_context`. */
  readonly userName?: string | undefined
  /**
   * The client-side session id (a UUID). Two clients with the same session id and user id share one Spark session.
   * @default a random UUID
   */
  readonly sessionId?: string | undefined
  /**
   * Sent as `client_type`, only for the server's logs.
   * @default 'sparkle-studio'
   */
  readonly clientType?: string | undefined
  /**
   * The largest response message accepted (an Arrow batch travels in one message).
   * @default 134217728 (128 MiB)
   */
  readonly maxReceiveMessageBytes?: number | undefined
  /** Retries of a call the server is not ready for. */
  readonly retry?: SparkConnectRetryOptions | undefined
  /**
   * Makes operation ids (UUIDs, as the server requires); injectable for tests.
   * @default crypto.randomUUID
   */
  readonly randomId?: (() => string) | undefined
}

/** The progress of a running operation, as the server reports it while it runs. */
export interface SparkProgress {
  /** The operation id. */
  readonly operationId: string
  /** Each Spark stage of the operation so far. */
  readonly stages: readonly SparkStageProgress[]
  /** Tasks running now. */
  readonly inflightTasks: number
}

/** One Spark stage in a {@link SparkProgress} report. */
export interface SparkStageProgress {
  /** The Spark stage id. */
  readonly stageId: number
  /** The stage's tasks. */
  readonly tasks: number
  /** Tasks done. */
  readonly completedTasks: number
  /** Bytes the stage read from its inputs so far. */
  readonly inputBytesRead: number
  /** Whether the stage has finished. */
  readonly done: boolean
}

/** Options of one Spark Connect operation. */
export interface SparkExecuteOptions {
  /**
   * The operation's id (a UUID), for a caller that must know it before the operation starts (to re-attach to it from
   * another process); a new random one when absent.
   */
  readonly operationId?: string | undefined
  /** Aborting cancels the call and interrupts the operation on the server; the call then fails with `JOB_CANCELLED`. */
  readonly signal?: AbortSignal | undefined
  /** A tag for {@link SparkConnectClient.interrupt} (`{ tag }`); no commas, not empty. */
  readonly tag?: string | undefined
  /** Called with each progress report of the server. */
  readonly onProgress?: ((progress: SparkProgress) => void) | undefined
}

/** One Arrow batch of a result, decoded on its own. */
export interface SparkBatch {
  /** The result's columns. */
  readonly schema: readonly SparkColumn[]
  /** The batch's rows. */
  readonly rows: readonly SparkRow[]
  /** The row offset of this batch in the whole result. */
  readonly startOffset: number
}

/** A complete result of a SQL query or statement. */
export interface SparkResult {
  /** The columns (empty for a statement without output, e.g. `CREATE TEMP VIEW`). */
  readonly schema: readonly SparkColumn[]
  /** Every row, in order. */
  readonly rows: readonly SparkRow[]
  /** The Arrow batches the rows came in. */
  readonly batches: readonly SparkBatch[]
  /** The id of the operation on the server. */
  readonly operationId: string
}

/** What {@link SparkConnectClient.interrupt} stops: one operation, every operation with a tag, or all of the session's. */
export type SparkInterruptTarget = { readonly operationId: string } | { readonly tag: string } | 'all'

/** A data source to read, as `DataFrameReader.format(format).schema(schema).options(options).load(...paths)`. */
export interface SparkReadSource {
  /** The data source: `csv`, `json`, `parquet`, `orc`, `text`, `jdbc`, ... */
  readonly format: string
  /** The files or folders read; none for sources such as `jdbc` that take options. */
  readonly paths?: readonly string[] | undefined
  /** A DDL schema (`id INT, name STRING`); the source infers one when absent. */
  readonly schema?: string | undefined
  /** The source's options (strings, as Spark takes them). */
  readonly options?: Readonly<Record<string, string>> | undefined
}

/**
 * A relation the client sends: a SQL query, a data source read, or the first rows of another relation. Sent as
 * Spark Connect's own relation messages, so option values (a JDBC password, say) never appear in SQL text.
 */
export type SparkRelation =
  | { readonly sql: string }
  | { readonly read: SparkReadSource }
  | { readonly limit: { readonly input: SparkRelation; readonly rows: number } }

/** Where and how {@link SparkConnectClient.write} saves a relation's rows (`DataFrameWriter`). */
export interface SparkWriteTarget {
  /** The data source written: `parquet`, `csv`, `json`, `jdbc`, ... */
  readonly format: string
  /** The folder written; none for sources such as `jdbc`. */
  readonly path?: string | undefined
  /**
   * What happens when the target exists.
   * @default 'errorifexists'
   */
  readonly mode?: 'overwrite' | 'append' | 'errorifexists' | 'ignore' | undefined
  /** Columns to partition the output by (one folder level per column). */
  readonly partitionBy?: readonly string[] | undefined
  /** The source's options. */
  readonly options?: Readonly<Record<string, string>> | undefined
}

/** What {@link SparkConnectClient.explain} shows: Spark's explain modes. */
export type SparkExplainMode = 'simple' | 'extended' | 'codegen' | 'cost' | 'formatted'

const SAVE_MODES = {
  overwrite: 'SAVE_MODE_OVERWRITE',
  append: 'SAVE_MODE_APPEND',
  errorifexists: 'SAVE_MODE_ERROR_IF_EXISTS',
  ignore: 'SAVE_MODE_IGNORE',
} as const

/** The protocol message of a {@link SparkRelation}. */
function relationMessage(relation: SparkRelation): object {
  if ('sql' in relation) return { sql: { query: relation.sql } }
  if ('read' in relation) {
    const { format, paths, schema, options } = relation.read
    return {
      read: {
        data_source: {
          format,
          ...(schema === undefined ? {} : { schema }),
          options: { ...options },
          paths: [...(paths ?? [])],
        },
      },
    }
  }
  const { input, rows } = relation.limit
  if (!Number.isInteger(rows) || rows < 0 || rows > 2_147_483_647) {
    throw new StudioError('VALIDATION_FAILED', `a limit is an integer from 0 to 2147483647, not ${rows}`)
  }
  return { limit: { input: relationMessage(input), limit: rows } }
}

const DEFAULT_MAX_RECEIVE = 128 * 1024 * 1024
const STATUS_DETAILS_KEY = 'grpc-status-details-bin'

// Decoded protocol messages: only the fields the client reads (see proto/sparkle/connect/spark_connect.proto).
interface RelationMessage {
  readonly rel_type?: 'sql' | 'local_relation' | undefined
  readonly sql?: { readonly query: string } | null | undefined
  readonly local_relation?: { readonly data?: Buffer | null | undefined } | null | undefined
}
interface ExecuteResponse {
  readonly response_type?: 'arrow_batch' | 'sql_command_result' | 'result_complete' | 'execution_progress' | undefined
  readonly operation_id: string
  readonly response_id: string
  readonly server_side_session_id: string
  readonly arrow_batch?: {
    readonly row_count: string
    readonly data: Buffer
    readonly start_offset?: string | null
  } | null
  readonly sql_command_result?: { readonly relation?: RelationMessage | null } | null
  readonly execution_progress?: {
    readonly num_inflight_tasks: string
    readonly stages: readonly {
      readonly stage_id: string
      readonly num_tasks: string
      readonly num_completed_tasks: string
      readonly input_bytes_read: string
      readonly done: boolean
    }[]
  } | null
}
interface ErrorDetailsResponse {
  readonly root_error_idx?: number | null
  readonly errors: readonly {
    readonly error_type_hierarchy: readonly string[]
    readonly message: string
    readonly spark_throwable?: {
      readonly error_class?: string | null
      readonly sql_state?: string | null
      readonly message_parameters: Record<string, string>
    } | null
  }[]
}
type Callback<T> = (error: ServiceError | null, response?: T) => void
/** The calls of the generated service client the Spark Connect client makes. */
interface ConnectStub {
  ExecutePlan(request: object, metadata: Metadata, options?: CallOptions): ClientReadableStream<ExecuteResponse>
  ReattachExecute(request: object, metadata: Metadata, options?: CallOptions): ClientReadableStream<ExecuteResponse>
  ReleaseExecute(request: object, metadata: Metadata, callback: Callback<object>): ClientUnaryCall
  Config(
    request: object,
    metadata: Metadata,
    callback: Callback<{ readonly pairs: readonly { readonly key: string; readonly value?: string | null }[] }>,
  ): ClientUnaryCall
  AnalyzePlan(
    request: object,
    metadata: Metadata,
    callback: Callback<{ readonly explain?: { readonly explain_string: string } | null }>,
  ): ClientUnaryCall
  Interrupt(request: object, metadata: Metadata, callback: Callback<{ interrupted_ids: string[] }>): ClientUnaryCall
  ReleaseSession(request: object, metadata: Metadata, callback: Callback<object>): ClientUnaryCall
  FetchErrorDetails(request: object, metadata: Metadata, callback: Callback<ErrorDetailsResponse>): ClientUnaryCall
  close(): void
}

const isServiceError = (e: unknown): e is ServiceError =>
  e instanceof Error && typeof (e as { code?: unknown }).code === 'number' && 'metadata' in e
const nonEmpty = (s: string | null | undefined): string | undefined => (s ? s : undefined)

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

/**
 * A Spark Connect client: runs SQL on any Spark 4 Spark Connect server over gRPC and returns typed rows (see
 * {@link SparkValue} for the exact mapping). One client is one Spark session on the server (its temp views and
 * settings live there) until {@link SparkConnectClient.close}.
 *
 * @example
 * ```ts
 * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
 *
 * const client = new SparkConnectClient({ host: 'spark.internal', port: 15002, token: process.env.SPARK_TOKEN })
 * try {
 *   const { rows } = await client.executeSql('SELECT 1 AS one', { signal: AbortSignal.timeout(30_000) })
 *   console.log(rows[0]?.one) // 1
 * } finally {
 *   await client.close()
 * }
 * ```
 */
export class SparkConnectClient {
  /** The client-side session id sent with every call. */
  readonly sessionId: string
  readonly #stub: ConnectStub
  readonly #userContext: { readonly user_id: string; readonly user_name: string }
  readonly #clientType: string
  readonly #token: string | undefined
  readonly #extraMetadata: Readonly<Record<string, string>>
  readonly #randomId: () => string
  readonly #retry: Required<{ [K in keyof SparkConnectRetryOptions]: number }>
  #serverSessionId: string | undefined
  #closed = false

  constructor(options: SparkConnectClientOptions) {
    const { Service } = sparkConnectProtocol()
    const address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port ?? DEFAULT_SPARK_CONNECT_PORT}`
    const channelCredentials = options.useSsl ? credentials.createSsl() : credentials.createInsecure()
    this.#stub = new Service(address, channelCredentials, {
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE,
    }) as unknown as ConnectStub
    this.#randomId = options.randomId ?? randomUUID
    this.sessionId = options.sessionId ?? randomUUID()
    this.#userContext = Object.freeze({
      user_id: options.userId ?? 'sparkle-studio',
      user_name: options.userName ?? '',
    })
    this.#clientType = options.clientType ?? 'sparkle-studio'
    this.#token = options.token
    this.#extraMetadata = Object.freeze({ ...options.metadata })
    this.#retry = Object.freeze({
      maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 5),
      initialDelayMs: options.retry?.initialDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 5000,
    })
  }

  /**
   * A client for an `sc://` connection string (its host, port, token, TLS, user id, user agent, session id,
   * message size limit and extra parameters as call metadata), with `overrides` on top.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = SparkConnectClient.fromConnectionString(process.env.SPARK_REMOTE ?? 'sc://localhost')
   * console.log((await client.executeSql('SELECT current_user() AS me')).rows)
   * ```
   */
  static fromConnectionString(
    connection: string | ConnectionString,
    overrides: Partial<SparkConnectClientOptions> = {},
  ): SparkConnectClient {
    const parsed = typeof connection === 'string' ? parseConnectionString(connection) : connection
    return new SparkConnectClient({
      host: parsed.host,
      port: parsed.port,
      token: parsed.token,
      useSsl: parsed.tls,
      userId: parsed.userId,
      clientType: parsed.userAgent,
      sessionId: parsed.sessionId,
      maxReceiveMessageBytes: parsed.grpcMaxMessageSize,
      metadata: parsed.metadata,
      ...overrides,
    })
  }

  /** The server's id of the session, once a response told it (it changes when the server restarts). */
  get serverSessionId(): string | undefined {
    return this.#serverSessionId
  }

  /**
   * Runs one SQL query (or statement) as a relation (`Plan.root.sql`) and collects its result.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * const { schema, rows } = await client.executeSql('SELECT 1.50 AS price', { onProgress: (p) => console.log(p.stages) })
   * console.log(schema[0]?.type, rows[0]?.price) // 'decimal(3,2)' '1.50'
   * ```
   */
  async executeSql(sql: string, options: SparkExecuteOptions = {}): Promise<SparkResult> {
    return this.#collect({ root: { sql: { query: sql } } }, options)
  }

  /**
   * Runs one SQL query as a relation and yields its Arrow batches one by one, each decoded on its own, so a large
   * result is never held whole. Leaving the loop early cancels the operation.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * for await (const batch of client.streamSql('SELECT id FROM range(0, 1000000)')) console.log(batch.rows.length)
   * ```
   */
  async *streamSql(sql: string, options: SparkExecuteOptions = {}): AsyncGenerator<SparkBatch, void, undefined> {
    for await (const item of this.#run({ root: { sql: { query: sql } } }, options)) {
      if ('rows' in item) yield item
    }
  }

  /**
   * Runs a SQL statement as an eager command (`Plan.command.sql_command`), as `spark.sql()` does: a command (DDL,
   * `SET`, `SHOW ...`) runs at once and its output comes back inline; a query comes back as a relation, which is then
   * run and collected in the same session.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * await client.executeCommand('CREATE TEMP VIEW answer AS SELECT 42 AS n')
   * console.log((await client.executeSql('SELECT n FROM answer')).rows) // [{ n: 42 }]
   * ```
   */
  async executeCommand(sql: string, options: SparkExecuteOptions = {}): Promise<SparkResult> {
    let relation: RelationMessage | undefined
    const batches: SparkBatch[] = []
    let operationId = ''
    for await (const item of this.#run({ command: { sql_command: { input: { sql: { query: sql } } } } }, options)) {
      if ('relation' in item) relation = item.relation
      else if ('rows' in item) batches.push(item)
      else operationId = item.operationId
    }
    if (relation?.rel_type === 'local_relation') {
      const data = relation.local_relation?.data
      const decoded = data && data.length > 0 ? decodeBatches(data, 0) : []
      return resultOf(decoded, operationId)
    }
    if (relation?.rel_type === 'sql') return this.#collect({ root: relation }, options)
    return resultOf(batches, operationId)
  }

  /**
   * Runs a relation (a SQL query, a data source read, a limit) and collects its result.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * const source = { read: { format: 'csv', paths: ['/data/orders.csv'], options: { header: 'true' } } }
   * const { schema, rows } = await client.execute({ limit: { input: source, rows: 10 } })
   * ```
   */
  async execute(relation: SparkRelation, options: SparkExecuteOptions = {}): Promise<SparkResult> {
    return this.#collect({ root: relationMessage(relation) }, options)
  }

  /**
   * Defines (or replaces) a temporary view of this session over a relation, as `createOrReplaceTempView` does.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * await client.createTempView('orders', { read: { format: 'parquet', paths: ['/data/orders'] } })
   * console.log((await client.executeSql('SELECT count(*) AS n FROM orders')).rows)
   * ```
   */
  async createTempView(name: string, relation: SparkRelation, options: SparkExecuteOptions = {}): Promise<SparkResult> {
    const command = {
      create_dataframe_view: { input: relationMessage(relation), name, is_global: false, replace: true },
    }
    return this.#collect({ command }, options)
  }

  /**
   * Writes a relation's rows to a data source (`DataFrameWriter.save`), and resolves once they are written.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * await client.write({ sql: 'SELECT * FROM orders WHERE amount > 0' }, { format: 'parquet', path: '/out/paid', mode: 'overwrite' })
   * ```
   */
  async write(
    relation: SparkRelation,
    target: SparkWriteTarget,
    options: SparkExecuteOptions = {},
  ): Promise<SparkResult> {
    const write_operation = {
      input: relationMessage(relation),
      source: target.format,
      ...(target.path === undefined ? {} : { path: target.path }),
      mode: SAVE_MODES[target.mode ?? 'errorifexists'],
      partitioning_columns: [...(target.partitionBy ?? [])],
      options: { ...target.options },
    }
    return this.#collect({ command: { write_operation } }, options)
  }

  /**
   * Spark's explanation of a relation's plans (`AnalyzePlan` explain): the server parses and analyzes the relation,
   * and plans it, without running it.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * console.log(await client.explain({ sql: 'SELECT * FROM range(10) WHERE id > 5' }, 'extended'))
   * ```
   */
  async explain(
    relation: SparkRelation,
    mode: SparkExplainMode = 'simple',
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<string> {
    const response = await this.#unary<{ readonly explain?: { readonly explain_string: string } | null }>(
      'AnalyzePlan',
      {
        ...this.#base(),
        explain: { plan: { root: relationMessage(relation) }, explain_mode: `EXPLAIN_MODE_${mode.toUpperCase()}` },
      },
      options.signal,
    )
    return response.explain?.explain_string ?? ''
  }

  /**
   * Sets session configuration (`spark.conf.set`), e.g. runtime SQL settings; any string value, no SQL involved.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * await client.setConf({ 'spark.sql.shuffle.partitions': '4' })
   * ```
   */
  async setConf(
    pairs: Readonly<Record<string, string>>,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    const set = { pairs: Object.entries(pairs).map(([key, value]) => ({ key, value })) }
    await this.#unary('Config', { ...this.#base(), operation: { set } }, options.signal)
  }

  /**
   * Reads session configuration: each key's value, or undefined when it is not set.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * const { 'spark.app.id': appId } = await client.getConf(['spark.app.id'])
   * ```
   */
  async getConf(
    keys: readonly string[],
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<Record<string, string | undefined>> {
    const response = await this.#unary<{
      readonly pairs: readonly { readonly key: string; readonly value?: string | null }[]
    }>('Config', { ...this.#base(), operation: { get_option: { keys: [...keys] } } }, options.signal)
    const values: Record<string, string | undefined> = {}
    for (const key of keys) values[key] = undefined
    for (const pair of response.pairs) values[pair.key] = pair.value ?? undefined
    return values
  }

  /**
   * Attaches to an operation of this session that is still known to the server (started by this or another client
   * with the same session id and user id, for instance by a process that has since died) and collects its result
   * from the start, waiting for it to finish.
   *
   * @throws {@link SparkConnectError} with error class `INVALID_HANDLE.OPERATION_NOT_FOUND` when the server no
   * longer knows the operation (it finished and was released, or the server restarted).
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1', sessionId: saved.sessionId })
   * const { rows } = await client.reattach(saved.operationId)
   * ```
   */
  async reattach(operationId: string, options: SparkExecuteOptions = {}): Promise<SparkResult> {
    const batches: SparkBatch[] = []
    for await (const item of this.#run(undefined, options, operationId)) {
      if ('rows' in item) batches.push(item)
    }
    return resultOf(batches, operationId)
  }

  /**
   * Interrupts running operations of this session on the server and returns the ids of those it interrupted.
   *
   * @example
   * ```ts
   * import { SparkConnectClient } from '@sparkle-studio/spark/connect'
   *
   * const client = new SparkConnectClient({ host: '127.0.0.1' })
   * const running = client.executeSql('SELECT count(*) FROM range(0, 100000000000)', { tag: 'nightly' })
   * await client.interrupt({ tag: 'nightly' })
   * await running.catch((e) => console.log(e.code)) // 'SPARK_CONNECT_FAILED' (OPERATION_CANCELED)
   * ```
   */
  async interrupt(
    target: SparkInterruptTarget,
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): Promise<string[]> {
    const request =
      target === 'all'
        ? { interrupt_type: 'INTERRUPT_TYPE_ALL' }
        : 'tag' in target
          ? { interrupt_type: 'INTERRUPT_TYPE_TAG', operation_tag: checkTag(target.tag) }
          : { interrupt_type: 'INTERRUPT_TYPE_OPERATION_ID', operation_id: target.operationId }
    const response = await this.#unary<{ interrupted_ids: string[] }>(
      'Interrupt',
      { ...this.#base(), ...request },
      options.signal,
    )
    return [...response.interrupted_ids]
  }

  /**
   * Releases the server-side session (its temp views, settings and running operations) and closes the channel.
   * With `releaseSession: false` only the channel closes and the session stays on the server for another client
   * with the same session id (it expires after the server's idle timeout). Closing twice is a no-op; a server that
   * is already gone does not make it fail.
   */
  async close(options: { readonly releaseSession?: boolean | undefined } = {}): Promise<void> {
    if (this.#closed) return
    if (options.releaseSession === false) {
      this.#closed = true
      this.#stub.close()
      return
    }
    try {
      await this.#unary('ReleaseSession', {
        session_id: this.sessionId,
        user_context: this.#userContext,
        client_type: this.#clientType,
      })
    } catch (error) {
      if (!(error instanceof SparkConnectError && error.code === 'SPARK_UNAVAILABLE')) throw error
    } finally {
      this.#closed = true
      this.#stub.close()
    }
  }

  async #collect(plan: object, options: SparkExecuteOptions): Promise<SparkResult> {
    const batches: SparkBatch[] = []
    let operationId = ''
    for await (const item of this.#run(plan, options)) {
      if ('rows' in item) batches.push(item)
      else if ('operationId' in item) operationId = item.operationId
    }
    return resultOf(batches, operationId)
  }

  /** Runs a plan and turns its responses into batches, the SQL command's relation and, last, the operation id. */
  async *#run(
    plan: object | undefined,
    options: SparkExecuteOptions,
    attachTo?: string,
  ): AsyncGenerator<SparkBatch | { readonly relation: RelationMessage } | { readonly operationId: string }> {
    const operationId = attachTo ?? options.operationId ?? this.#randomId()
    // Batches arrive in order, so the rows seen so far are the next batch's offset.
    let offset = 0
    for await (const response of this.#execute(plan, operationId, options)) {
      switch (response.response_type) {
        case 'arrow_batch': {
          const batch = response.arrow_batch
          if (!batch) break
          for (const decoded of decodeBatches(batch.data, offset)) {
            offset += decoded.rows.length
            yield decoded
          }
          break
        }
        case 'sql_command_result':
          if (response.sql_command_result?.relation) yield { relation: response.sql_command_result.relation }
          break
        case 'execution_progress': {
          const progress = response.execution_progress
          if (progress && options.onProgress) {
            options.onProgress({
              operationId,
              inflightTasks: Number(progress.num_inflight_tasks),
              stages: progress.stages.map((s) => ({
                stageId: Number(s.stage_id),
                tasks: Number(s.num_tasks),
                completedTasks: Number(s.num_completed_tasks),
                inputBytesRead: Number(s.input_bytes_read),
                done: s.done,
              })),
            })
          }
          break
        }
        default:
          break
      }
    }
    yield { operationId }
  }

  /**
   * The response stream of an operation (started here from `plan`, or attached to when `plan` is undefined), with
   * retries, reattachment, session checks, cancellation, error details and, once complete, its release.
   *
   * Executions are reattachable: the server keeps their responses until released, so a stream that ends before
   * `result_complete` (the server closes long streams on purpose) or breaks with `UNAVAILABLE` is continued with
   * `ReattachExecute` after the last response received, without running anything twice.
   */
  async *#execute(
    plan: object | undefined,
    operationId: string,
    options: SparkExecuteOptions,
  ): AsyncGenerator<ExecuteResponse> {
    this.#assertOpen()
    const { signal } = options
    if (signal?.aborted) throw cancelled(operationId, signal)
    const request = plan && {
      ...this.#base(),
      operation_id: operationId,
      plan,
      request_options: [{ reattach_options: { reattachable: true } }],
      tags: options.tag === undefined ? [] : [checkTag(options.tag)],
    }
    // Once the server has the operation (a response came, or this call attaches), it is continued, never sent again.
    let started = plan === undefined
    let lastResponseId: string | undefined
    let complete = false
    let failures = 0
    for (;;) {
      const call = started
        ? this.#stub.ReattachExecute(
            {
              ...this.#base(),
              operation_id: operationId,
              ...(lastResponseId === undefined ? {} : { last_response_id: lastResponseId }),
            },
            this.#metadata(),
          )
        : this.#stub.ExecutePlan(request as object, this.#metadata())
      let interrupting: Promise<unknown> | undefined
      const interruptOnServer = () => {
        interrupting ??= this.interrupt({ operationId }).catch(() => undefined)
        return interrupting
      }
      const onAbort = () => {
        call.cancel()
        void interruptOnServer()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      let left = true
      try {
        for await (const response of call as AsyncIterable<ExecuteResponse>) {
          started = true
          this.#checkServerSession(response.server_side_session_id)
          if (response.response_id) lastResponseId = response.response_id
          if (response.response_type === 'result_complete') complete = true
          yield response
        }
        left = false
        if (complete) return
        // The server ended the stream before the result was complete: continue it where it stopped.
        failures = 0
      } catch (error) {
        left = false
        if (signal?.aborted) {
          await interruptOnServer()
          throw cancelled(operationId, signal)
        }
        if (isServiceError(error) && error.code === status.UNAVAILABLE && ++failures < this.#retry.maxAttempts) {
          const delay = Math.min(this.#retry.maxDelayMs, this.#retry.initialDelayMs * 2 ** (failures - 1))
          await sleep(delay, undefined, signal ? { signal } : undefined).catch(() => undefined)
          if (signal?.aborted) {
            if (started) await interruptOnServer()
            throw cancelled(operationId, signal)
          }
          continue
        }
        complete = true
        throw await this.#toError(error)
      } finally {
        signal?.removeEventListener('abort', onAbort)
        if (left && !complete) {
          // The caller left early: stop the stream and the work behind it.
          call.cancel()
          if (started) await interruptOnServer()
        }
        if (left || complete) this.#release(operationId, started)
      }
    }
  }

  /** Frees the server's buffered responses of a finished (or abandoned) reattachable operation, in the background. */
  #release(operationId: string, started: boolean): void {
    if (!started || this.#closed) return
    this.#unary('ReleaseExecute', { ...this.#base(), operation_id: operationId, release_all: {} }).catch(() => {})
  }

  #base() {
    return {
      session_id: this.sessionId,
      user_context: this.#userContext,
      client_type: this.#clientType,
      ...(this.#serverSessionId === undefined ? {} : { client_observed_server_side_session_id: this.#serverSessionId }),
    }
  }

  #metadata(): Metadata {
    const metadata = new Metadata()
    for (const [key, value] of Object.entries(this.#extraMetadata)) metadata.set(key, value)
    if (this.#token !== undefined) metadata.set('authorization', `Bearer ${this.#token}`)
    return metadata
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new SparkConnectError('SPARK_CONNECT_FAILED', 'the Spark Connect client is closed', {
        messageParameters: {},
        grpcStatus: 'CANCELLED',
        exceptionClasses: [],
      })
    }
  }

  #checkServerSession(id: string): void {
    if (!id) return
    if (this.#serverSessionId === undefined) this.#serverSessionId = id
    else if (this.#serverSessionId !== id) {
      throw new SparkConnectError(
        'SPARK_SESSION_CHANGED',
        `the Spark Connect server-side session changed (${this.#serverSessionId} became ${id}): the server restarted or dropped the session, and its state (temp views, settings) is gone`,
        { messageParameters: {}, grpcStatus: 'OK', exceptionClasses: [] },
      )
    }
  }

  #unary<T>(
    method: 'Interrupt' | 'ReleaseSession' | 'FetchErrorDetails' | 'ReleaseExecute' | 'AnalyzePlan' | 'Config',
    request: object,
    signal?: AbortSignal,
  ): Promise<T> {
    this.#assertOpen()
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(cancelled(method, signal))
      const done: Callback<T> = (error, response) => {
        signal?.removeEventListener('abort', onAbort)
        if (signal?.aborted) return reject(cancelled(method, signal))
        if (error || response === undefined) {
          if (method === 'FetchErrorDetails') return reject(error)
          return void this.#toError(error).then(reject, reject)
        }
        resolve(response)
      }
      const call = (this.#stub[method] as (r: object, m: Metadata, cb: Callback<T>) => ClientUnaryCall).call(
        this.#stub,
        request,
        this.#metadata(),
        done,
      )
      const onAbort = () => call.cancel()
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** A typed error from a failed call, with Spark's error class and parameters fetched by the error's id. */
  async #toError(error: unknown): Promise<SparkConnectError> {
    if (!isServiceError(error)) {
      if (error instanceof SparkConnectError) return error
      return new SparkConnectError(
        'SPARK_CONNECT_FAILED',
        error instanceof Error ? error.message : String(error),
        { messageParameters: {}, grpcStatus: 'UNKNOWN', exceptionClasses: [] },
        { cause: error },
      )
    }
    const grpcStatus = status[error.code] ?? String(error.code)
    const info = errorInfoOf(error.metadata)
    let message = error.details || error.message
    let errorClass = nonEmpty(info?.errorClass)
    let sqlState = nonEmpty(info?.sqlState)
    let messageParameters = parseJson<Record<string, string>>(info?.messageParameters, {})
    let exceptionClasses = parseJson<string[]>(info?.classes, [])
    const errorId = info?.errorId
    if (errorId && !this.#closed) {
      try {
        const details = await this.#unary<ErrorDetailsResponse>('FetchErrorDetails', {
          ...this.#base(),
          error_id: errorId,
        })
        const root = details.errors[details.root_error_idx ?? 0]
        if (root) {
          message = root.message || message
          exceptionClasses = [...root.error_type_hierarchy]
          const throwable = root.spark_throwable
          if (throwable) {
            errorClass = nonEmpty(throwable.error_class) ?? errorClass
            sqlState = nonEmpty(throwable.sql_state) ?? sqlState
            messageParameters = { ...throwable.message_parameters }
          }
        }
      } catch {
        // The details are a refinement: the status message and ErrorInfo metadata still describe the error.
      }
    }
    const code =
      error.code === status.UNAVAILABLE
        ? 'SPARK_UNAVAILABLE'
        : errorClass?.startsWith('INVALID_HANDLE.SESSION_CHANGED')
          ? 'SPARK_SESSION_CHANGED'
          : 'SPARK_CONNECT_FAILED'
    return new SparkConnectError(
      code,
      message,
      { errorClass, sqlState, messageParameters, grpcStatus, exceptionClasses },
      { cause: error },
    )
  }
}

function checkTag(tag: string): string {
  if (tag === '' || tag.includes(',')) {
    throw new StudioError(
      'VALIDATION_FAILED',
      `a Spark Connect operation tag is not empty and has no comma: ${JSON.stringify(tag)}`,
    )
  }
  return tag
}

function cancelled(operation: string, signal: AbortSignal): SparkConnectError {
  return new SparkConnectError(
    'JOB_CANCELLED',
    `the Spark Connect operation ${operation} was cancelled`,
    { messageParameters: {}, grpcStatus: 'CANCELLED', exceptionClasses: [] },
    { cause: signal.reason },
  )
}

/** The `google.rpc.ErrorInfo` metadata of a failed call, when the server attached one. */
interface SparkErrorMetadata {
  readonly errorId?: string | undefined
  readonly errorClass?: string | undefined
  readonly sqlState?: string | undefined
  readonly messageParameters?: string | undefined
  readonly classes?: string | undefined
}

function errorInfoOf(metadata: Metadata): SparkErrorMetadata | undefined {
  const raw = metadata.get(STATUS_DETAILS_KEY)[0]
  if (!(raw instanceof Buffer)) return undefined
  const protocol = sparkConnectProtocol()
  try {
    const rich = protocol.decodeStatus(raw)
    const detail = rich.details.find((d) => d.type_url.endsWith('/google.rpc.ErrorInfo'))
    return detail ? (protocol.decodeErrorInfo(detail.value).metadata as SparkErrorMetadata) : undefined
  } catch {
    return undefined
  }
}

/** Decodes one Arrow IPC stream (a schema and its batches) into {@link SparkBatch}es. */
function decodeBatches(data: Uint8Array, startOffset: number): SparkBatch[] {
  const table = tableFromIPC(data)
  const schema = sparkColumns(table.schema as Schema)
  let offset = startOffset
  const out: SparkBatch[] = []
  for (const batch of table.batches) {
    out.push({ schema, rows: rowsOf(table.schema, batch.data.children, batch.numRows), startOffset: offset })
    offset += batch.numRows
  }
  if (out.length === 0) out.push({ schema, rows: [], startOffset })
  return out
}

function resultOf(batches: readonly SparkBatch[], operationId: string): SparkResult {
  return {
    schema: batches[0]?.schema ?? [],
    rows: batches.length === 1 ? (batches[0] as SparkBatch).rows : batches.flatMap((b) => b.rows),
    batches,
    operationId,
  }
}
