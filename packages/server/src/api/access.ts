import { StudioError } from '@sparkle-studio/core'
import type { StudioParts } from '../parts.ts'
import type { UseCases } from './types.ts'

type AccessCases = Pick<UseCases, 'createKey' | 'listKeys' | 'revokeKey' | 'listAudit'>

/** API keys (created, listed, revoked by admins) and the audit log. */
export function accessUseCases({ keys, audit }: Pick<StudioParts, 'keys' | 'audit'>): AccessCases {
  return {
    createKey: async ({ body }, { principal }) => {
      if (body.expiresAt !== undefined && !(Date.parse(body.expiresAt) > Date.now()))
        throw new StudioError('BAD_REQUEST', `expiresAt must be in the future; got ${body.expiresAt}`, {
          expiresAt: body.expiresAt,
        })
      return keys.create({
        name: body.name,
        role: body.role,
        createdBy: principal.id,
        ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}),
      })
    },
    listKeys: async ({ query }) => keys.list({ includeRevoked: query.includeRevoked }),
    revokeKey: async ({ params }) => keys.revoke(params.id),
    listAudit: async ({ query }) => audit.list(query),
  }
}
