import { escapePointer } from './ui-schema.ts'
import { ValidationError, type ValidationIssue } from './validation-issue.ts'

/**
 * The deepest nesting of arrays and objects a pipeline document (or a config, or run params) may have. Real documents
 * stay far below it; walks over deeper input stop here with a validation issue instead of exhausting the stack.
 */
export const MAX_NESTING_DEPTH = 64

/**
 * The JSON pointer of the first array or object nested deeper than `max` levels in `value` (the value itself is level
 * 1), or `undefined`. Iterative, and it stops at the first one: safe on input of any depth.
 */
export function findTooDeep(value: unknown, max: number = MAX_NESTING_DEPTH): string | undefined {
  const stack: [unknown, number, string][] = [[value, 1, '']]
  while (stack.length > 0) {
    const [current, depth, pointer] = stack.pop() as [unknown, number, string]
    if (typeof current !== 'object' || current === null) continue
    if (depth > max) return pointer
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], depth + 1, `${pointer}/${i}`])
    } else {
      const entries = Object.entries(current)
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown]
        stack.push([child, depth + 1, `${pointer}/${escapePointer(key)}`])
      }
    }
  }
  return undefined
}

/** The `too_deep` issue for a value found by {@link findTooDeep} at `pointer` (`basePath` prefixed). */
export function tooDeepIssue(pointer: string, basePath = '', nodeId?: string): ValidationIssue {
  const issue = {
    path: `${basePath}${pointer}`,
    message: `Nested more than ${MAX_NESTING_DEPTH} levels deep. Fix: flatten the value; no pipeline needs this depth`,
    code: 'too_deep',
  }
  return nodeId === undefined ? issue : { ...issue, nodeId }
}

/** Throws a `too_deep` {@link ValidationError} when `value` is nested deeper than {@link MAX_NESTING_DEPTH}. */
export function assertNotTooDeep(value: unknown, basePath = ''): void {
  const pointer = findTooDeep(value)
  if (pointer !== undefined) {
    const issue = tooDeepIssue(pointer, basePath)
    throw new ValidationError(`The input is nested too deeply (${issue.path})`, [issue])
  }
}
