// Type tests: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
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
