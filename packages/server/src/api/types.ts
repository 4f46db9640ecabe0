import type { Api, RouteInput, RouteName, RouteOutput } from '@sparkle-studio/core/contract'
import type { ArtifactContent, ArtifactDownload } from '../artifacts/service.ts'
import type { RouteCallInput } from '../input.ts'
import type { Call } from '../principal.ts'
import type { StreamMessage } from './run-events.ts'

/** One use case as implemented: the route's parsed input and the caller in, the `data` of its envelope out. */
export type UseCase<K extends RouteName> = (input: RouteCallInput<Api[K]>, call: Call) => Promise<RouteOutput<Api[K]>>

/**
 * The routes whose use cases do not take and answer plain JSON: the event stream (Server-Sent Events), the upload (a
 * file's bytes in) and the download (a file's bytes out).
 */
export type StreamRouteName = 'executionEvents' | 'uploadArtifact' | 'downloadArtifact'

/** Every use case as implemented, by route name (inputs already parsed, role already checked). */
export type UseCases = { readonly [K in Exclude<RouteName, StreamRouteName>]: UseCase<K> } & {
  readonly executionEvents: (
    input: RouteCallInput<Api['executionEvents']>,
    call: Call,
  ) => Promise<AsyncIterable<StreamMessage>>
  readonly uploadArtifact: (
    input: RouteCallInput<Api['uploadArtifact']> & { readonly body: ArtifactContent },
    call: Call,
  ) => Promise<RouteOutput<Api['uploadArtifact']>>
  readonly downloadArtifact: (input: RouteCallInput<Api['downloadArtifact']>, call: Call) => Promise<ArtifactDownload>
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
  /** Stores an uploaded file: `body` is the file's bytes as they stream, and what was sent with them. */
  readonly uploadArtifact: (
    input: RouteInput<Api['uploadArtifact']> & { readonly body: ArtifactContent },
    call: Call,
  ) => Promise<RouteOutput<Api['uploadArtifact']>>
  /** An artifact's bytes (whole, or the one range of `headers.range`) and its record. */
  readonly downloadArtifact: (input: RouteInput<Api['downloadArtifact']>, call: Call) => Promise<ArtifactDownload>
}
