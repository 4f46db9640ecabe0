/** Column description reported with preview and query rows. */
export interface ColumnInfo {
  /** Column name. */
  readonly name: string
  /** Spark SQL type in its short form, e.g. `bigint`, `decimal(10,2)`, `array<string>`. */
  readonly type: string
  /** Whether the column may hold nulls. */
  readonly nullable: boolean
}

/**
 * One structured event written by the plan runner on its own channel (a JSON-lines file), apart from Spark's logs.
 * Every run ends with exactly one `succeeded` or `failed` event, preceded by a `usage` event when Spark could say.
 */
export type RunnerEvent =
  | {
      readonly type: 'started'
      readonly ts: number
      readonly appId: string
      readonly uiUrl: string | null
      readonly master: string
      /** The application's name (`spark.app.name`). */
      readonly appName?: string
      readonly sparkVersion: string
      /** When the SparkContext started (epoch ms), as Spark's own application start time. */
      readonly appStartTime?: number
      /** When the Python runner started (epoch ms), before it started Spark. */
      readonly runnerStartTime?: number
      /** Pid of the Python driver (the runner). */
      readonly pid?: number
      /** Pid of the driver JVM. */
      readonly driverPid?: number
    }
  | {
      readonly type: 'step_started'
      readonly ts: number
      readonly nodeId: string
      readonly index: number
      readonly kind: string
    }
  | {
      readonly type: 'step_finished'
      readonly ts: number
      readonly nodeId: string
      readonly index: number
      readonly durationMs: number
      readonly rows?: number
      /** Time the driver spent checking the step against its rules (parsed and analyzed plans, paths). */
      readonly checksMs?: number
      /**
       * Records the step's own Spark jobs read from storage (their stages' input records). Rows a source skips by a
       * filter pushed down into it are not read. This and the fields below are absent when the step ran no Spark job
       * (a lazy view) or Spark could not say.
       */
      readonly rowsIn?: number
      /** Bytes the step's Spark jobs read from storage (their stages' input bytes). */
      readonly bytesRead?: number
      /** Bytes the step's Spark jobs wrote (their stages' output bytes): for a write step, the data files written. */
      readonly bytesWritten?: number
      /** Run time of the step's tasks, summed (executor run time), in milliseconds. */
      readonly taskMs?: number
      /** Spark jobs the step ran. */
      readonly jobs?: number
    }
  | {
      readonly type: 'rows'
      readonly ts: number
      readonly nodeId: string
      readonly schema: readonly ColumnInfo[]
      readonly rows: readonly Record<string, unknown>[]
      readonly truncated: boolean
    }
  | {
      readonly type: 'check'
      readonly ts: number
      readonly nodeId: string
      readonly severity: 'error' | 'warn'
      readonly description: string
      /** Rows that failed the check; more than zero fails an `error` check. */
      readonly failedRows: number
    }
  | {
      /**
       * What the application used, from the driver's status store: written once, right before the final `succeeded`
       * or `failed` event, when Spark can still say. In local mode the driver is the only executor.
       */
      readonly type: 'usage'
      readonly ts: number
      /** Executors the application had, removed ones included. */
      readonly executors?: number
      /** Their cores, summed (N of `local[N]` in local mode). */
      readonly cores?: number
      /** Core-seconds allocated: Σ over executors of cores × (removal time, or now, − time added); what a cluster bills. */
      readonly coreSeconds?: number
      /** Run time of every task, summed, in seconds. */
      readonly taskSeconds?: number
      /** CPU time of every task, summed, in seconds. */
      readonly cpuSeconds?: number
      /** Highest JVM heap + off-heap memory of an executor, else the highest peak execution memory of a stage. */
      readonly peakMemoryBytes?: number
      /** Bytes every stage read from storage. */
      readonly inputBytes?: number
      /** Bytes every stage wrote. */
      readonly outputBytes?: number
      /** Shuffle bytes every stage read. */
      readonly shuffleReadBytes?: number
      /** Shuffle bytes every stage wrote. */
      readonly shuffleWriteBytes?: number
    }
  | {
      readonly type: 'succeeded'
      readonly ts: number
      /** The application's own duration, from SparkContext start to after it stopped. */
      readonly durationMs: number
      /** Tasks completed by the application's jobs, counted at its end as Spark's REST API counts them. */
      readonly completedTasks?: number
      /** Tasks of the application's jobs (skipped tasks of reused stages left out), counted at its end. */
      readonly totalTasks?: number
    }
  | {
      readonly type: 'failed'
      readonly ts: number
      readonly nodeId?: string
      readonly errorClass?: string
      readonly message: string
      /** For a step the driver refused (`POLICY_*` error classes): the rule it broke, e.g. `reflection`. */
      readonly rule?: string
      /** For a step the driver refused: how to change the pipeline so that it runs. */
      readonly fix?: string
      /** Tasks completed when the step failed (absent when Spark could not say, e.g. its JVM died). */
      readonly completedTasks?: number
      /** Tasks of the application's jobs when the step failed. */
      readonly totalTasks?: number
    }

/**
 * The `type` of every {@link RunnerEvent}, as the runner writes it; `runner/events.schema.json` lists the same ones
 * (a test checks both ways).
 */
