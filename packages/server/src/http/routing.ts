// Finding the contract route of a method and path.
import { StudioError } from '@sparkle-studio/core'
import { type AnyRoute, api, type RouteName } from '@sparkle-studio/core/contract'

/** A matched route with its decoded path parameters. */
export interface RouteMatch {
  readonly name: RouteName
  readonly route: AnyRoute
  readonly params: Record<string, string>
}

interface Compiled {
  readonly name: RouteName
  readonly route: AnyRoute
  /** Literal segments, or the parameter name in braces. */
  readonly segments: readonly { readonly literal?: string; readonly param?: string }[]
}

const compiled: readonly Compiled[] = (Object.entries(api) as [RouteName, AnyRoute][])
  .map(([name, route]) => ({
    name,
    route,
    segments: route.path
      .split('/')
      .slice(1)
      .map((s) => {
        const m = /^\{([A-Za-z0-9_]+)\}$/.exec(s)
        return m?.[1] ? { param: m[1] } : { literal: s }
      }),
  }))
  // Literal segments win over parameters at the same position (`/components/search` before `/components/{type}`).
  .sort((a, b) => paramRank(a) - paramRank(b))

function paramRank(c: Compiled): number {
  return c.segments.reduce((rank, s, i) => (s.param ? rank + 2 ** (10 - i) : rank), 0)
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new StudioError('BAD_REQUEST', 'The URL is not valid')
  }
}

/**
 * The route for `method` and `path` (below the mount point, without the query), or `undefined`.
 * @throws `BAD_REQUEST` when a path parameter is not valid percent-encoding.
 */
export function matchRoute(method: string, path: string): RouteMatch | undefined {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  const parts = trimmed.split('/').slice(1)
  const wanted = method === 'HEAD' ? 'GET' : method
  for (const c of compiled) {
    if (c.route.method !== wanted || c.segments.length !== parts.length) continue
    const params: Record<string, string> = {}
    let ok = true
    for (const [i, s] of c.segments.entries()) {
      const part = parts[i] ?? ''
      if (s.literal !== undefined) {
        if (s.literal !== part) {
          ok = false
          break
        }
      } else if (s.param) {
        if (part === '') {
          ok = false
          break
        }
        params[s.param] = part
      }
    }
    if (!ok) continue
    for (const key of Object.keys(params)) params[key] = decode(params[key] ?? '')
    return { name: c.name, route: c.route, params }
  }
  return undefined
}

/** The methods the contract serves on `path` (for a 405 answer's `Allow`), empty when no route has that path. */
export function allowedMethods(path: string): string[] {
  const methods = new Set<string>()
  for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
    try {
      if (matchRoute(method, path)) methods.add(method)
    } catch {
      // A path parameter that does not decode: no route for it with any method.
    }
  }
  return [...methods]
}
