import type { Api, RouteInput, RouteName, RouteOutput } from '@sparkle-studio/core/contract'
import type { RouteCallInput } from '../input.ts'
import type { Call } from '../principal.ts'
import type { StreamMessage } from './run-events.ts'

/** One use case as implemented: the route's parsed input and the caller in, the `data` of its envelope out. */
export type UseCase<K extends RouteName> = (input: RouteCallInput<Api[K]>, call: Call) => Promise<RouteOutput<Api[K]>>

/** The routes that stream Server-Sent Events instead of answering JSON. */
export type StreamRouteName = 'executionEvents'

/** Every use case as implemented, by route name (inputs already parsed, role already checked). */
export type UseCases = { readonly [K in Exclude<RouteName, StreamRouteName>]: UseCase<K> } & {
  readonly executionEvents: (
    input: RouteCallInput<Api['executionEvents']>,
    call: Call,
  ) => Promise<AsyncIterable<StreamMessage>>
}

/**
 * Every use case of the API, by route name: what each HTTP route does, callable without HTTP. Each takes what the
 * typed client sends (`params`, `query`, `headers`, `body`), checks the caller's role against the role its route
 * declares, validates the input with the route's schemas, and answers the `data` of the route's envelope.
 */
export type StudioApi = {
  readonly [K in Exclude<RouteName, StreamRouteName>]: (
    input: RouteInput<Api[K]>,
    call: Call,
  ) => Promise<RouteOutput<Api[K]>>
} & {
  /** The live event stream of a run: stored events first, then new ones, ending with an `end` message. */
  readonly executionEvents: (
    input: RouteInput<Api['executionEvents']>,
    call: Call,
  ) => Promise<AsyncIterable<StreamMessage>>
}
