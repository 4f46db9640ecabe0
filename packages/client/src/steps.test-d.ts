// Type tests of the run steps and usage routes: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
import { expectTypeOf } from 'vitest'
import { createStudioClient } from './client.ts'

const client = createStudioClient({ baseUrl: 'http://localhost:3000' })

expectTypeOf(client.executionSteps).toBeCallableWith({ params: { id: 'run-1' } })
expectTypeOf(client.executionSteps).toBeCallableWith({ params: { id: 'run-1' }, query: { attempt: 2 } })
type Steps = Awaited<ReturnType<typeof client.executionSteps>>
expectTypeOf<Steps['steps'][number]['status']>().toEqualTypeOf<'running' | 'succeeded' | 'failed' | 'interrupted'>()
expectTypeOf<Steps['steps'][number]['rowsOut']>().toEqualTypeOf<number | undefined>()
expectTypeOf<NonNullable<Steps['usage']>['coreSeconds']>().toEqualTypeOf<number>()

expectTypeOf(client.pipelineUsage).toBeCallableWith({ params: { name: 'orders' }, query: { days: 30 } })
type Usage = Awaited<ReturnType<typeof client.pipelineUsage>>
expectTypeOf<Usage['days'][number]['coreSeconds']>().toEqualTypeOf<number>()
expectTypeOf<Usage['budget']>().toEqualTypeOf<{ coreSecondsPerDay: number } | undefined>()

type Run = Awaited<ReturnType<typeof client.getExecution>>
expectTypeOf<NonNullable<NonNullable<Run['attempts']>[number]['usage']>['taskSeconds']>().toEqualTypeOf<number>()
