// Type tests: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
import { expectTypeOf } from 'vitest'
import { buildPath, type PathParams, type Role, type RouteName, type RunStreamEvent, routes } from './index.ts'

expectTypeOf(routes.getPipeline.method).toEqualTypeOf<'GET'>()
expectTypeOf(routes.getPipeline.path).toEqualTypeOf<'/pipelines/{name}'>()
expectTypeOf(routes.executionEvents.stream).toEqualTypeOf<'sse'>()
expectTypeOf(routes.health.public).toEqualTypeOf<true>()
expectTypeOf(routes.getPipeline.public).toEqualTypeOf<true | undefined>()
expectTypeOf(routes.revokeKey.path).toEqualTypeOf<'/keys/{id}'>()
expectTypeOf<Role>().toEqualTypeOf<'viewer' | 'editor' | 'admin'>()
expectTypeOf<RouteName>().toExtend<string>()
expectTypeOf<'getPipeline'>().toExtend<RouteName>()

expectTypeOf<PathParams<'/components/{type}/{name}'>>().toEqualTypeOf<{
  readonly type: string | number
  readonly name: string | number
}>()
buildPath(routes.health.path)
// @ts-expect-error a path with `{name}` needs its value
buildPath(routes.getPipeline.path)
// @ts-expect-error only the path's own segments
buildPath(routes.getPipeline.path, { id: 'x' })

declare const e: RunStreamEvent
if (e.event === 'status') {
  expectTypeOf(e.data.payload.status).toEqualTypeOf<
    'queued' | 'submitting' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled'
  >()
  expectTypeOf(e.id).toEqualTypeOf<number>()
}
if (e.event === 'log') expectTypeOf(e.data.payload.line).toEqualTypeOf<string>()
if (e.event === 'event') expectTypeOf(e.data.payload).toEqualTypeOf<Readonly<Record<string, unknown>>>()
if (e.event === 'end') {
  expectTypeOf(e.data.status).toEqualTypeOf<'succeeded' | 'failed' | 'cancelled'>()
  expectTypeOf(e.id).toEqualTypeOf<undefined>()
}
