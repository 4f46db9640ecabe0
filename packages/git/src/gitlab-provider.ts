import { StudioError } from '@sparkle-studio/core'
import { bodyMessage, providerFailure, scrub } from './provider-error.ts'
import type { PullRequestInput, PullRequestProvider, PullRequestRef } from './pull-request-provider.ts'

/** Options of {@link GitLabProvider}. */
export interface GitLabProviderOptions {
  /** The GitLab root, e.g. `https://gitlab.com` or `https://gitlab.example.com`. */
  readonly baseUrl: string
  /** The project: its numeric id or its full path (`group/subgroup/pipelines`). */
  readonly projectId: string | number
  /** A token with the `api` scope. Never included in errors or logs. */
  readonly token: string
  /** The fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined
}

/**
 * Opens merge requests on GitLab through its REST API (`POST /api/v4/projects/:id/merge_requests`). GitLab's create
 * call has no draft flag; a draft is opened with the documented `Draft: ` title prefix.
 *
 * @example
 * ```ts
 * import { GitLabProvider } from '@sparkle-studio/git'
 *
 * const gitlab = new GitLabProvider({ baseUrl: 'https://gitlab.com', projectId: 'acme/pipelines', token: 'glpat-...' })
 * const mr = await gitlab.createPullRequest({ head: 'promote-orders', base: 'main', title: 'Promote orders' })
 * console.log(mr.url, mr.number)
 * ```
 */
export class GitLabProvider implements PullRequestProvider {
  /** `gitlab`. */
  readonly name = 'gitlab'
  readonly #url: string
  readonly #token: string
  readonly #fetch: typeof fetch

  constructor(options: GitLabProviderOptions) {
    if (!options.baseUrl || options.projectId === '' || !options.token)
      throw new StudioError('BAD_REQUEST', 'GitLabProvider needs baseUrl, projectId and token')
    const root = options.baseUrl.replace(/\/+$/, '')
    this.#url = `${root}/api/v4/projects/${encodeURIComponent(String(options.projectId))}/merge_requests`
    this.#token = options.token
    this.#fetch = options.fetch ?? globalThis.fetch
  }

  /**
   * Opens a merge request.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `PROVIDER_FAILED` with `details.status`.
   */
  async createPullRequest(input: PullRequestInput): Promise<PullRequestRef> {
    const title =
      input.draft && !/^(draft:|\[draft\]|\(draft\))/i.test(input.title) ? `Draft: ${input.title}` : input.title
    const body = {
      source_branch: input.head,
      target_branch: input.base,
      title,
      ...(input.body === undefined ? {} : { description: input.body }),
    }
    let response: Response
    try {
      response = await this.#fetch(this.#url, {
        method: 'POST',
        headers: { 'PRIVATE-TOKEN': this.#token, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        ...(input.signal ? { signal: input.signal } : {}),
      })
    } catch (error) {
      if (input.signal?.aborted) throw input.signal.reason
      const why = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : ''
      throw providerFailure('gitlab', 0, scrub(why, this.#token), this.#token)
    }
    const text = await response.text()
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = text
    }
    if (!response.ok) throw providerFailure('gitlab', response.status, bodyMessage(json), this.#token)
    const mr = json as { web_url?: unknown; iid?: unknown } | undefined
    if (typeof mr?.web_url !== 'string' || typeof mr.iid !== 'number')
      throw providerFailure('gitlab', response.status, 'the response has no web_url or iid', this.#token)
    return { url: mr.web_url, number: mr.iid }
  }
}
