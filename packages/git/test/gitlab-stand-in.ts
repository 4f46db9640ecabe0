// The GitLab API stand-in: `POST /api/v4/projects/:id/merge_requests` with the fields GitLab documents for
// "Create MR" (docs.gitlab.com/api/merge_requests), answering the documented response fields the client reads.
import { checkFields, type HttpStandIn, startStandIn } from './http-stand-in.ts'

/** The documented attributes of "Create MR" (besides the `id` path parameter) and their JSON types. */
const CREATE_MR_FIELDS = {
  source_branch: 'string',
  target_branch: 'string',
  title: 'string',
  allow_collaboration: 'boolean',
  approvals_before_merge: 'number',
  allow_maintainer_to_push: 'boolean',
  assignee_id: 'number',
  assignee_ids: 'number[]',
  description: 'string',
  labels: 'string',
  milestone_id: 'number',
  remove_source_branch: 'boolean',
  reviewer_ids: 'number[]',
  squash: 'boolean',
  target_project_id: 'number',
} as const

const CREATE_MR_REQUIRED = ['source_branch', 'target_branch', 'title'] as const

/** The documented fields of a merge request this stand-in answers. */
interface MergeRequestReply {
  readonly id: number
  readonly iid: number
  readonly project_id: number
  readonly title: string
  readonly description: string | null
  readonly state: 'opened'
  readonly source_branch: string
  readonly target_branch: string
  readonly draft: boolean
  readonly work_in_progress: boolean
  readonly web_url: string
  readonly created_at: string
}

/** Starts the GitLab API stand-in for one project; `fail` makes it answer that status instead. */
export async function startGitLabStandIn(options: {
  readonly token: string
  readonly project: string
  readonly fail?: 401 | 409
}): Promise<HttpStandIn> {
  let next = 7
  const opened = new Set<string>()
  return startStandIn((request, violations) => {
    const route = `/api/v4/projects/${encodeURIComponent(options.project)}/merge_requests`
    if (request.method !== 'POST' || request.path !== route) {
      violations.push(`unexpected ${request.method} ${request.path} (expected POST ${route})`)
      return { status: 404, body: { message: '404 Project Not Found' } }
    }
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json'))
      violations.push('content-type is not application/json')
    if (options.fail === 401 || request.headers['private-token'] !== options.token)
      return { status: 401, body: { message: '401 Unauthorized' } }
    checkFields(request.body, CREATE_MR_FIELDS, CREATE_MR_REQUIRED, violations, 'create merge request')
    const input = request.body as { source_branch: string; target_branch: string; title: string; description?: string }
    if (options.fail === 409 || opened.has(input.source_branch))
      return {
        status: 409,
        body: { message: [`Another open merge request already exists for this source branch: !${next - 1}`] },
      }
    opened.add(input.source_branch)
    const iid = next++
    const draft = /^(draft:|\[draft\]|\(draft\))/i.test(input.title)
    const reply: MergeRequestReply = {
      id: 5000 + iid,
      iid,
      project_id: 42,
      title: input.title,
      description: input.description ?? null,
      state: 'opened',
      source_branch: input.source_branch,
      target_branch: input.target_branch,
      draft,
      work_in_progress: draft,
      web_url: `https://gitlab.invalid/${options.project}/-/merge_requests/${iid}`,
      created_at: '2026-11-02T09:30:00.000Z',
    }
    return { status: 201, body: reply }
  })
}
