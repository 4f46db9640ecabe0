import { StudioError } from '@sparkle-studio/core'
import { api, type RouteName } from '@sparkle-studio/core/contract'
import type { StudioParts } from '../parts.ts'
import { type Call, hasRole } from '../principal.ts'
import { componentUseCases } from './components.ts'
import { executionUseCases } from './execution.ts'
import { gitUseCases } from './git.ts'
import { healthUseCase } from './health.ts'
import { pipelineUseCases } from './pipelines.ts'
import type { StudioApi } from './types.ts'

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

/** Every use case over the studio's parts, each checking the caller's role first. */
export function createStudioApi(parts: StudioParts): StudioApi {
  const cases: StudioApi = {
    ...healthUseCase(parts),
    ...componentUseCases(parts),
    ...pipelineUseCases(parts),
    ...executionUseCases(parts),
    ...gitUseCases(parts),
  }
  const guarded: Record<string, unknown> = {}
  for (const [name, useCase] of Object.entries(cases) as [RouteName, (input: unknown, call: Call) => unknown][]) {
    guarded[name] = async (input: unknown, call: Call) => {
      assertRole(name, call)
      return useCase(input, call)
    }
  }
  return Object.freeze(guarded) as StudioApi
}
