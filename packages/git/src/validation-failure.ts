import { StudioError, ValidationError, type ValidationIssue } from '@sparkle-studio/core'

/** The issue code core's validator uses for a plaintext value in a secret field. */
export const SECRET_IN_PLAINTEXT_ISSUE = 'secret_in_plaintext'

/**
 * The error for a document that failed validation: `SECRET_IN_PLAINTEXT` when any issue is a plaintext secret (the
 * message names the fields, never their values), otherwise a {@link ValidationError}.
 */
export function validationFailure(subject: string, issues: readonly ValidationIssue[]): StudioError {
  const secrets = issues.filter((i) => i.code === SECRET_IN_PLAINTEXT_ISSUE)
  if (secrets.length > 0) {
    const where = secrets
      .slice(0, 5)
      .map((i) => (i.nodeId === undefined ? i.path || '/' : `${i.path} (node "${i.nodeId}")`))
      .join(', ')
    return new StudioError(
      'SECRET_IN_PLAINTEXT',
      `${subject} has a plaintext value in a secret field: ${where}${secrets.length > 5 ? ', ...' : ''}; ` +
        'store a secret reference {"$secret": "NAME"} instead. Nothing was saved',
      { issues },
    )
  }
  const first = issues
    .slice(0, 3)
    .map((i) => `${i.path || '/'}: ${i.message}`)
    .join('; ')
  return new ValidationError(
    `${subject} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}: ${first}${issues.length > 3 ? '; ...' : ''}). Nothing was saved`,
    issues,
  )
}
