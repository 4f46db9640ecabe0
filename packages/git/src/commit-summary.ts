import type { CommitObject } from './git-objects.ts'

/**
 * One commit as this package reports it: what a write made, the last change of a pipeline in a list, an entry of a
 * history. Everything in it is read from the commit itself, so it equals what `git log -1 <commit>` shows.
 */
export interface CommitSummary {
  /** The commit id (40 hex digits, 64 in a SHA-256 repository). */
  readonly commit: string
  /** Who wrote the change, as git recorded it. */
  readonly author: { readonly name: string; readonly email: string }
  /** When it was written: the author date, ISO 8601 with the author's offset (`Z` for UTC). */
  readonly date: string
  /** The full commit message, without trailing newlines. */
  readonly message: string
}

/** A commit message as {@link CommitSummary.message} gives it. */
export function messageText(message: string): string {
  return message.replace(/\n+$/, '')
}

/** The summary of a parsed commit (no git process: the commit comes from the object reader). */
export function summarizeCommit(commit: CommitObject): CommitSummary {
  return {
    commit: commit.oid,
    author: { name: commit.author.name, email: commit.author.email },
    date: commit.author.date,
    message: messageText(commit.message),
  }
}
