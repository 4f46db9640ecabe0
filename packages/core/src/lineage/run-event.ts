import type { OpenLineageFacet } from './facets.ts'

/** The OpenLineage spec version of the events this SDK writes. */
export const OPENLINEAGE_RUN_EVENT_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent'

/** The transition a run event reports. */
export type RunEventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER'

/** A dataset in an OpenLineage event. */
export interface OpenLineageDataset {
  readonly namespace: string
  readonly name: string
  readonly facets?: Readonly<Record<string, OpenLineageFacet>>
}

/** What {@link openLineageRunEvent} needs. */
export interface RunEventInput {
  readonly eventType: RunEventType
  /** ISO 8601 date-time with an offset, e.g. `new Date().toISOString()`. */
  readonly eventTime: string
  readonly run: { readonly runId: string; readonly facets?: Readonly<Record<string, OpenLineageFacet>> | undefined }
  readonly job: {
    readonly namespace: string
    readonly name: string
    readonly facets?: Readonly<Record<string, OpenLineageFacet>> | undefined
  }
  /** The URI of the software that produced the event, e.g. a repository URL with a version. */
  readonly producer: string
  readonly inputs?: readonly OpenLineageDataset[] | undefined
  readonly outputs?: readonly OpenLineageDataset[] | undefined
}

/** An OpenLineage RunEvent (spec 2-0-2). */
export interface OpenLineageRunEvent {
  readonly eventType: RunEventType
  readonly eventTime: string
  readonly run: { readonly runId: string; readonly facets?: Readonly<Record<string, OpenLineageFacet>> }
  readonly job: {
    readonly namespace: string
    readonly name: string
    readonly facets?: Readonly<Record<string, OpenLineageFacet>>
  }
  readonly inputs: readonly OpenLineageDataset[]
  readonly outputs: readonly OpenLineageDataset[]
  readonly producer: string
  readonly schemaURL: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i

/**
 * Builds an OpenLineage RunEvent (spec 2-0-2). One run sends START, then RUNNING as it goes, and one of COMPLETE,
 * FAIL or ABORT, all with the same `runId`; a backfill partition is a run of its own with a parent run facet.
 *
 * @throws TypeError when `runId` is not a UUID or `eventTime` not an ISO date-time with an offset.
 * @example
 * ```ts
 * import { openLineageRunEvent } from '@sparkle-studio/core'
 *
 * const event = openLineageRunEvent({
 *   eventType: 'START',
 *   eventTime: new Date().toISOString(),
 *   run: { runId: crypto.randomUUID() },
 *   job: { namespace: 'sparkle-studio', name: 'daily-revenue' },
 *   producer: 'https://example.com/sparkle-studio/0.1.0',
 * })
 * ```
 */
export function openLineageRunEvent(input: RunEventInput): OpenLineageRunEvent {
  if (!UUID.test(input.run.runId)) throw new TypeError(`runId must be a UUID, got "${input.run.runId}"`)
  if (!DATE_TIME.test(input.eventTime)) {
    throw new TypeError(`eventTime must be an ISO 8601 date-time with an offset, got "${input.eventTime}"`)
  }
  const { runId, facets: runFacets } = input.run
  const { namespace, name, facets: jobFacets } = input.job
  return {
    eventType: input.eventType,
    eventTime: input.eventTime,
    run: runFacets === undefined ? { runId } : { runId, facets: runFacets },
    job: jobFacets === undefined ? { namespace, name } : { namespace, name, facets: jobFacets },
    inputs: input.inputs ?? [],
    outputs: input.outputs ?? [],
    producer: input.producer,
    schemaURL: OPENLINEAGE_RUN_EVENT_SCHEMA_URL,
  }
}
