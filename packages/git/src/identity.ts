import { StudioError } from '@sparkle-studio/core'

/** Who a commit is attributed to. */
export interface GitIdentity {
  /** Display name, e.g. `Ada Lovelace`. */
  readonly name: string
  /** E-mail address, e.g. `ada@example.com`. */
  readonly email: string
}

/** The committer used when the store is given none. */
export const DEFAULT_COMMITTER: GitIdentity = Object.freeze({
  name: 'Sparkle Studio',
  email: 'studio@sparkle-studio.invalid',
})

/**
 * Checks an identity before it reaches git: git silently strips `<`, `>` and newlines, which would record something
 * other than what the caller asked for.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST`.
 */
export function assertIdentity(identity: GitIdentity, role: string): void {
  const bad = (v: unknown) => typeof v !== 'string' || v.trim().length === 0 || /[<>\n\r\0]/.test(v) || v.length > 200
  if (bad(identity.name) || bad(identity.email) || /\s/.test(identity.email))
    throw new StudioError(
      'BAD_REQUEST',
      `invalid ${role}: give a non-empty name and an e-mail without spaces, "<", ">" or line breaks`,
      { role },
    )
}

/**
 * The environment variables that make git record `author`, `committer` and `date`; `authorDate` (git's `<seconds> <offset>`) keeps the
 * original time of a replayed commit.
 */
export function identityEnv(
  author: GitIdentity,
  committer: GitIdentity,
  date: Date,
  authorDate?: string | undefined,
): Record<string, string> {
  const when = `@${Math.floor(date.getTime() / 1000)} +0000`
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: authorDate ?? when,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
    GIT_COMMITTER_DATE: when,
  }
}
