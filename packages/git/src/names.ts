import { MAX_PIPELINE_NAME_LENGTH, PIPELINE_NAME_PATTERN, StudioError } from '@sparkle-studio/core'

/** The folder of the repository that holds one sub-folder per pipeline. */
export const PIPELINES_DIR = 'pipelines'

/** The file inside a pipeline's folder that holds its document. */
export const PIPELINE_FILE = 'pipeline.json'

/** Why a name was refused: the `rule` in the details of a `BAD_REQUEST` error. */
export type NameRule =
  | 'type'
  | 'empty'
  | 'too_long'
  | 'leading_dash'
  | 'path'
  | 'control_character'
  | 'pattern'
  | 'reserved'

const NAME_HELP = `use lower-case letters, digits, "-" and "_", starting and ending with a letter or digit, at most ${MAX_PIPELINE_NAME_LENGTH} characters`

/** A short, escaped rendering of untrusted input for messages: control characters visible, long input cut. */
export function showInput(value: unknown): string {
  if (typeof value !== 'string') return typeof value
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value
  return JSON.stringify(cut)
}

function refuse(kind: string, value: unknown, rule: NameRule, why: string, help: string): never {
  const shown = typeof value === 'string' ? (value.length > 100 ? `${value.slice(0, 100)}…` : value) : value
  throw new StudioError('BAD_REQUEST', `invalid ${kind} ${showInput(value)}: ${why}; ${help}`, { name: shown, rule })
}

/**
 * Checks a pipeline name before it gets anywhere near git: it becomes a folder name, so anything that could escape the
 * folder (`../x`, `a/b`), look like an option (`-x`, `--upload-pack=...`) or need escaping is refused.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` with details `{ name, rule }`.
 */
export function assertPipelineName(name: unknown): asserts name is string {
  const kind = 'pipeline name'
  if (typeof name !== 'string') refuse(kind, name, 'type', 'a name must be a string', NAME_HELP)
  if (name.length === 0) refuse(kind, name, 'empty', 'the name is empty', NAME_HELP)
  if (name.length > MAX_PIPELINE_NAME_LENGTH)
    refuse(kind, name, 'too_long', `the name has ${name.length} characters`, NAME_HELP)
  if (name.startsWith('-')) refuse(kind, name, 'leading_dash', 'a name cannot start with "-"', NAME_HELP)
  if (/[/\\]/.test(name) || name.includes('..'))
    refuse(kind, name, 'path', 'a name cannot contain "/", "\\" or ".."', NAME_HELP)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rule looks for
  if (/[\u0000-\u001f\u007f\s]/.test(name))
    refuse(kind, name, 'control_character', 'a name cannot contain spaces or control characters', NAME_HELP)
  if (!PIPELINE_NAME_PATTERN.test(name)) refuse(kind, name, 'pattern', 'the name is not a slug', NAME_HELP)
}

/** The repository path of a pipeline's document, `pipelines/<name>/pipeline.json`. */
export function pipelinePath(name: string): string {
  return `${PIPELINES_DIR}/${name}/${PIPELINE_FILE}`
}

const BRANCH_HELP =
  'use letters, digits, ".", "_", "-" and "/" (not at the start or end, no "..", "//" or ".lock"), at most 200 characters'

/** Rules of git ref names (git check-ref-format) made stricter: a safe character set and no leading `-`. */
function refNameProblem(name: string): [NameRule, string] | undefined {
  if (name.length === 0) return ['empty', 'the name is empty']
  if (name.length > 200) return ['too_long', `the name has ${name.length} characters`]
  if (name.startsWith('-')) return ['leading_dash', 'a name cannot start with "-"']
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rule looks for
  if (/[\u0000-\u001f\u007f\s]/.test(name)) return ['control_character', 'a name cannot contain spaces or controls']
  if (!/^[A-Za-z0-9._/-]+$/.test(name)) return ['pattern', 'the name has characters git refs do not allow']
  if (
    name.includes('..') ||
    name.includes('//') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.endsWith('.') ||
    name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))
  )
    return ['path', 'the name is not a valid git ref name']
  if (name === 'HEAD' || name === '@') return ['reserved', `"${name}" is reserved by git`]
  return undefined
}

/**
 * Checks a branch name (`main`, `feature/orders`) with git's ref rules plus a safe character set and no leading `-`.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` with details `{ name, rule }`.
 */
export function assertBranchName(name: unknown, kind = 'branch name'): asserts name is string {
  if (typeof name !== 'string') refuse(kind, name, 'type', 'a name must be a string', BRANCH_HELP)
  const problem = refNameProblem(name)
  if (problem) refuse(kind, name, problem[0], problem[1], BRANCH_HELP)
}

/**
 * Checks a remote name (`origin`).
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` with details `{ name, rule }`.
 */
export function assertRemoteName(name: unknown): asserts name is string {
  const help = 'use letters, digits, ".", "_" and "-", starting with a letter or digit'
  if (typeof name !== 'string') refuse('remote name', name, 'type', 'a name must be a string', help)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) refuse('remote name', name, 'pattern', 'not a remote name', help)
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** True for a full object id (40 hex digits for SHA-1 repositories, 64 for SHA-256). */
export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID.test(value)
}

/**
 * Turns what a caller may pass as `ref` (a branch name, a full ref name such as `refs/tags/v1`, or a full commit id)
 * into an unambiguous name for git: branches become `refs/heads/<name>`, so a branch can never be mistaken for a tag,
 * an option or an abbreviated object id.
 *
 * @throws {@link @sparkle-studio/core!index.StudioError | StudioError} `BAD_REQUEST` for anything else.
 */
export function revisionName(ref: unknown): string {
  if (isObjectId(ref)) return ref
  if (typeof ref === 'string' && ref.startsWith('refs/')) {
    assertBranchName(ref, 'ref')
    return ref
  }
  assertBranchName(ref)
  return `refs/heads/${ref}`
}
