import { StudioError } from '@sparkle-studio/core'
import { type SimpleGit, simpleGit } from 'simple-git'
import { type GitProcessListener, gitEnv } from './git-process.ts'

/** Hides credentials embedded in URLs (`https://user:token@host`) in text that may reach logs or errors. */
export function redactUrls(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
}

/**
 * A simple-git instance for the network porcelain (fetch, push) in `dir`, with the same environment as `runGit`: no
 * prompts, stable messages, none of the caller's `GIT_*` variables; `onGitProcess` is told about each process it starts.
 */
export function porcelain(
  dir: string,
  signal?: AbortSignal | undefined,
  onGitProcess?: GitProcessListener | undefined,
): SimpleGit {
  // fetch and push never page; simple-git refuses GIT_PAGER outright, as a pager is a command it would run.
  const { GIT_PAGER: _pager, ...env } = gitEnv()
  const allow = Object.keys(env).filter((k) => k.startsWith('GIT_'))
  const git = simpleGit({ baseDir: dir, allowEnvironment: allow, ...(signal ? { abort: signal } : {}) }).env(env)
  return onGitProcess ? git.outputHandler((_command, _stdout, _stderr, args) => onGitProcess(args)) : git
}

/** The text of a simple-git failure, credentials hidden. */
export function porcelainMessage(error: unknown): string {
  return redactUrls(error instanceof Error ? error.message : String(error)).trim()
}

/** Wraps a simple-git failure as `GIT_FAILED` with the last lines of git's message. */
export function porcelainFailure(what: string, error: unknown, details: Record<string, unknown>): StudioError {
  if (error instanceof Error && error.name === 'AbortError') return error as unknown as StudioError
  const lines = porcelainMessage(error)
    .split('\n')
    .filter((l) => l && !l.startsWith('hint:'))
  return new StudioError('GIT_FAILED', `git ${what} failed: ${lines.slice(-3).join(' ')}`, details)
}
