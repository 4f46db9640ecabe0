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

/** True for a character git drops from both ends of a name or e-mail ("crud" in git's `ident.c`). */
const isCrud = (c: string) => c.charCodeAt(0) <= 32 || '.,:;<>"\\\''.includes(c)

function withoutCrud(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isCrud(value.charAt(start))) start++
  while (end > start && isCrud(value.charAt(end - 1))) end--
  return value.slice(start, end)
}

/**
 * Checks an identity before it reaches git: git silently strips `<`, `>` and newlines, which would record something
 * other than what the caller asked for.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST`.
 */
export function assertIdentity(identity: GitIdentity, role: string): void {
  const bad = (v: unknown) =>
    typeof v !== 'string' || withoutCrud(v).length === 0 || /[<>\n\r\0]/.test(v) || v.length > 200
  if (bad(identity.name) || bad(identity.email) || /\s/.test(identity.email))
    throw new StudioError(
      'BAD_REQUEST',
      `invalid ${role}: give a non-empty name and an e-mail without spaces, "<", ">" or line breaks`,
      { role },
    )
}

/**
 * The identity exactly as git records it in a commit: git trims spaces and the characters `.,:;<>"\'` from both ends
 * of the name and the e-mail (`Ada Jr.` is recorded as `Ada Jr`). A write reports this, so its summary equals the
 * commit.
 */
export function recordedIdentity(identity: GitIdentity): GitIdentity {
  return { name: withoutCrud(identity.name), email: withoutCrud(identity.email) }
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
