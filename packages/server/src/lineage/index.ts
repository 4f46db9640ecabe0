// OpenLineage for runs: the emitter that follows run events, its HTTP transport, the Spark parent-run conf.
export type { OpenLineageEmitterParts } from './emitter.ts'
export { OpenLineageEmitter } from './emitter.ts'
export type { OpenLineageOptions } from './options.ts'
export { DEFAULT_OPENLINEAGE_NAMESPACE, DEFAULT_OPENLINEAGE_PRODUCER } from './options.ts'
export { openLineageAttemptRunId, openLineageBackfillRunId } from './run-id.ts'
export { openLineageSubmitter } from './submitter.ts'
export type { OpenLineageFetch, OpenLineageTransportOptions } from './transport.ts'
export { OpenLineageHttpTransport } from './transport.ts'
