import { SDK_VERSION } from '@sparkle-studio/core'
import type { OpenLineageFetch } from './transport.ts'

/** Where and how a studio sends OpenLineage events (see `StudioOptions.openLineage`). */
export interface OpenLineageOptions {
  /** The receiver's URL, events are POSTed to it as JSON (e.g. Marquez's `http://host:5000/api/v1/lineage`). */
  readonly url: string
  /** A secret: sent as `Authorization: Bearer <apiKey>`, never logged, never in events or API answers. */
  readonly apiKey?: string | undefined
  /**
   * The namespace of the jobs (one per pipeline, named like it).
   * @default 'sparkle-studio'
   */
  readonly namespace?: string | undefined
  /**
   * How long one attempt to send an event may take.
   * @default 5_000
   */
  readonly timeoutMs?: number | undefined
  /**
   * Attempts per event (network errors, timeouts, 5xx and 429 are retried) before it is dropped with a warning.
   * @default 5
   */
  readonly maxAttempts?: number | undefined
  /**
   * The wait after the first failed attempt, doubled after each next one (at most 60 s).
   * @default 1_000
   */
  readonly retryBaseMs?: number | undefined
  /**
   * Events waiting to be sent at most (the oldest is dropped, with a warning, past it).
   * @default 1_000
   */
  readonly maxQueue?: number | undefined
  /**
   * How often run events are read.
   * @default 1_000
   */
  readonly pollMs?: number | undefined
  /**
   * Run events younger than this are read again on the next pass (a lower id may commit after a higher one), as the
   * webhooks dispatcher does; events already sent by this process are not sent twice.
   * @default 30_000
   */
  readonly settleMs?: number | undefined
  /**
   * The `producer` of the events and `_producer` of their facets.
   * @default `https://example.invalid/sparkle-studio/tree/v<SDK version>/packages/server`
   */
  readonly producer?: string | undefined
  /** The `fetch` events go through (Node's by default). */
  readonly fetch?: OpenLineageFetch | undefined
}

/** The default {@link OpenLineageOptions.namespace}. */
export const DEFAULT_OPENLINEAGE_NAMESPACE = 'sparkle-studio'

/** The default {@link OpenLineageOptions.producer}. */
export const DEFAULT_OPENLINEAGE_PRODUCER = `https://example.invalid/sparkle-studio/tree/v${SDK_VERSION}/packages/server`

/** The job name of a backfill (the parent job of its partitions' runs). */
export function backfillJobName(pipeline: string): string {
  return `${pipeline}.backfill`
}
