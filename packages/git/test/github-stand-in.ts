// The GitHub API stand-in: `POST /repos/{owner}/{repo}/pulls` checked against GitHub's published OpenAPI description
// (@octokit/openapi-types), at compile time (`satisfies`) and at run time (the fields of each request).
import type { components, operations } from '@octokit/openapi-types'
import { checkFields, type HttpStandIn, startStandIn } from './http-stand-in.ts'

type PullsCreateBody = operations['pulls/create']['requestBody']['content']['application/json']
type PullRequest = components['schemas']['pull-request']
type ValidationFailed = components['schemas']['validation-error']
type BasicError = components['schemas']['basic-error']

/** The keys of T that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T]

/** Every documented request field and its JSON type; `satisfies` fails to compile if the description changes. */
const PULLS_CREATE_FIELDS = {
  title: 'string',
  head: 'string',
  head_repo: 'string',
  base: 'string',
  body: 'string',
  maintainer_can_modify: 'boolean',
  draft: 'boolean',
  issue: 'number',
} as const satisfies Record<keyof PullsCreateBody, 'string' | 'boolean' | 'number'>

const PULLS_CREATE_REQUIRED = ['head', 'base'] as const satisfies readonly RequiredKeys<PullsCreateBody>[]
// Compile-time proof that no required field of the description is missing from the list above.
const everyRequiredListed: Exclude<RequiredKeys<PullsCreateBody>, (typeof PULLS_CREATE_REQUIRED)[number]> extends never
  ? true
  : false = true

/** The part of the `pull-request` schema this stand-in answers (every field required there, of those the client reads). */
type PullRequestReply = Pick<
  PullRequest,
  | 'id'
  | 'node_id'
  | 'url'
  | 'html_url'
  | 'number'
  | 'state'
  | 'locked'
  | 'title'
  | 'body'
  | 'draft'
  | 'created_at'
  | 'updated_at'
  | 'merged'
>

/** The GitHub API stand-in with what it saw. */
export interface GitHubStandIn extends HttpStandIn {
  /** The API root to give `GitHubProvider` (with `/api/v3` when started as GitHub Enterprise). */
  readonly apiUrl: string
}

/**
 * Starts the GitHub API stand-in. `token` is the only token it accepts; `fail` makes it answer that error instead.
 */
export async function startGitHubStandIn(options: {
  readonly token: string
  readonly owner: string
  readonly repo: string
  readonly enterprise?: boolean
  readonly fail?: 401 | 422
}): Promise<GitHubStandIn> {
  const prefix = options.enterprise ? '/api/v3' : ''
  let next = 41
  const standIn = await startStandIn((request, violations) => {
    if (!everyRequiredListed) violations.push('stand-in out of date')
    const route = `${prefix}/repos/${options.owner}/${options.repo}/pulls`
    if (request.method !== 'POST' || request.path !== route) {
      violations.push(`unexpected ${request.method} ${request.path} (expected POST ${route})`)
      return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } }
    }
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json'))
      violations.push('content-type is not application/json')
    if (!String(request.headers['accept'] ?? '').includes('application/vnd.github'))
      violations.push('accept does not ask for the GitHub media type')
    if (options.fail === 401 || request.headers['authorization'] !== `token ${options.token}`) {
      const body: BasicError = { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' }
      return { status: 401, body }
    }
    checkFields(request.body, PULLS_CREATE_FIELDS, PULLS_CREATE_REQUIRED, violations, 'pulls/create')
    const input = request.body as Partial<PullsCreateBody>
    if (input.title === undefined && input.issue === undefined)
      violations.push('pulls/create: title or issue is required')
    if (options.fail === 422) {
      const body: ValidationFailed = {
        message: 'Validation Failed',
        documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
        errors: [
          {
            resource: 'PullRequest',
            code: 'custom',
            message: `A pull request already exists for ${options.owner}:${input.head}.`,
          },
        ],
      }
      return { status: 422, body }
    }
    const number = next++
    const api = `http://api.github.invalid/repos/${options.owner}/${options.repo}/pulls/${number}`
    const reply = {
      id: 1_000_000 + number,
      node_id: `PR_kwDO${number}`,
      url: api,
      html_url: `https://github.invalid/${options.owner}/${options.repo}/pull/${number}`,
      number,
      state: 'open',
      locked: false,
      title: input.title ?? '',
      body: input.body ?? null,
      draft: input.draft ?? false,
      created_at: '2026-11-02T09:30:00Z',
      updated_at: '2026-11-02T09:30:00Z',
      merged: false,
    } satisfies PullRequestReply
    return { status: 201, body: reply }
  })
  return { ...standIn, apiUrl: `${standIn.url}${prefix}` }
}
