import { isValidPipelineName, StudioError, type ValidationIssue } from '@sparkle-studio/core'
import { throwIfInvalid } from './context.ts'
import { validateEnqueueRequest } from './enqueue.ts'
import {
  addDays,
  daysInMonth,
  formatDate,
  formatZoned,
  instantOf,
  isValidTimeZone,
  type WallTime,
  wallTimeOf,
  weekday,
} from './time-zone.ts'

/** The size of one backfill partition. Weeks start on Monday (ISO 8601). */
export type BackfillGrain = 'hour' | 'day' | 'week' | 'month'

/** Every {@link BackfillGrain}. */
export const BACKFILL_GRAINS: readonly BackfillGrain[] = Object.freeze(['hour', 'day', 'week', 'month'])

/**
 * What a backfill does with a partition that already has a run: `none` skips it, `failed` runs it again when its run
 * failed or was cancelled, `all` runs it again when its run is finished whatever the result. A partition whose run
 * is still queued or in progress is always skipped.
 */
export type ReprocessPolicy = 'none' | 'failed' | 'all'

/** Limits of one backfill request. */
export const BACKFILL_LIMITS = Object.freeze({
  /** Most partitions one backfill may cover. */
  maxPartitions: 10_000,
  /** Highest concurrency a backfill may ask for. */
  maxConcurrency: 1_000,
  /** Earliest year a range may start in. */
  minYear: 1900,
  /** Latest year a range may end in. */
  maxYear: 9999,
})

/** Names of the partition parameters each run of a backfill receives. */
export interface PartitionParamNames {
  /**
   * The partition key (`2026-11-01` for day, week and month; `2026-11-01T05:00:00+01:00` for hour).
   * @default 'ds' (hour grain: 'ts')
   */
  readonly key?: string | undefined
  /**
   * The partition's start, RFC 3339 with the zone's offset.
   * @default 'start'
   */
  readonly start?: string | undefined
  /**
   * The partition's end (exclusive), RFC 3339 with the zone's offset.
   * @default 'end'
   */
  readonly end?: string | undefined
}

/** A backfill: one run per partition of a date range. */
export interface BackfillRequest {
  readonly pipeline: string
  /** The git revision every run uses; absent: the host resolves the current one when each run is claimed. */
  readonly revision?: string | null | undefined
  /**
   * Start of the range (inclusive): a `Date`, an RFC 3339 timestamp, or a local `YYYY-MM-DD` /
   * `YYYY-MM-DDTHH:mm[:ss]` read in `timezone`. Partitions whose start lies in [start, end) are covered.
   */
  readonly start: Date | string
  /** End of the range (exclusive), in the same forms as `start`. */
  readonly end: Date | string
  readonly grain: BackfillGrain
  /**
   * IANA time zone in which days, weeks and months begin.
   * @default 'UTC'
   */
  readonly timezone?: string | undefined
  /**
   * What to do with partitions that already have a run.
   * @default 'none'
   */
  readonly reprocess?: ReprocessPolicy | undefined
  /**
   * Most runs of this backfill in progress at once, across all workers.
   * @default 10
   */
  readonly concurrency?: number | undefined
  /**
   * `forward` runs the oldest partition first, `backward` the newest.
   * @default 'forward'
   */
  readonly order?: 'forward' | 'backward' | undefined
  /** List the partitions and what would happen to each, without creating anything. */
  readonly dryRun?: boolean | undefined
  /** Parameters every run receives besides the partition parameters. */
  readonly params?: Readonly<Record<string, unknown>> | undefined
  /** Names of the partition parameters. */
  readonly paramNames?: PartitionParamNames | undefined
  /**
   * The parameters the pipeline declares. When given, each run receives only the partition parameters among them
   * (a pipeline that declares `ds` but not `start`/`end` gets `ds` alone), so the stored run params are exactly what
   * the pipeline is compiled with. When absent, every run receives all three.
   */
  readonly pipelineParams?: readonly string[] | undefined
  /**
   * Priority of the backfill's runs.
   * @default 0
   */
  readonly priority?: number | undefined
  /**
   * Attempts per run.
   * @default 1
   */
  readonly maxAttempts?: number | undefined
  /** Who asked for the backfill (the host's principal id), kept with each of its runs. */
  readonly requestedBy?: string | undefined
  /**
   * Most partitions this backfill may cover: the host's policy (e.g. the execution policy's
   * `maxBackfillPartitions`), from 1 to {@link BACKFILL_LIMITS}.maxPartitions. Set it from the deployment's policy,
   * never from what the requester sent. Above it the request fails with `LIMIT_EXCEEDED` and nothing is created.
   * @default {@link BACKFILL_LIMITS}.maxPartitions
   */
  readonly maxPartitions?: number | undefined
}

