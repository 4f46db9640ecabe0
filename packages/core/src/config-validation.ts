import type { z } from 'zod'
import type { ComponentDefinition } from './component.ts'
import { findTooDeep, tooDeepIssue } from './depth.ts'
import { escapePointer, secretPaths, valuesAtPattern } from './ui-schema.ts'
import type { ValidationIssue } from './validation-issue.ts'

/** The result of validating a component config: the parsed config (defaults applied), or every issue. */
export type ConfigValidation<T = Record<string, unknown>> =
  | { readonly ok: true; readonly config: T }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] }

/** Where issues are reported: a pointer prefix (e.g. `/nodes/3/data/config`) and the node they belong to. */
export interface IssueLocation {
  readonly basePath?: string
  readonly nodeId?: string
}

/** Converts a path of keys and indexes to a JSON pointer. */
export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${escapePointer(String(p))}`).join('')
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

/** Converts zod issues to {@link ValidationIssue}s with JSON pointers, mapping a missing value to code `required`. */
export function fromZodIssues(error: z.ZodError, input: unknown, where: IssueLocation = {}): ValidationIssue[] {
  const out: ValidationIssue[] = []
  const visit = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) => {
    for (const issue of issues) {
      const path = [...prefix, ...issue.path]
      if (
        issue.code === 'invalid_union' &&
        issue.errors.length > 0 &&
        !('discriminator' in issue && issue.discriminator)
      ) {
        // Report the branch that got furthest (fewest issues), not "invalid input".
        const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? []
        visit(best, path)
        continue
      }
      const missing = issue.code === 'invalid_type' && valueAt(input, path) === undefined
      const code = missing ? 'required' : issue.code === 'unrecognized_keys' ? 'unknown_field' : issue.code
      const message = missing
        ? 'Required'
        : issue.code === 'unrecognized_keys'
          ? `Unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`
          : issue.message
      const pointer = `${where.basePath ?? ''}${toPointer(path)}`
      out.push(
        where.nodeId === undefined
          ? { path: pointer, message, code }
          : { path: pointer, message, code, nodeId: where.nodeId },
      )
    }
  }
  visit(error.issues, [])
  return out
}

/**
 * Validates a component config: applies defaults, reports every problem with a JSON pointer, and reports a plain
 * value in a secret field as `secret_in_plaintext` (without repeating the value anywhere). A config nested deeper
 * than 64 levels gets one `too_deep` issue.
 */
export function validateComponentConfig<S extends z.ZodObject>(
  component: ComponentDefinition<S>,
  config: unknown,
  where: IssueLocation = {},
): ConfigValidation<z.output<S>> {
  // Schemas may recurse (z.json(), z.lazy()): deeper input would exhaust the stack.
  const deep = findTooDeep(config)
  if (deep !== undefined) return { ok: false, issues: [tooDeepIssue(deep, where.basePath ?? '', where.nodeId)] }
  const plaintext: string[] = []
  for (const pattern of secretPaths(component.config)) {
    for (const { pointer, value } of valuesAtPattern(config, pattern)) {
      if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value)))
        plaintext.push(pointer)
    }
  }
  const issues: ValidationIssue[] = plaintext.map((p) => {
    const issue = {
      path: `${where.basePath ?? ''}${p}`,
      message: 'A secret field must hold a reference like {"$secret": "NAME"}, never the secret itself',
      code: 'secret_in_plaintext',
    }
    return where.nodeId === undefined ? issue : { ...issue, nodeId: where.nodeId }
  })
  const parsed = component.config.safeParse(config)
  if (parsed.success && issues.length === 0) return { ok: true, config: parsed.data }
  if (!parsed.success) {
    const flagged = new Set(issues.map((i) => i.path))
    for (const issue of fromZodIssues(parsed.error, config, where)) {
      if (![...flagged].some((f) => issue.path === f || issue.path.startsWith(`${f}/`))) issues.push(issue)
    }
  }
  return { ok: false, issues }
}
