import type { ExecutionPolicy } from '@sparkle-studio/core'
import type { api, RouteOutput } from '@sparkle-studio/core/contract'
import type { StudioParts } from '../parts.ts'
import type { UseCases } from './types.ts'

/** The policy as the API shows it: a plain copy of the studio's frozen one. */
export function policyDto(policy: ExecutionPolicy): RouteOutput<typeof api.getPolicy> {
  return {
    ...policy,
    sparkConf: Object.fromEntries(
      Object.entries(policy.sparkConf).map(([key, rule]) => [
        key,
        rule.kind === 'enum' ? { ...rule, values: [...rule.values] } : { ...rule },
      ]),
    ),
    readRoots: [...policy.readRoots],
    writeRoots: [...policy.writeRoots],
    jdbcUrlPatterns: [...policy.jdbcUrlPatterns],
    deniedFunctions: [...policy.deniedFunctions],
  }
}

/** What `GET /policy` answers: the execution policy the studio holds pipelines to (read-only). */
export function policyUseCase({ policy }: Pick<StudioParts, 'policy'>): Pick<UseCases, 'getPolicy'> {
  return { getPolicy: async () => policyDto(policy) }
}
