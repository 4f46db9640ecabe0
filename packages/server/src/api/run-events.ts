// A run's events as a stream of messages: stored events first, then new ones as they are written, then `end`.
import { isFinalRunStatus, type RunStreamEvent, toRunStreamEvent } from '@sparkle-studio/core/routes'
import type { RunStore } from '@sparkle-studio/runs'

/** One message of a run's event stream (core's wire types), or a comment that keeps the connection alive. */
export type StreamMessage = RunStreamEvent | { readonly comment: string }

const POLL_MS = 250
const HEARTBEAT_MS = 15_000
const PAGE = 500

/** Streams a run's events from after `after` until the run is final and every event is sent, or `signal` aborts. */
export async function* runEvents(
  runs: RunStore,
  runId: string,
  after: string | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<StreamMessage> {
  yield { comment: 'stream of run events' }
  let cursor = after
  let lastBeat = Date.now()
  while (!signal?.aborted) {
    const events = await runs.events(runId, { ...(cursor ? { after: cursor } : {}), limit: PAGE })
    for (const e of events) {
      yield toRunStreamEvent(e)
      cursor = e.id
    }
    if (events.length === PAGE) continue
    const run = await runs.get(runId)
    if (isFinalRunStatus(run.status)) {
      // Events written just before the final status are in; one more read catches any written with it.
      const tail = await runs.events(runId, { ...(cursor ? { after: cursor } : {}), limit: PAGE })
      for (const e of tail) {
        yield toRunStreamEvent(e)
        cursor = e.id
      }
      yield { event: 'end', data: { status: run.status, error: run.error } }
      return
    }
    if (Date.now() - lastBeat > HEARTBEAT_MS) {
      yield { comment: 'keep-alive' }
      lastBeat = Date.now()
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}
