import { hasErrorCode, type PipelineDocument, StudioError } from '@sparkle-studio/core'
import type { StudioParts } from '../parts.ts'
import { authorOf } from '../principal.ts'
import { commitDto, preconditionRequired } from './pipelines.ts'
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
    // As for a single save: a change names the blob it replaces (expected), or creates (expected null or absent), or
    // the commit is forced. A delete without expected is refused before anything is written; a save without one is
    // written as a creation, so that the store's atomic check turns an existing pipeline into a 428, not an overwrite.
    commit: async ({ body }, { signal, principal }) => {
      const how = 'give the change expected: the blob of your read'
      if (!body.force) {
        for (const c of body.changes) {
          if (c.document !== null || c.expected !== undefined) continue
          const current = await pipelines.get(c.name, { signal })
          throw preconditionRequired(c.name, 'delete', { name: c.name, currentBlob: current.blob }, how)
        }
      }
      const blind = new Set(body.force ? [] : body.changes.filter((c) => c.expected === undefined).map((c) => c.name))
      const result = await pipelines
        .commit(
          body.changes.map((c) => ({
            name: c.name,
            document: c.document as PipelineDocument | null,
            ...(c.expected !== undefined ? { expected: c.expected } : blind.has(c.name) ? { expected: null } : {}),
          })),
          {
            message: body.message,
            author: authorOf(principal),
            ...(body.branch ? { branch: body.branch } : {}),
            signal,
          },
        )
        .catch((error: unknown) => {
          const details = (error as { details?: { name?: unknown; currentBlob?: unknown } }).details
          if (
            hasErrorCode(error, 'CONFLICT') &&
            typeof details?.name === 'string' &&
            blind.has(details.name) &&
            details.currentBlob
          )
            throw preconditionRequired(details.name, 'overwrite', details, how)
          throw error
        })
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
