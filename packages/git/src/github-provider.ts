import { Octokit } from '@octokit/rest'
import { StudioError } from '@sparkle-studio/core'
import { bodyMessage, providerFailure, scrub } from './provider-error.ts'
import type { PullRequestInput, PullRequestProvider, PullRequestRef } from './pull-request-provider.ts'

/** Options of {@link GitHubProvider}. */
export interface GitHubProviderOptions {
  /** The repository's owner (user or organisation). */
  readonly owner: string
  /** The repository's name. */
  readonly repo: string
  /** A token allowed to open pull requests. Never included in errors or logs. */
  readonly token: string
  /** The API root; for GitHub Enterprise Server `https://<host>/api/v3`. @default 'https://api.github.com' */
  readonly baseUrl?: string | undefined
  /** The fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * Opens pull requests on GitHub or GitHub Enterprise through `@octokit/rest` (`POST /repos/{owner}/{repo}/pulls`).
 *
 * @example
 * ```ts
 * import { GitHubProvider } from '@sparkle-studio/git'
 *
 * const github = new GitHubProvider({ owner: 'acme', repo: 'pipelines', token: process.env['GITHUB_TOKEN'] ?? '' })
 * const pr = await github.createPullRequest({ head: 'promote-orders', base: 'main', title: 'Promote orders' })
 * console.log(pr.url)
 * ```
 */
export class GitHubProvider implements PullRequestProvider {
  /** `github`. */
  readonly name = 'github'
  readonly #octokit: Octokit
  readonly #owner: string
  readonly #repo: string
  readonly #token: string

  constructor(options: GitHubProviderOptions) {
    if (!options.owner || !options.repo || !options.token)
      throw new StudioError('BAD_REQUEST', 'GitHubProvider needs owner, repo and token')
    this.#owner = options.owner
    this.#repo = options.repo
    this.#token = options.token
    this.#octokit = new Octokit({
      auth: options.token,
      baseUrl: (options.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
      log: quiet,
      ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
    })
  }

  /**
   * Opens a pull request.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `PROVIDER_FAILED` with `details.status`.
   */
  async createPullRequest(input: PullRequestInput): Promise<PullRequestRef> {
    try {
      const response = await this.#octokit.rest.pulls.create({
        owner: this.#owner,
        repo: this.#repo,
        head: input.head,
        base: input.base,
        title: input.title,
        ...(input.body === undefined ? {} : { body: input.body }),
        draft: input.draft ?? false,
        ...(input.signal ? { request: { signal: input.signal } } : {}),
      })
      const { html_url: url, number } = response.data
      if (typeof url !== 'string' || typeof number !== 'number')
        throw providerFailure('github', response.status, 'the response has no html_url or number', this.#token)
      return { url, number }
    } catch (error) {
      if (input.signal?.aborted) throw input.signal.reason
      if (error instanceof StudioError) throw error
      const e = error as { status?: unknown; message?: unknown; response?: { data?: unknown } }
      const status = typeof e.status === 'number' && e.status >= 100 ? e.status : 0
      const detail = bodyMessage(e.response?.data) ?? (typeof e.message === 'string' ? e.message : undefined)
      throw providerFailure(
        'github',
        status,
        detail === undefined ? undefined : scrub(detail, this.#token),
        this.#token,
      )
    }
  }
}
