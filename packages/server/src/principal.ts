import type { Role } from '@sparkle-studio/core/contract'
import type { Logger } from './logger.ts'

/**
 * Who makes a call: every use case takes one, and every route checks its role against the role the contract
 * declares. `via` says how the caller was identified: an API key, a JWT, or the host application's own sessions.
 */
export interface Principal {
  readonly id: string
  readonly name: string
  readonly email?: string | undefined
  readonly role: Role
  readonly via: 'key' | 'jwt' | 'host'
}

/** Roles from least to most powerful: each includes the ones before it. */
export const ROLES: readonly Role[] = Object.freeze(['viewer', 'editor', 'admin'])

/** True when `principal` holds `role` or a more powerful one. */
export function hasRole(principal: Pick<Principal, 'role'>, role: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(role)
}

/** What a use case gets besides its input: who calls, and how to stop. */
export interface Call {
  readonly principal: Principal
  /** Aborted when the caller goes away. */
  readonly signal?: AbortSignal | undefined
  /** The request id, when the call came over HTTP (also in `x-request-id`). */
  readonly requestId?: string | undefined
  /** A logger for this call (with its request id). */
  readonly log?: Logger | undefined
}

/** The request facts an authenticator sees. */
export interface AuthRequest {
  readonly method: string
  readonly path: string
  /** A request header by lower-case name. */
  header(name: string): string | undefined
}

/**
 * Identifies the caller of an HTTP request, or answers `null` for an anonymous one (refused with `UNAUTHORIZED`).
 * Plug in the host's own sessions here.
 */
export type Authenticate = (request: AuthRequest) => Principal | null | Promise<Principal | null>

/**
 * The git identity a principal's commits are authored with: its name, and its e-mail or an address made from its
 * stable id (the server stays the committer).
 */
export function authorOf(principal: Principal): { name: string; email: string } {
  const local = principal.id.replace(/[^A-Za-z0-9._-]+/g, '.').replace(/^[.]+|[.]+$/g, '') || 'principal'
  return { name: principal.name, email: principal.email ?? `${local}@principals.sparkle.invalid` }
}
