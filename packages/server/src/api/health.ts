import { SDK_VERSION } from '@sparkle-studio/core'
import type { StudioParts } from '../parts.ts'
import { hasRole } from '../principal.ts'
import type { UseCases } from './types.ts'

interface Check {
  ok: boolean
  detail?: string
}

/** What `GET /health` answers: Spark, git and the database, each checked. */
export function healthUseCase(parts: StudioParts): Pick<UseCases, 'health'> {
  const check = async <T>(probe: () => Promise<T>, ok: (value: T) => Record<string, string>): Promise<Check> => {
    try {
      return { ok: true, ...ok(await probe()) }
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) }
    }
  }
  return {
    health: async (_input, { principal }) => {
      const [spark, git, database] = await Promise.all([
        check(parts.sparkCheck, (r) => ({
          version: r.version,
          ...(r.java ? { java: r.java } : {}),
          backend: r.backend,
        })),
        check(
          () => parts.pipelines.list({ lastCommit: false }),
          () => ({ branch: parts.pipelines.branch }),
        ),
        check(
          () => parts.runs.list({ limit: 1 }),
          () => ({ dialect: parts.database.dialect }),
        ),
      ])
      const ok = spark.ok && git.ok && database.ok
      // Failure details name paths and settings of the server: for editors and admins only.
      if (!hasRole(principal, 'editor')) for (const c of [spark, git, database]) delete c.detail
      return {
        status: ok ? ('ok' as const) : ('degraded' as const),
        version: SDK_VERSION,
        checks: { spark, git, database },
      }
    },
  }
}
