/**
 * Every state a run can be in, in life order as the API lists them. `retrying` waits for the next attempt after a
 * backoff; `succeeded`, `failed` and `cancelled` are final.
 */
export const RUN_STATUSES = Object.freeze([
  'queued',
  'submitting',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
] as const)

/** Where a run is in its life (see {@link RUN_STATUSES}). */
export type RunStatus = (typeof RUN_STATUSES)[number]

/** The statuses a run never leaves. */
export type FinalRunStatus = Extract<RunStatus, 'succeeded' | 'failed' | 'cancelled'>

/** True when `status` is final: `succeeded`, `failed` or `cancelled`. */
export function isFinalRunStatus(status: string): status is FinalRunStatus {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled'
}

/** Why a run or one of its attempts failed. */
export interface RunError {
  /** A human-readable sentence. */
  readonly message: string
  /** A stable code, e.g. an SDK error code, or `LOST` for a job that vanished. */
  readonly code?: string
  /** The pipeline node whose step failed, when one did. */
  readonly nodeId?: string
  /** Spark's error class, when Spark reported one. */
  readonly errorClass?: string
}

/** The `payload` of a `status` event: the run's new status and why it changed. */
export interface RunStatusPayload {
  readonly status: RunStatus
  /** The attempt the change belongs to. */
  readonly attempt?: number
  /** The worker that claimed the run (status `submitting`). */
  readonly workerId?: string
  /** How the attempt ended (statuses `retrying` and `failed`). */
  readonly attemptStatus?: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost' | 'released'
  /** The backoff before the next attempt (status `retrying`). */
  readonly delayMs?: number
  /** Why the attempt failed (statuses `retrying` and `failed`). */
  readonly error?: RunError
  /** A stopping worker handed the run back before submitting it (status `queued`). */
  readonly released?: boolean
  /** The run this one retries (status `queued`). */
  readonly retryOf?: string
  /** The backfill whose cancellation cancelled the run (status `cancelled`). */
  readonly backfillId?: string
  /** Why the run was cancelled, when the caller said (status `cancelled`). */
  readonly reason?: string
}

/** The `payload` of a `log` event: one line of the driver's log. */
export interface RunLogPayload {
  readonly line: string
}

/**
 * The `data` of every event of the stream but `end`: one stored event of the run. `id` increases; reconnect with it
 * as `Last-Event-ID` (or `?after=`) to resume after it.
 */
export interface RunEventData<Type extends string = string, Payload = Readonly<Record<string, unknown>>> {
  readonly id: number
  /**
   * The stored event's type: `status`, `log`, or (under the SSE event `event`) a runner event such as `submitted`,
   * `reattached`, `takeover`, `released`, `spark`, `progress`, `cancel_requested`, `retried`.
   */
  readonly type: Type
  readonly payload: Payload
}

/** The `data` of the final `end` event: how the run ended. */
export interface RunEndData {
  readonly status: FinalRunStatus
  /** Why the run failed; absent or `null` when it did not. */
  readonly error?: RunError | null
}

/**
 * The messages of a run's event stream (`GET /executions/{id}/events`), by SSE event name: `status` changes,
 * `log` lines, every other runner `event`, and one final `end` after which the server closes the stream.
 */
export interface RunStreamEventMap {
  readonly status: RunEventData<'status', RunStatusPayload>
  readonly log: RunEventData<'log', RunLogPayload>
  readonly event: RunEventData
  readonly end: RunEndData
}

/** The SSE event name of a message of a run's event stream. */
export type RunStreamEventName = keyof RunStreamEventMap

/** Every {@link RunStreamEventName}. */
export const RUN_STREAM_EVENT_NAMES: readonly RunStreamEventName[] = Object.freeze(['status', 'log', 'event', 'end'])

/**
 * One message of a run's event stream, as a client reads it: the SSE `event:` name, the `id:` (absent on `end`)
 * and the parsed JSON `data:`. Narrow on `event` to get the data's type.
 *
 * @example
 * ```ts
 * import type { RunStreamEvent } from '@sparkle-studio/core/routes'
 *
 * function show(e: RunStreamEvent): string {
 *   if (e.event === 'status') return `now ${e.data.payload.status}`
 *   if (e.event === 'log') return e.data.payload.line
 *   if (e.event === 'end') return `ended ${e.data.status}`
 *   return e.data.type
 * }
 * ```
 */
export type RunStreamEvent =
  | { readonly event: 'status'; readonly id: number; readonly data: RunStreamEventMap['status'] }
  | { readonly event: 'log'; readonly id: number; readonly data: RunStreamEventMap['log'] }
  | { readonly event: 'event'; readonly id: number; readonly data: RunStreamEventMap['event'] }
  | { readonly event: 'end'; readonly id?: undefined; readonly data: RunStreamEventMap['end'] }

/** A stored run event as a run store gives it (its id may be a string: a bigint column). */
export interface StoredRunEvent {
  readonly id: string | number
  readonly type: string
  readonly payload: Readonly<Record<string, unknown>>
}

/** The stream message of a stored run event: `status` and `log` keep their name, every other type is an `event`. */
export function toRunStreamEvent(stored: StoredRunEvent): RunStreamEvent {
  const id = Number(stored.id)
  const { type, payload } = stored
  if (type === 'status')
    return { event: 'status', id, data: { id, type, payload: payload as unknown as RunStatusPayload } }
  if (type === 'log') return { event: 'log', id, data: { id, type, payload: payload as unknown as RunLogPayload } }
  return { event: 'event', id, data: { id, type, payload } }
}

/**
 * Writes one message of a run's event stream in the SSE wire format: `id:` (when there is one), `event:` and one
 * `data:` line of JSON, then a blank line.
 *
 * @example
 * ```ts
 * import { formatRunStreamEvent } from '@sparkle-studio/core/routes'
 *
 * formatRunStreamEvent({ event: 'end', data: { status: 'succeeded' } }) // 'event: end\ndata: {"status":"succeeded"}\n\n'
 * ```
 */
export function formatRunStreamEvent(message: RunStreamEvent): string {
  const id = message.id === undefined ? '' : `id: ${message.id}\n`
  return `${id}event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`
}
