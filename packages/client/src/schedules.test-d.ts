// Type tests of the schedule routes: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
import type { RunStatus } from '@sparkle-studio/core/routes'
import { expectTypeOf } from 'vitest'
import { createStudioClient } from './client.ts'

const client = createStudioClient({ baseUrl: 'http://localhost:3000' })

expectTypeOf(client.listSchedules).toBeCallableWith()
expectTypeOf(client.listSchedules).toBeCallableWith({ query: { count: 10, after: '2026-03-28T12:00:00Z' } })
// @ts-expect-error: the query is strict
expectTypeOf(client.listSchedules).toBeCallableWith({ query: { from: '2026-03-28T12:00:00Z' } })
type Item = Awaited<ReturnType<typeof client.listSchedules>>['items'][number]
expectTypeOf<Item['nextFireTimes']>().toEqualTypeOf<string[]>()
expectTypeOf<Item['enabled']>().toEqualTypeOf<boolean>()
expectTypeOf<NonNullable<Item['lastSlot']>['status']>().toEqualTypeOf<RunStatus | undefined>()

expectTypeOf(client.pauseSchedule).toBeCallableWith({ params: { name: 'orders' } })
// @ts-expect-error: the pipeline's name is required
expectTypeOf(client.pauseSchedule).toBeCallableWith()
expectTypeOf(client.resumeSchedule).returns.resolves.toHaveProperty('changed').toEqualTypeOf<boolean>()
