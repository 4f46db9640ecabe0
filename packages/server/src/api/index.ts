import { StudioError } from '@sparkle-studio/core'
import { type AnyRoute, api, type RouteName } from '@sparkle-studio/core/contract'
import { parseRouteInput, type RawRouteInput } from '../input.ts'
import type { StudioParts } from '../parts.ts'
import { type Call, hasRole } from '../principal.ts'
import { accessUseCases } from './access.ts'
import { artifactUseCases } from './artifacts.ts'
import { componentUseCases } from './components.ts'
import { executionUseCases } from './execution.ts'
import { gitUseCases } from './git.ts'
import { healthUseCase } from './health.ts'
import { pipelineUseCases } from './pipelines.ts'
import { policyUseCase } from './policy.ts'
import { scheduleUseCases } from './schedules.ts'
import type { StudioApi, UseCases } from './types.ts'
import { webhookUseCases } from './webhooks.ts'

/**
 * Checks that the caller holds the role the route declares.
 * @throws `FORBIDDEN` naming the route, the role it needs and the caller's role.
 */
export function assertRole(route: RouteName, call: Pick<Call, 'principal'>): void {
  const needed = api[route].role
  if (!hasRole(call.principal, needed)) {
    throw new StudioError(
      'FORBIDDEN',
      `${route} needs the ${needed} role; ${call.principal.name} has ${call.principal.role}`,
      { route, role: needed },
    )
  }
}

/**
 * Every use case over the studio's parts, each checking the caller's role first, then parsing its input with the
 * route's schemas (the HTTP handler hands it the raw request parts, a host typed values).
 */
export function createStudioApi(parts: StudioParts): StudioApi {
  const cases: UseCases = {
    ...healthUseCase(parts),
    ...policyUseCase(parts),
    ...componentUseCases(parts),
    ...pipelineUseCases(parts),
    ...executionUseCases(parts),
    ...gitUseCases(parts),
    ...accessUseCases(parts),
    ...artifactUseCases(parts),
    ...webhookUseCases(parts),
    ...scheduleUseCases(parts),
  }
  const guarded: Record<string, unknown> = {}
  for (const [name, useCase] of Object.entries(cases) as [RouteName, (input: unknown, call: Call) => unknown][]) {
    const route: AnyRoute = api[name]
    guarded[name] = async (input: Partial<RawRouteInput> | undefined, call: Call) => {
      assertRole(name, call)
      const parsed = parseRouteInput(route, {
        params: input?.params ?? {},
        query: input?.query ?? {},
        headers: input?.headers ?? {},
        body: input?.body,
      })
      // An upload's body is the file itself, not JSON for a schema: the use case checks it as it streams.
      return useCase(route.upload ? { ...(parsed as object), body: input?.body } : parsed, call)
    }
  }
  return Object.freeze(guarded) as StudioApi
}
