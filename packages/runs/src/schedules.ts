import type { StoreContext } from './context.ts'
import type { CronSchedule } from './cron.ts'
import { insertRuns, newRunRow } from './enqueue.ts'
import type { Run } from './run.ts'
import { formatDate, formatZoned, wallTimeOf } from './time-zone.ts'

/**
 * Which missed slots a schedule runs after downtime: `none` only slots that fell due within the grace period (so
 * just the current one), `latest` the most recent missed slot, `all` every missed slot up to the catch-up cap.
 */
export type CatchUpPolicy = 'none' | 'latest' | 'all'

/** A pipeline's schedule, as the host supplies it (from the pipeline document's `schedule`). */
export interface ScheduleSpec {
  readonly pipeline: string
  /** The revision scheduled runs use; absent: resolved when each run is claimed. */
  readonly revision?: string | null | undefined
  /** A 5-field cron expression or a nickname such as `@daily`. */
  readonly cron: string
  /**
   * IANA time zone the cron expression is read in.
   * @default 'UTC'
   */
  readonly timezone?: string | undefined
  /**
   * What to run after downtime.
   * @default 'latest'
   */
  readonly catchUp?: CatchUpPolicy | undefined
  /** Parameters of each scheduled run, besides `slot` and `ds`. */
  readonly params?: Readonly<Record<string, unknown>> | undefined
  /**
   * Priority of scheduled runs.
   * @default 0
   */
  readonly priority?: number | undefined
  /**
   * Attempts per scheduled run.
   * @default 1
   */
  readonly maxAttempts?: number | undefined
}

/** What one evaluation of a schedule did. */
export interface ScheduleEvaluation {
  readonly pipeline: string
  /** Runs created (or found, by idempotency key) for due slots, oldest slot first. */
  readonly runs: readonly Run[]
  /** Due slots not run because of the catch-up policy or cap. */
  readonly skippedSlots: number
  /** True when `all` hit the cap and older slots were dropped. */
  readonly capped: boolean
}

/** The idempotency key of a pipeline's schedule slot. */
export function slotKeyOf(pipeline: string, slot: Date): string {
  return `schedule:${pipeline}:${slot.toISOString()}`
}

/**
 * Enqueues one run per due slot of a schedule in (last evaluation, now], as its catch-up policy says, and records
 * how far the schedule was evaluated, in one transaction. A schedule seen for the first time starts from now.
 */
export async function evaluateSchedule(
  ctx: StoreContext,
  spec: ScheduleSpec,
  schedule: CronSchedule,
  now: Date,
  limits: { readonly maxCatchUp: number; readonly graceMs: number },
): Promise<ScheduleEvaluation> {
  return ctx.db.transaction().execute(async (trx) => {
    const state = await trx
      .selectFrom('schedule_state')
      .selectAll()
      .where('pipeline', '=', spec.pipeline)
      .forUpdate()
      .executeTakeFirst()
    if (!state) {
      await trx
        .insertInto('schedule_state')
        .values({
          pipeline: spec.pipeline,
          cron: schedule.cron,
          timezone: schedule.timezone,
          evaluated_until: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('pipeline').doNothing())
        .execute()
      return { pipeline: spec.pipeline, runs: [], skippedSlots: 0, capped: false }
    }
    const since = new Date(state.evaluated_until)
    if (now.getTime() <= since.getTime()) return { pipeline: spec.pipeline, runs: [], skippedSlots: 0, capped: false }
    // Most recent first; one more than the cap tells whether older slots were left out.
    const recent = schedule.previous(limits.maxCatchUp + 1, now).filter((slot) => slot.getTime() > since.getTime())
    const capped = recent.length > limits.maxCatchUp
    const due = recent.slice(0, limits.maxCatchUp).reverse()
    const policy = spec.catchUp ?? 'latest'
    const chosen =
      policy === 'all'
        ? due
        : policy === 'latest'
          ? due.slice(-1)
          : due.filter((slot) => now.getTime() - slot.getTime() <= limits.graceMs).slice(-1)
    const rows = chosen.map((slot) =>
      newRunRow(
        ctx,
        {
          pipeline: spec.pipeline,
          revision: spec.revision,
          params: {
            ...(spec.params ?? {}),
            slot: formatZoned(slot, schedule.timezone),
            ds: formatDate(wallTimeOf(slot, schedule.timezone)),
          },
          priority: spec.priority,
          maxAttempts: spec.maxAttempts,
        },
        { scheduleSlot: slot },
        slotKeyOf(spec.pipeline, slot),
      ),
    )
    const results = await insertRuns(trx, rows)
    const last = results.at(-1)?.run
    await trx
      .updateTable('schedule_state')
      .set({
        cron: schedule.cron,
        timezone: schedule.timezone,
        evaluated_until: now,
        updated_at: now,
        ...(last ? { last_slot: last.scheduleSlot, last_run_id: last.id } : {}),
      })
      .where('pipeline', '=', spec.pipeline)
      .execute()
    return {
      pipeline: spec.pipeline,
      runs: results.map((r) => r.run),
      skippedSlots: due.length - chosen.length,
      capped,
    }
  })
}
