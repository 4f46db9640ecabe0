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

// Saves and deletes: the ETag read (If-Match), create-only (If-None-Match: *), or an explicit force.
expectTypeOf(client.savePipeline).toBeCallableWith({
  params: { name: 'orders' },
  headers: { 'if-match': '"0123"' },
  body: { document: {} },
})
expectTypeOf(client.savePipeline).toBeCallableWith({
  params: { name: 'orders' },
  headers: { 'if-none-match': '*' },
  body: { document: {} },
})
expectTypeOf(client.savePipeline).toBeCallableWith({
  params: { name: 'orders' },
  query: { force: true },
  body: { document: {} },
})
expectTypeOf(client.deletePipeline).toBeCallableWith({ params: { name: 'orders' }, query: { force: true } })
// @ts-expect-error If-None-Match on a save only takes `*`
void client.savePipeline({ params: { name: 'o' }, headers: { 'if-none-match': '"x"' }, body: { document: {} } })
// @ts-expect-error the typed client answers data: revalidation (If-None-Match, 304) is for plain HTTP callers
void client.getPipeline({ params: { name: 'o' }, headers: { 'if-none-match': '"x"' } })
// @ts-expect-error force is a boolean (or the 'true'/'false' of a URL)
void client.deletePipeline({ params: { name: 'o' }, query: { force: 1 } })

// Outputs: inferred from the contract's response schemas.
expectTypeOf(client.getPipeline).returns.resolves.toHaveProperty('blob').toEqualTypeOf<string>()
expectTypeOf(client.run)
  .returns.resolves.toHaveProperty('status')
  .toEqualTypeOf<'queued' | 'submitting' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled'>()
expectTypeOf(client.listExecutions).returns.resolves.toHaveProperty('items').toBeArray()

// API keys and the audit log: the secret comes back once, from createKey.
expectTypeOf(client.createKey).toBeCallableWith({
  body: { name: 'ci', role: 'editor', expiresAt: '2027-01-01T00:00:00Z' },
})
// @ts-expect-error a role the API does not know
void client.createKey({ body: { name: 'ci', role: 'owner' } })
expectTypeOf(client.createKey).returns.resolves.toHaveProperty('secret').toEqualTypeOf<string>()
expectTypeOf(client.createKey).returns.resolves.toHaveProperty('key').toHaveProperty('prefix').toEqualTypeOf<string>()
expectTypeOf(client.listKeys).toBeCallableWith()
expectTypeOf(client.listKeys).returns.resolves.items.toHaveProperty('revokedAt').toEqualTypeOf<string | undefined>()
// @ts-expect-error revoking needs the key id
void client.revokeKey()
expectTypeOf(client.revokeKey).returns.resolves.toHaveProperty('role').toEqualTypeOf<'viewer' | 'editor' | 'admin'>()
expectTypeOf(client.listAudit).toBeCallableWith({ query: { principal: 'u1', route: 'savePipeline', limit: 50 } })
expectTypeOf(client.listAudit)
  .returns.resolves.toHaveProperty('items')
  .items.toHaveProperty('principal')
  .toEqualTypeOf<{
    id: string
    name: string
    via: 'key' | 'jwt' | 'host'
  }>()
expectTypeOf(client.getExecution).returns.resolves.toHaveProperty('requestedBy').toEqualTypeOf<string | undefined>()
expectTypeOf(client.health).returns.resolves.toHaveProperty('checks').toBeNullable()

// The token: a string, or a function for a refreshed one.
createStudioClient({ baseUrl: 'http://localhost:3000', token: 'sk_live_x' })
createStudioClient({ baseUrl: 'http://localhost:3000', token: async () => 'jwt' })
// @ts-expect-error a token is a string
createStudioClient({ baseUrl: 'http://localhost:3000', token: 42 })

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
