import { spawn } from 'node:child_process'
import { StudioError } from '@sparkle-studio/core'

/**
 * Told about each git process just before it starts, with its arguments (what follows `git`), e.g. to count the
 * processes a save starts in a test. It must not throw.
 */
export type GitProcessListener = (args: readonly string[]) => void

/** Options of {@link runGit}. */
export interface RunGitOptions {
  /** Working directory (the repository, or for `init`/`clone` its parent). */
  readonly cwd: string
  /** Bytes or text written to git's standard input. */
  readonly input?: string | Uint8Array | undefined
  /** Extra environment variables (e.g. `GIT_INDEX_FILE`, author and committer identity). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Kills git when aborted. */
  readonly signal?: AbortSignal | undefined
  /** Exit codes that are answers rather than failures (e.g. `1` for `git diff --quiet`). */
  readonly okCodes?: readonly number[] | undefined
  /** Told about the process before it starts. */
  readonly onGitProcess?: GitProcessListener | undefined
}

/** What a finished git command printed. */
export interface GitOutput {
  /** Standard output as text. */
  readonly stdout: string
  /** Standard error as text. */
  readonly stderr: string
  /** The exit code. */
  readonly code: number
}

/**
 * The environment every git process gets: no prompts, no pager, stable English messages, and none of the caller's
 * `GIT_*` variables (a stray `GIT_DIR` or `GIT_INDEX_FILE` would point git at another repository or index).
 */
export function gitEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GIT_')) env[k] = v
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  }
}

/**
 * Runs one git command with arguments passed as an array (never through a shell) and returns its output.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `GIT_FAILED` with git's message when git exits with a code not in `okCodes`.
 * @example
 * ```ts
 * import { runGit } from '@sparkle-studio/git'
 *
 * const { stdout } = await runGit(['rev-parse', 'HEAD'], { cwd: '/srv/pipelines' })
 * ```
 */
export function runGit(args: readonly string[], options: RunGitOptions): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    options.onGitProcess?.(args)
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.once('error', (cause) =>
      reject(new StudioError('GIT_FAILED', `could not run git: ${cause.message}`, { args }, { cause })),
    )
    child.once('close', (code) => {
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? -1,
      }
      if (code === 0 || (code !== null && options.okCodes?.includes(code))) resolve(result)
      else {
        const message = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${result.code}`
        reject(new StudioError('GIT_FAILED', `git ${args[0] ?? ''} failed: ${message}`, { args, code: result.code }))
      }
    })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}