export const RUNNER_EVENT_TYPES: readonly RunnerEvent['type'][] = Object.keys({
  started: true,
  step_started: true,
  step_finished: true,
  rows: true,
  check: true,
  usage: true,
  succeeded: true,
  failed: true,
} satisfies Record<RunnerEvent['type'], true>) as RunnerEvent['type'][]

const EVENT_TYPES = new Set<string>(RUNNER_EVENT_TYPES)

/**
 * Parses the complete lines of a runner events file; a torn last line (still being written) is left out, and so is a
 * line that is not an event of a known type.
 */
export function parseRunnerEvents(text: string): RunnerEvent[] {
  const events: RunnerEvent[] = []
  const lines = text.split('\n')
  // The last element is either '' (text ended with a newline) or a line still being written.
  for (const line of lines.slice(0, -1)) {
    if (!line.trim()) continue
    try {
      const value = JSON.parse(line) as unknown
      if (
        typeof value === 'object' &&
        value !== null &&
        EVENT_TYPES.has((value as { type?: unknown }).type as string)
      ) {
        events.push(value as RunnerEvent)
      }
    } catch {
      // A line that is not JSON is not an event; the runner only writes JSON lines.
    }
  }
  return events
}

/** A node's failure in a preview. */
export interface PreviewError {
  /**
   * Spark's error condition (e.g. `UNRESOLVED_COLUMN.WITH_SUGGESTION`), `UPSTREAM_FAILED`, or for a step the driver
   * refused one of {@link POLICY_ERROR_CLASSES}.
   */
  readonly errorClass: string
  /** Spark's message. */
  readonly message: string
  /** For `UPSTREAM_FAILED`: the failed node this one reads from. */
  readonly upstreamNodeId?: string
  /** For a step the driver refused: the rule it broke, e.g. `reflection`, `read-roots`. */
  readonly rule?: string
  /** For a step the driver refused: how to change the pipeline so that it runs. */
  readonly fix?: string
}

/**
 * The error classes of a step the driver refused before running it (checked on Spark's parsed and analyzed plans):
 * reflection, commands, script transformation, functions the policy denies, paths outside its roots, JDBC URLs it does
 * not allow, and `POLICY_VIOLATION` when the driver could not check the plan at all.
 */
export const POLICY_ERROR_CLASSES = Object.freeze([
  'POLICY_REFLECTION',
  'POLICY_COMMAND',
  'POLICY_SCRIPT_TRANSFORM',
  'POLICY_FUNCTION',
  'POLICY_PATH',
  'POLICY_JDBC',
  'POLICY_VIOLATION',
] as const)

/** One of {@link POLICY_ERROR_CLASSES}. */
export type PolicyErrorClass = (typeof POLICY_ERROR_CLASSES)[number]

/** True when `errorClass` says the driver refused a step (a rule was broken; running it again will not help). */
export function isPolicyErrorClass(errorClass: string | undefined): errorClass is PolicyErrorClass {
  return (POLICY_ERROR_CLASSES as readonly string[]).includes(errorClass ?? '')
}

/** What one node produces in a preview: its schema and first rows, or its error. */
export type NodePreview =
  | {
      readonly nodeId: string
      readonly ok: true
      /** Columns of the node's result. */
      readonly schema: readonly ColumnInfo[]
      /** The first rows, as plain objects keyed by column name. */
      readonly rows: readonly Record<string, unknown>[]
      /** True when the node has more rows than were shown. */
      readonly truncated: boolean
      /** Time to compute this node's rows. */
      readonly durationMs: number
    }
  | { readonly nodeId: string; readonly ok: false; readonly error: PreviewError }

/**
 * One message of the serve driver (the warm preview driver) to its preview session, a JSON line on their loopback
 * connection: `hello` with the session's token, `ready` once Spark runs, then one answer per preview request.
 */
export type ServeMessage =
  | { readonly type: 'hello'; readonly token: string }
  | {
      readonly type: 'ready'
      readonly appId: string
      /** The Spark UI, `null` when it is off (as it is for previews). */
      readonly uiUrl: string | null
      readonly sparkVersion: string
      /** Pid of the Python driver. */
      readonly pid: number
      /** Pid of the driver JVM. */
      readonly driverPid: number
    }
  | {
      readonly type: 'result'
      readonly id: number
      readonly nodes: NodePreview[]
      readonly durationMs: number
      /** Time the driver spent checking the plan's steps (part of `durationMs`). */
      readonly checksMs?: number
    }
  | {
      readonly type: 'error'
      readonly id: number
      readonly errorClass: string
      readonly message: string
      readonly rule?: string
      readonly fix?: string
    }
  | { readonly type: 'cancelled'; readonly id: number }

/** The `type` of every {@link ServeMessage}; `runner/events.schema.json` lists the same ones (a test checks both ways). */
export const SERVE_MESSAGE_TYPES: readonly ServeMessage['type'][] = Object.keys({
  hello: true,
  ready: true,
  result: true,
  error: true,
  cancelled: true,
} satisfies Record<ServeMessage['type'], true>) as ServeMessage['type'][]
