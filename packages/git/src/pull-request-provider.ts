/** What to open as a pull request (GitHub) or merge request (GitLab). */
export interface PullRequestInput {
  /** The branch with the changes (already pushed). */
  readonly head: string
  /** The branch to merge into, e.g. `main`. */
  readonly base: string
  /** The title. */
  readonly title: string
  /** The description (Markdown). */
  readonly body?: string | undefined
  /** Open as a draft. @default false */
  readonly draft?: boolean | undefined
  /** Cancels the request. */
  readonly signal?: AbortSignal | undefined
}

/** An opened pull or merge request. */
export interface PullRequestRef {
  /** The page people open in a browser. */
  readonly url: string
  /** The number shown in the hosting service (`#12` on GitHub, `!12` on GitLab). */
  readonly number: number
}

/**
 * A hosting service that opens pull requests: promotion of pipelines is a pull request. Implementations:
 * {@link GitHubProvider} (GitHub and GitHub Enterprise) and {@link GitLabProvider} (merge requests).
 */
export interface PullRequestProvider {
  /** A short name for messages, e.g. `github`. */
  readonly name: string
  /**
   * Opens a pull request from `head` into `base`.
   *
   * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `PROVIDER_FAILED` with the HTTP status in
   * `details.status`; the token never appears in the error.
   */
  createPullRequest(input: PullRequestInput): Promise<PullRequestRef>
}
