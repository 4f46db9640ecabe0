// The live event stream of a run, as Server-Sent Events: stored events first, then new ones as they are written.
import { isFinalRunStatus } from '@sparkle-studio/spark/store'
import type { HandlerContext } from './http.ts'
import { sseMessage } from './routes.ts'
import type { Services } from './services.ts'

const POLL_MS = 250
const HEARTBEAT_MS = 15_000

/** Streams a run's events from after `after` until the run is final and every event is sent, or the client leaves. */
export async function streamRunEvents(
  services: Services,
  runId: string,
  after: string | undefined,
  ctx: HandlerContext,
): Promise<void> {
  const { res, signal } = ctx
  res.status(200)
  res.setHeader('content-type', 'text/event-stream; charset=utf-8')
  res.setHeader('cache-control', 'no-cache, no-transform')
  res.setHeader('connection', 'keep-alive')
  res.setHeader('x-accel-buffering', 'no')
  res.flushHeaders()
  res.write(': stream of run events\n\n')
  let cursor = after
  let lastBeat = Date.now()
  while (!signal.aborted) {
    const events = await services.runs.events(runId, { ...(cursor ? { after: cursor } : {}), limit: 500 })
    for (const e of events) {
      res.write(sseMessage(e))
      cursor = e.id
    }
    if (events.length === 500) continue
    const run = await services.runs.get(runId)
    if (isFinalRunStatus(run.status)) {
      // Events written just before the final status are already in; one more read catches any written with it.
      const tail = await services.runs.events(runId, { ...(cursor ? { after: cursor } : {}), limit: 500 })
      for (const e of tail) {
        res.write(sseMessage(e))
        cursor = e.id
      }
      res.write(`event: end\ndata: ${JSON.stringify({ status: run.status, error: run.error })}\n\n`)
      break
    }
    if (Date.now() - lastBeat > HEARTBEAT_MS) {
      res.write(': keep-alive\n\n')
      lastBeat = Date.now()
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  res.end()
}