/** One partition of a backfill plan. */
export interface PartitionSlot {
  /** e.g. `2026-11-01`. */
  readonly key: string
  readonly start: Date
  /** Exclusive. */
  readonly end: Date
  /** The run's params: the request's params plus the partition parameters. */
  readonly params: Readonly<Record<string, unknown>>
}

/** A validated backfill request with its partitions, in run order. */
export interface BackfillPlan {
  readonly pipeline: string
  readonly revision: string | null
  readonly grain: BackfillGrain
  readonly timezone: string
  readonly start: Date
  readonly end: Date
  readonly reprocess: ReprocessPolicy
  readonly concurrency: number
  readonly order: 'forward' | 'backward'
  readonly params: Readonly<Record<string, unknown>>
  readonly priority: number
  readonly maxAttempts: number
  readonly partitions: readonly PartitionSlot[]
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/
const ZONED_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i

/** Parses a range bound; returns an issue instead when it is not a valid date. */
function parseBound(value: unknown, timeZone: string, path: string): Date | ValidationIssue {
  const bad = (message: string): ValidationIssue => ({ path, code: 'invalid_date', message })
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value : bad('is an invalid Date')
  if (typeof value !== 'string') return bad('must be a Date or a date string such as 2026-11-01')
  const text = value.trim()
  const m = DATE_RE.exec(text) ?? LOCAL_RE.exec(text) ?? ZONED_RE.exec(text)
  if (!m) return bad(`"${text}" is not a date (YYYY-MM-DD), a local time (YYYY-MM-DDTHH:mm) or an RFC 3339 timestamp`)
  const wall: WallTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
  }
  if (wall.month < 1 || wall.month > 12) return bad(`"${text}" has no month ${wall.month}`)
  if (wall.day < 1 || wall.day > daysInMonth(wall.year, wall.month)) {
    return bad(
      `"${text}" is not a calendar date (${wall.year}-${String(wall.month).padStart(2, '0')} has ${daysInMonth(wall.year, wall.month)} days)`,
    )
  }
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) return bad(`"${text}" is not a valid time of day`)
  if (wall.year < BACKFILL_LIMITS.minYear || wall.year > BACKFILL_LIMITS.maxYear) {
    return bad(`"${text}" lies outside the years ${BACKFILL_LIMITS.minYear} to ${BACKFILL_LIMITS.maxYear}`)
  }
  if (ZONED_RE.test(text)) {
    const d = new Date(text)
    return Number.isFinite(d.getTime()) ? d : bad(`"${text}" is not a valid timestamp`)
  }
  return instantOf(wall, timeZone)
}

function floorToGrain(instant: Date, grain: BackfillGrain, timeZone: string): Date {
  const w = wallTimeOf(instant, timeZone)
  if (grain === 'hour') return instantOf({ ...w, minute: 0, second: 0 }, timeZone)
  const midnight = { ...w, hour: 0, minute: 0, second: 0 }
  if (grain === 'day') return instantOf(midnight, timeZone)
  if (grain === 'week') return instantOf(addDays(midnight, -((weekday(midnight) + 6) % 7)), timeZone)
  return instantOf({ ...midnight, day: 1 }, timeZone)
}

