// Type tests: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
import type { RunStatus, RunStreamEvent } from '@sparkle-studio/core/routes'
import { expectTypeOf } from 'vitest'
import { createStudioClient } from './client.ts'

const client = createStudioClient({ baseUrl: 'http://localhost:3000' })

// Inputs: path params are required where the route has them; routes without inputs take none.
expectTypeOf(client.getPipeline).parameter(0).toHaveProperty('params').toEqualTypeOf<{ name: string }>()
expectTypeOf(client.health).toBeCallableWith()
expectTypeOf(client.listPipelines).toBeCallableWith({ query: { ref: 'main' } })
// @ts-expect-error a route with path params cannot be called without them
void client.getPipeline()
// @ts-expect-error unknown body fields are rejected
void client.run({ body: { pipeline: 'x', nope: 1 } })

// Outputs: inferred from the contract's response schemas.
expectTypeOf(client.getPipeline).returns.resolves.toHaveProperty('blob').toEqualTypeOf<string>()
expectTypeOf(client.run)
  .returns.resolves.toHaveProperty('status')
  .toEqualTypeOf<'queued' | 'submitting' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled'>()
expectTypeOf(client.listExecutions).returns.resolves.toHaveProperty('items').toBeArray()

// Commit ids are named `commit` everywhere.
expectTypeOf(client.pipelineHistory).returns.resolves.items.toEqualTypeOf<{
  commit: string
  author: { name: string; email: string }
  date: string
  message: string
}>()
expectTypeOf(client.push).returns.resolves.toEqualTypeOf<{ branch: string; commit: string }>()
expectTypeOf(client.pull).returns.resolves.toEqualTypeOf<{ commit: string; updated: boolean }>()
expectTypeOf(client.listBranches).returns.resolves.items.toHaveProperty('commit').toEqualTypeOf<string>()

// The run's event stream is typed by SSE event name, through both of its methods.
expectTypeOf(client.streamExecutionEvents).returns.toEqualTypeOf<AsyncIterable<RunStreamEvent>>()
expectTypeOf(client.executionEvents).returns.toEqualTypeOf<AsyncIterable<RunStreamEvent>>()
expectTypeOf(client.executionEvents).toBeCallableWith({ params: { id: 'run-1' }, query: { after: 3 } })
// @ts-expect-error the stream needs the run id
void client.executionEvents()
async function consume(): Promise<void> {
  for await (const e of client.streamExecutionEvents('run-1')) {
    expectTypeOf(e.event).toEqualTypeOf<'status' | 'log' | 'event' | 'end'>()
    if (e.event === 'status') {
      expectTypeOf(e.id).toEqualTypeOf<number>()
      expectTypeOf(e.data.type).toEqualTypeOf<'status'>()
      expectTypeOf(e.data.payload.status).toEqualTypeOf<RunStatus>()
    } else if (e.event === 'log') {
      expectTypeOf(e.data.payload.line).toEqualTypeOf<string>()
    } else if (e.event === 'event') {
      expectTypeOf(e.data).toEqualTypeOf<{
        readonly id: number
        readonly type: string
        readonly payload: Readonly<Record<string, unknown>>
      }>()
    } else {
      expectTypeOf(e.data.status).toEqualTypeOf<'succeeded' | 'failed' | 'cancelled'>()
      expectTypeOf(e.data.error).toEqualTypeOf<
        | { readonly message: string; readonly code?: string; readonly nodeId?: string; readonly errorClass?: string }
        | null
        | undefined
      >()
    }
  }
}
void consume
