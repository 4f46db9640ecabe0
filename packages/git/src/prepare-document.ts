import { StudioError } from '@sparkle-studio/core'
import { showInput } from './names.ts'
import { checkPipelineShape, type ValidatePipeline } from './pipeline-document.ts'
import { jsonIssues, stringifyPipeline } from './stable-json.ts'
import { validationFailure } from './validation-failure.ts'

/** What {@link prepareDocument} checks a document against. */
export interface PrepareOptions<T> {
  /** The store's validator; without it only the shape every pipeline has is checked. */
  readonly validate: ValidatePipeline<T> | undefined
  /** Largest serialized document accepted, in bytes. */
  readonly maxBytes: number
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Checks a document a write is given and serializes it the one way pipelines are stored; throws before anything is
 * written. A missing `name` is set to the pipeline's; a different one is refused (renames go through `rename`).
 *
 * @throws ValidationError `VALIDATION_FAILED` (or `SECRET_IN_PLAINTEXT` from the validator), StudioError
 * `PAYLOAD_TOO_LARGE`.
 */
export async function prepareDocument<T>(name: string, document: unknown, options: PrepareOptions<T>): Promise<string> {
  const subject = `pipeline "${name}"`
  if (!isObject(document))
    throw validationFailure(subject, [{ path: '', code: 'invalid_type', message: 'a pipeline document is an object' }])
  const named = document['name'] === undefined ? { ...document, name } : document
  const checkName = (doc: Record<string, unknown>) => {
    if (doc['name'] !== name)
      throw validationFailure(subject, [
        {
          path: '/name',
          code: 'name_mismatch',
          message: `the document's name ${showInput(doc['name'])} differs from the pipeline name "${name}" (use rename to change a name)`,
        },
      ])
  }
  checkName(named)
  const notJson = jsonIssues(named)
  if (notJson.length > 0) throw validationFailure(subject, notJson)
  let result: unknown = named
  if (options.validate) {
    const answer = await options.validate(named)
    if (!answer.ok) throw validationFailure(subject, answer.issues)
    result = answer.document
    if (!isObject(result)) throw new StudioError('INTERNAL', 'the validate option returned a non-object document')
    checkName(result)
    const changed = jsonIssues(result)
    if (changed.length > 0) throw validationFailure(subject, changed)
  } else {
    const issues = checkPipelineShape(named)
    if (issues.length > 0) throw validationFailure(subject, issues)
  }
  const text = stringifyPipeline(result)
  const bytes = Buffer.byteLength(text)
  if (bytes > options.maxBytes)
    throw new StudioError(
      'PAYLOAD_TOO_LARGE',
      `${subject} is ${bytes} bytes, over the ${options.maxBytes}-byte limit: split it into smaller pipelines or raise maxDocumentBytes`,
      { name, bytes, limit: options.maxBytes },
    )
  return text
}