function nextBoundary(boundary: Date, grain: BackfillGrain, timeZone: string): Date {
  if (grain === 'hour') return new Date(boundary.getTime() + 3_600_000)
  const w = wallTimeOf(boundary, timeZone)
  const midnight = { ...w, hour: 0, minute: 0, second: 0 }
  if (grain === 'day') return instantOf(addDays(midnight, 1), timeZone)
  if (grain === 'week') return instantOf(addDays(midnight, 7), timeZone)
  const month = w.month === 12 ? 1 : w.month + 1
  return instantOf({ ...midnight, year: w.month === 12 ? w.year + 1 : w.year, month, day: 1 }, timeZone)
}

const APPROX_GRAIN_MS: Record<BackfillGrain, number> = {
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30.436875 * 86_400_000,
}

/**
 * Validates a backfill request and lists its partitions in run order, without touching a database. The partitions
 * are those whose start lies in [start, end), aligned to the grain in the request's time zone.
 *
 * @throws {@link @sparkle-studio/core!index.ValidationError | ValidationError} for unknown grains, policies or time zones,
 * invalid dates, an end before the start, or an empty range; `LIMIT_EXCEEDED` above
 * the request's `maxPartitions` (default {@link BACKFILL_LIMITS}.maxPartitions) partitions.
 * @example
 * ```ts
 * import { planBackfill } from '@sparkle-studio/runs'
 *
 * const plan = planBackfill({ pipeline: 'orders', start: '2026-11-01', end: '2026-12-01', grain: 'day' })
 * console.log(plan.partitions.length, plan.partitions[0]?.params) // 30 { ds: '2026-11-01', start: ..., end: ... }
 * ```
 */
