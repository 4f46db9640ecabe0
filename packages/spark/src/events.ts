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
 * Every run ends with exactly one `succeeded` or `failed` event.
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
      readonly type: 'succeeded'
      readonly ts: number
      /** The application's own duration, from SparkContext start to after it stopped. */
      readonly durationMs: number
    }
  | {
      readonly type: 'failed'
      readonly ts: number
      readonly nodeId?: string
      readonly errorClass?: string
      readonly message: string
    }

/** Parses the complete lines of a runner events file; a torn last line (still being written) is left out. */
export function parseRunnerEvents(text: string): RunnerEvent[] {
  const events: RunnerEvent[] = []
  const lines = text.split('\n')
  // The last element is either '' (text ended with a newline) or a line still being written.
  for (const line of lines.slice(0, -1)) {
    if (!line.trim()) continue
    try {
      const value = JSON.parse(line) as unknown
      if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
        events.push(value as RunnerEvent)
      }
    } catch {
      // A line that is not JSON is not an event; the runner only writes JSON lines.
    }
  }
  return events
}
