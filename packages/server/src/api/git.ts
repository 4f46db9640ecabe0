import { type PipelineDocument, StudioError } from '@sparkle-studio/core'
import type { StudioParts } from '../parts.ts'
import { authorOf } from '../principal.ts'
import { commitDto } from './pipelines.ts'
import type { UseCases } from './types.ts'

type GitCases = Pick<
  UseCases,
  'gitStatus' | 'listBranches' | 'createBranch' | 'commit' | 'pull' | 'push' | 'createPullRequest'
>

/** The repository: status, branches, several changes in one commit, pull, push and pull requests. */
export function gitUseCases({ pipelines, pullRequests }: Pick<StudioParts, 'pipelines' | 'pullRequests'>): GitCases {
  return {
    gitStatus: async (_input, { signal }) => {
      const s = await pipelines.status({ signal })
      return {
        branch: s.branch,
        ...(s.commit ? { commit: s.commit } : {}),
        ...(s.remote ? { remote: s.remote } : {}),
        ahead: s.ahead,
        behind: s.behind,
      }
    },
    listBranches: async (_input, { signal }) =>
      (await pipelines.listBranches({ signal })).map((b) => ({ name: b.name, commit: b.commit, current: b.current })),
    createBranch: async ({ body }, { signal }) => {
      const b = await pipelines.createBranch(body.name, { ...(body.from ? { from: body.from } : {}), signal })
      return { name: b.name, commit: b.commit, current: b.current }
    },
    commit: async ({ body }, { signal, principal }) => {
      const result = await pipelines.commit(
        body.changes.map((c) => ({
          name: c.name,
          document: c.document as PipelineDocument | null,
          ...(c.expected !== undefined ? { expected: c.expected } : {}),
        })),
        {
          message: body.message,
          author: authorOf(principal),
          ...(body.branch ? { branch: body.branch } : {}),
          signal,
        },
      )
      return { commit: commitDto(result), names: body.changes.map((c) => c.name) }
    },
    pull: async ({ body }, { signal }) => {
      const r = await pipelines.pull({ ...(body?.rebase ? { rebase: true } : {}), signal })
      return { commit: r.commit, updated: r.status === 'fast-forward' || r.status === 'rebased' }
    },
    push: async ({ body }, { signal }) => {
      const r = await pipelines.push({ ...(body?.branch ? { branch: body.branch } : {}), signal })
      return { branch: r.branch, commit: r.commit }
    },
    createPullRequest: async ({ body }, { signal }) => {
      if (!pullRequests) {
        throw new StudioError(
          'NOT_FOUND',
          'No hosting provider is configured: pass pullRequests to createStudio (the example server: SPARKLE_PR_PROVIDER, SPARKLE_PR_REPO and SPARKLE_PR_TOKEN)',
        )
      }
      return pullRequests.createPullRequest({
        head: body.head,
        base: body.base ?? pipelines.branch,
        title: body.title,
        ...(body.body !== undefined ? { body: body.body } : {}),
        ...(body.draft !== undefined ? { draft: body.draft } : {}),
        signal,
      }) as never
    },
  }
}