export function planBackfill(request: BackfillRequest): BackfillPlan {
  const issues: ValidationIssue[] = []
  const timezone = request.timezone ?? 'UTC'
  const reprocess = request.reprocess ?? 'none'
  const concurrency = request.concurrency ?? 10
  const order = request.order ?? 'forward'
  const maxPartitions = request.maxPartitions ?? BACKFILL_LIMITS.maxPartitions
  if (!isValidPipelineName(request.pipeline)) {
    issues.push({ path: '/pipeline', code: 'invalid_name', message: 'pipeline must be a lower-case slug' })
  }
  if (!BACKFILL_GRAINS.includes(request.grain)) {
    issues.push({
      path: '/grain',
      code: 'invalid_enum',
      message: `unknown grain "${String(request.grain)}"; use one of ${BACKFILL_GRAINS.join(', ')}`,
    })
  }
  if (!isValidTimeZone(timezone)) {
    issues.push({ path: '/timezone', code: 'invalid_time_zone', message: `unknown time zone "${timezone}"` })
  }
  if (!['none', 'failed', 'all'].includes(reprocess)) {
    issues.push({
      path: '/reprocess',
      code: 'invalid_enum',
      message: `unknown reprocess policy "${String(reprocess)}"; use none, failed or all`,
    })
  }
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > BACKFILL_LIMITS.maxConcurrency) {
    issues.push({
      path: '/concurrency',
      code: 'out_of_range',
      message: `concurrency must be an integer from 1 to ${BACKFILL_LIMITS.maxConcurrency}`,
    })
  }
  if (!Number.isInteger(maxPartitions) || maxPartitions < 1 || maxPartitions > BACKFILL_LIMITS.maxPartitions) {
    issues.push({
      path: '/maxPartitions',
      code: 'out_of_range',
      message: `maxPartitions must be an integer from 1 to ${BACKFILL_LIMITS.maxPartitions}`,
    })
  }
  if (order !== 'forward' && order !== 'backward') {
    issues.push({ path: '/order', code: 'invalid_enum', message: 'order must be forward or backward' })
  }
  const names = resolveParamNames(request)
  const nameList = [names.key, names.start, names.end]
  if (nameList.some((n) => typeof n !== 'string' || n.length === 0) || new Set(nameList).size !== 3) {
    issues.push({ path: '/paramNames', code: 'invalid_names', message: 'key, start and end need three distinct names' })
  }
  issues.push(
    ...validateEnqueueRequest({
      pipeline: isValidPipelineName(request.pipeline) ? request.pipeline : 'x',
      revision: request.revision,
      params: request.params,
      priority: request.priority,
      maxAttempts: request.maxAttempts,
    }),
  )
  for (const n of nameList) {
    if (request.params && typeof n === 'string' && Object.hasOwn(request.params, n)) {
      issues.push({
        path: `/params/${n}`,
        code: 'reserved',
        message: `"${n}" is a partition parameter; rename it or set paramNames`,
      })
    }
  }
  const zone = isValidTimeZone(timezone) ? timezone : 'UTC'
  const start = parseBound(request.start, zone, '/start')
  const end = parseBound(request.end, zone, '/end')
  if (!(start instanceof Date)) issues.push(start)
  if (!(end instanceof Date)) issues.push(end)
  if (start instanceof Date && end instanceof Date && end.getTime() <= start.getTime()) {
    issues.push({
      path: '/end',
      code: end.getTime() === start.getTime() ? 'empty_range' : 'end_before_start',
      message:
        end.getTime() === start.getTime()
          ? 'end equals start: the range is empty (end is exclusive)'
          : `end ${end.toISOString()} is before start ${start.toISOString()}`,
    })
  }
  throwIfInvalid('backfill request', issues)
  const from = start as Date
  const to = end as Date
  const grain = request.grain
  const approx = Math.ceil((to.getTime() - from.getTime()) / APPROX_GRAIN_MS[grain])
  if (approx > maxPartitions + 1) throw tooManyPartitions(approx, grain, maxPartitions)
  const slots: PartitionSlot[] = []
  let boundary = floorToGrain(from, grain, timezone)
  if (boundary.getTime() < from.getTime()) boundary = nextBoundary(boundary, grain, timezone)
  while (boundary.getTime() < to.getTime()) {
    const next = nextBoundary(boundary, grain, timezone)
    if (slots.length >= maxPartitions) throw tooManyPartitions(Math.max(approx, slots.length + 1), grain, maxPartitions)
    const key = grain === 'hour' ? formatZoned(boundary, timezone) : formatDate(wallTimeOf(boundary, timezone))
    slots.push({
      key,
      start: boundary,
      end: next,
      params: partitionParams(request, names, {
        key,
        start: formatZoned(boundary, timezone),
        end: formatZoned(next, timezone),
      }),
    })
    boundary = next
  }
  if (slots.length === 0) {
    throwIfInvalid('backfill request', [
      {
        path: '/start',
        code: 'empty_range',
        message: `no ${grain} starts in [${from.toISOString()}, ${to.toISOString()}) in ${timezone}`,
      },
    ])
  }
  if (order === 'backward') slots.reverse()
  return {
    pipeline: request.pipeline,
    revision: request.revision ?? null,
    grain,
    timezone,
    start: from,
    end: to,
    reprocess,
    concurrency,
    order,
    params: request.params ?? {},
    priority: request.priority ?? 0,
    maxAttempts: request.maxAttempts ?? 1,
    partitions: slots,
  }
}

/** The one rule for a partition's run params: the request's params, then the partition params the pipeline takes. */
function partitionParams(
  request: BackfillRequest,
  names: { key: string; start: string; end: string },
  values: { key: string; start: string; end: string },
): Record<string, unknown> {
  const declared = request.pipelineParams ? new Set(request.pipelineParams) : undefined
  const params: Record<string, unknown> = { ...(request.params ?? {}) }
  for (const part of ['key', 'start', 'end'] as const) {
    if (!declared || declared.has(names[part])) params[names[part]] = values[part]
  }
  return params
}

function resolveParamNames(request: BackfillRequest): Required<{ key: string; start: string; end: string }> {
  return {
    key: request.paramNames?.key ?? (request.grain === 'hour' ? 'ts' : 'ds'),
    start: request.paramNames?.start ?? 'start',
    end: request.paramNames?.end ?? 'end',
  }
}

function tooManyPartitions(approx: number, grain: BackfillGrain, limit: number): StudioError {
  return new StudioError(
    'LIMIT_EXCEEDED',
    `the range holds about ${approx} ${grain} partitions; the limit is ${limit} partitions per backfill (maxPartitions). Fix: split the range into backfills of at most ${limit} partitions each, or use a coarser grain`,
    { limit, requested: approx, grain },
  )
}
