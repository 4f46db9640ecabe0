import { StudioError } from '@sparkle-studio/core'

/** Removes every occurrence of `secret` from `text`, so tokens never reach errors or logs. */
export function scrub(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('***') : text
}

/** A readable sentence from an error body such as GitHub's `{ message, errors }` or GitLab's `{ message }`. */
export function bodyMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 500) || undefined
  if (typeof body !== 'object' || body === null) return undefined
  const b = body as { message?: unknown; error?: unknown; errors?: unknown }
  const parts: string[] = []
  const add = (v: unknown) => {
    if (typeof v === 'string') parts.push(v)
    else if (Array.isArray(v))
      for (const x of v)
        add(typeof x === 'object' && x !== null ? ((x as { message?: unknown }).message ?? JSON.stringify(x)) : x)
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) parts.push(`${k}: ${Array.isArray(x) ? x.join(', ') : String(x)}`)
  }
  add(b.message)
  add(b.error)
  add(b.errors)
  return parts.length > 0 ? parts.join('; ').slice(0, 500) : undefined
}

/** The `PROVIDER_FAILED` error of a hosting service call, with the HTTP status (0 when no response came). */
export function providerFailure(provider: string, status: number, detail: string | undefined, token: string) {
  const label = provider === 'github' ? 'GitHub' : provider === 'gitlab' ? 'GitLab' : provider
  const what = status === 0 ? 'could not be reached' : `answered HTTP ${status}`
  const hint =
    status === 401 || status === 403
      ? ': check the token and its permissions (pull requests: write)'
      : status === 404
        ? ': check the repository or project and that the token can see it'
        : status === 409 || status === 422
          ? ': a pull request for these branches may already exist, or a branch is missing'
          : ''
  const message = scrub(`${label} ${what} when opening the pull request${detail ? ` (${detail})` : ''}${hint}`, token)
  return new StudioError('PROVIDER_FAILED', message, { provider, status })
}
