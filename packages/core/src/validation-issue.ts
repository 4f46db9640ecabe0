import { StudioError } from './errors.ts'

/**
 * One problem found in a pipeline document or a component config. Validation reports every issue at once.
 *
 * @example
 * ```ts
 * import type { ValidationIssue } from '@sparkle-studio/core'
 *
 * const issue: ValidationIssue = { path: '/nodes/2/data/config/condition', message: 'Required', code: 'required', nodeId: 'filter' }
 * ```
 */
export interface ValidationIssue {
  /** JSON pointer (RFC 6901) into the validated value, `''` for the whole value. */
  readonly path: string
  /** A human-readable sentence. */
  readonly message: string
  /** A stable machine-readable code, e.g. `required`, `invalid_type`, `cycle`, `dangling_edge`, `secret_in_plaintext`. */
  readonly code: string
  /** The pipeline node the issue belongs to, when it belongs to one. */
  readonly nodeId?: string
}

/** A {@link StudioError} with code `VALIDATION_FAILED` whose `details.issues` lists every problem found. */
export class ValidationError extends StudioError {
  override name = 'ValidationError'
  /** Every issue found. */
  readonly issues: readonly ValidationIssue[]

  constructor(message: string, issues: readonly ValidationIssue[]) {
    super('VALIDATION_FAILED', message, { issues })
    this.issues = issues
  }
}

/** The longest pipeline name accepted. */
export const MAX_PIPELINE_NAME_LENGTH = 64

/**
 * Pipeline names are safe slugs: lower-case letters, digits, `-` and `_`, starting and ending with a letter or digit,
 * at most {@link MAX_PIPELINE_NAME_LENGTH} characters. They are used as folder names in git and in URLs, so nothing
 * that could escape a folder, look like a command-line option or need escaping is allowed.
 */
export const PIPELINE_NAME_PATTERN: RegExp = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/

/** True when `name` is a valid pipeline name (see {@link PIPELINE_NAME_PATTERN}). */
export function isValidPipelineName(name: unknown): name is string {
  return typeof name === 'string' && PIPELINE_NAME_PATTERN.test(name)
}
