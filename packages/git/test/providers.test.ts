import { isStudioError, type StudioError } from '@sparkle-studio/core'
import { afterEach, describe, expect, it } from 'vitest'
import { GitHubProvider } from '../src/github-provider.ts'
import { GitLabProvider } from '../src/gitlab-provider.ts'
import { startGitHubStandIn } from './github-stand-in.ts'
import { startGitLabStandIn } from './gitlab-stand-in.ts'
import type { HttpStandIn } from './http-stand-in.ts'

const TOKEN = 'ghp_standInToken0123456789'

async function caught(promise: Promise<unknown>): Promise<StudioError> {
  try {
    await promise
  } catch (error) {
    if (isStudioError(error)) return error
    throw error
  }
  throw new Error('expected a StudioError, but the call succeeded')
}

const running: HttpStandIn[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
})

describe('GitHubProvider against the GitHub API stand-in (requests checked against @octokit/openapi-types)', () => {
  it('opens a pull request through @octokit/rest and returns its url and number', async () => {
    const standIn = await startGitHubStandIn({ token: TOKEN, owner: 'acme', repo: 'pipelines' })
    running.push(standIn)
    const github = new GitHubProvider({ owner: 'acme', repo: 'pipelines', token: TOKEN, baseUrl: standIn.apiUrl })
    const pr = await github.createPullRequest({
      head: 'migrate-v2',
      base: 'main',
      title: 'Migrate',
      body: 'All of them',
      draft: true,
    })
    expect(pr).toEqual({ url: 'https://github.invalid/acme/pipelines/pull/41', number: 41 })
    expect(standIn.violations).toEqual([])
    expect(standIn.requests[0]?.body).toEqual({
      head: 'migrate-v2',
      base: 'main',
      title: 'Migrate',
      body: 'All of them',
      draft: true,
    })
  })

  it('works with a GitHub Enterprise base URL', async () => {
    const standIn = await startGitHubStandIn({ token: TOKEN, owner: 'acme', repo: 'pipelines', enterprise: true })
    running.push(standIn)
    const github = new GitHubProvider({ owner: 'acme', repo: 'pipelines', token: TOKEN, baseUrl: `${standIn.apiUrl}/` })
    expect((await github.createPullRequest({ head: 'a', base: 'main', title: 't' })).number).toBe(41)
    expect(standIn.requests[0]?.path).toBe('/api/v3/repos/acme/pipelines/pulls')
    expect(standIn.violations).toEqual([])
  })

  it('turns a 422 and a 401 into PROVIDER_FAILED with the status, without the token', async () => {
    const invalid = await startGitHubStandIn({ token: TOKEN, owner: 'acme', repo: 'pipelines', fail: 422 })
    running.push(invalid)
    const e422 = await caught(
      new GitHubProvider({ owner: 'acme', repo: 'pipelines', token: TOKEN, baseUrl: invalid.apiUrl }).createPullRequest(
        {
          head: 'a',
          base: 'main',
          title: 't',
        },
      ),
    )
    expect(e422).toMatchObject({ code: 'PROVIDER_FAILED', details: { provider: 'github', status: 422 } })
    expect(e422.message).toContain('A pull request already exists')
    const wrongToken = `${TOKEN}-wrong`
    const e401 = await caught(
      new GitHubProvider({
        owner: 'acme',
        repo: 'pipelines',
        token: wrongToken,
        baseUrl: invalid.apiUrl,
      }).createPullRequest({
        head: 'a',
        base: 'main',
        title: 't',
      }),
    )
    expect(e401).toMatchObject({ code: 'PROVIDER_FAILED', details: { status: 401 } })
    for (const e of [e422, e401]) {
      expect(JSON.stringify({ message: e.message, details: e.details, stack: e.stack })).not.toContain('standInToken')
    }
  })

  it('reports an unreachable API as PROVIDER_FAILED with status 0', async () => {
    const standIn = await startGitHubStandIn({ token: TOKEN, owner: 'acme', repo: 'pipelines' })
    await standIn.close()
    const e = await caught(
      new GitHubProvider({ owner: 'acme', repo: 'pipelines', token: TOKEN, baseUrl: standIn.apiUrl }).createPullRequest(
        {
          head: 'a',
          base: 'main',
          title: 't',
        },
      ),
    )
    expect(e).toMatchObject({ code: 'PROVIDER_FAILED' })
    expect(e.message).not.toContain(TOKEN)
  })
})

describe('GitLabProvider against the GitLab API stand-in (documented Create MR fields)', () => {
  const GL_TOKEN = 'glpat-standInToken0123'

  it('opens a merge request, as a draft through the Draft: title prefix', async () => {
    const standIn = await startGitLabStandIn({ token: GL_TOKEN, project: 'acme/data/pipelines' })
    running.push(standIn)
    const gitlab = new GitLabProvider({ baseUrl: `${standIn.url}/`, projectId: 'acme/data/pipelines', token: GL_TOKEN })
    const mr = await gitlab.createPullRequest({
      head: 'migrate-v2',
      base: 'main',
      title: 'Migrate',
      body: 'Why',
      draft: true,
    })
    expect(mr).toEqual({ url: 'https://gitlab.invalid/acme/data/pipelines/-/merge_requests/7', number: 7 })
    expect(standIn.requests[0]?.body).toEqual({
      source_branch: 'migrate-v2',
      target_branch: 'main',
      title: 'Draft: Migrate',
      description: 'Why',
    })
    expect(standIn.violations).toEqual([])
    const second = await gitlab.createPullRequest({ head: 'other', base: 'main', title: 'Plain' })
    expect(second.number).toBe(8)
    expect(standIn.requests[1]?.body).toMatchObject({ title: 'Plain' })
  })

  it('turns a 409 (already open) and a 401 into PROVIDER_FAILED with the status, without the token', async () => {
    const standIn = await startGitLabStandIn({ token: GL_TOKEN, project: '42' })
    running.push(standIn)
    const gitlab = new GitLabProvider({ baseUrl: standIn.url, projectId: 42, token: GL_TOKEN })
    await gitlab.createPullRequest({ head: 'x', base: 'main', title: 'one' })
    const e409 = await caught(gitlab.createPullRequest({ head: 'x', base: 'main', title: 'two' }))
    expect(e409).toMatchObject({ code: 'PROVIDER_FAILED', details: { provider: 'gitlab', status: 409 } })
    expect(e409.message).toContain('Another open merge request already exists')
    const e401 = await caught(
      new GitLabProvider({ baseUrl: standIn.url, projectId: 42, token: 'glpat-wrong-token' }).createPullRequest({
        head: 'y',
        base: 'main',
        title: 't',
      }),
    )
    expect(e401).toMatchObject({ code: 'PROVIDER_FAILED', details: { status: 401 } })
    expect(e401.message).not.toContain('glpat-wrong-token')
    expect(standIn.violations).toEqual([])
  })
})
