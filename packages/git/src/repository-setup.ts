import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { StudioError } from '@sparkle-studio/core'
import { runGit } from './git-process.ts'
import { assertBranchName, assertRemoteName } from './names.ts'
import { redactUrls } from './porcelain.ts'

/** Options of {@link initRepository}. */
export interface InitRepositoryOptions {
  /** The first branch. @default 'main' */
  readonly initialBranch?: string | undefined
  /** Cancels git. */
  readonly signal?: AbortSignal | undefined
}

/**
 * Creates an empty bare repository for a {@link GitPipelineStore} (the folder is created when missing). Running it on
 * an existing repository changes nothing.
 *
 * @example
 * ```ts
 * import { GitPipelineStore, initRepository } from '@sparkle-studio/git'
 *
 * const path = await initRepository('/srv/pipelines.git')
 * const store = await GitPipelineStore.open({ repo: path })
 * ```
 */
export async function initRepository(path: string, options: InitRepositoryOptions = {}): Promise<string> {
  const branch = options.initialBranch ?? 'main'
  assertBranchName(branch)
  const dir = resolve(path)
  await mkdir(dir, { recursive: true })
  await runGit(['init', '--bare', '--quiet', `--initial-branch=${branch}`], { cwd: dir, signal: options.signal })
  return dir
}

/** Options of {@link cloneRepository}. */
export interface CloneRepositoryOptions {
  /** The branch `HEAD` should name (the store's default branch). @default the remote's default branch */
  readonly branch?: string | undefined
  /** The remote's name. @default 'origin' */
  readonly remote?: string | undefined
  /** Cancels the clone. */
  readonly signal?: AbortSignal | undefined
}

/**
 * Makes a bare clone for a {@link GitPipelineStore}: local branches are the store's, and the remote's branches are
 * tracked separately under `refs/remotes/<remote>/`, so `status`, `pull` and `push` can compare them.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` for a URL that could be read as an option or
 * uses a command transport (`ext::`, `fd::`), `GIT_FAILED` when git cannot clone (message without credentials).
 * @example
 * ```ts
 * import { cloneRepository, GitPipelineStore } from '@sparkle-studio/git'
 *
 * const path = await cloneRepository('https://github.com/acme/pipelines.git', '/srv/pipelines.git')
 * const store = await GitPipelineStore.open({ repo: path })
 * ```
 */
export async function cloneRepository(
  url: string,
  path: string,
  options: CloneRepositoryOptions = {},
): Promise<string> {
  const remote = options.remote ?? 'origin'
  assertRemoteName(remote)
  if (options.branch !== undefined) assertBranchName(options.branch)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this check refuses
  if (typeof url !== 'string' || url.length === 0 || url.startsWith('-') || /[\u0000-\u001f\u007f]/.test(url))
    throw new StudioError('BAD_REQUEST', 'invalid repository URL: give an https://, ssh:// or file path URL', {
      rule: 'url',
    })
  if (/^(ext|fd)::/i.test(url))
    throw new StudioError('BAD_REQUEST', 'repository URLs with command transports (ext::, fd::) are not allowed', {
      rule: 'transport',
    })
  const dir = resolve(path)
  await mkdir(dirname(dir), { recursive: true })
  const { signal } = options
  const args = ['clone', '--bare', '--quiet', `--origin=${remote}`]
  if (options.branch) args.push(`--branch=${options.branch}`)
  try {
    await runGit([...args, '--', url, dir], { cwd: dirname(dir), signal })
  } catch (error) {
    const message = error instanceof Error ? redactUrls(error.message) : String(error)
    throw new StudioError('GIT_FAILED', message, { url: redactUrls(url) })
  }
  await runGit(['config', `remote.${remote}.fetch`, `+refs/heads/*:refs/remotes/${remote}/*`], { cwd: dir, signal })
  await runGit(['fetch', '--quiet', '--no-tags', remote], { cwd: dir, signal })
  return dir
}
