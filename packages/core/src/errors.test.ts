import { describe, expect, it } from 'vitest'
import { errorStatus, hasErrorCode, isStudioError, StudioError } from './errors.ts'

describe('StudioError', () => {
  it('carries code, message, details and cause', () => {
    const cause = new Error('low level')
    const e = new StudioError('CONFLICT', 'someone saved first', { current: 'abc' }, { cause })
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe('CONFLICT')
    expect(e.details).toEqual({ current: 'abc' })
    expect(e.cause).toBe(cause)
    expect(e.toJSON()).toEqual({ code: 'CONFLICT', message: 'someone saved first', details: { current: 'abc' } })
  })

  it('is recognised across realms by shape, not by instanceof', () => {
    // What a StudioError looks like after structured cloning (worker thread, another copy of the package).
    const cloned = structuredClone({ name: 'StudioError', code: 'NOT_FOUND', message: 'gone' })
    expect(cloned instanceof StudioError).toBe(false)
    expect(isStudioError(cloned)).toBe(true)
    expect(hasErrorCode(cloned, 'NOT_FOUND')).toBe(true)
    expect(hasErrorCode(cloned, 'CONFLICT')).toBe(false)
  })

  it('rejects lookalikes with unknown codes', () => {
    expect(isStudioError({ name: 'Error', code: 'ENOENT', message: 'no file' })).toBe(false)
    expect(isStudioError(null)).toBe(false)
    expect(isStudioError('CONFLICT')).toBe(false)
  })

  it('maps every code to an HTTP error status', () => {
    for (const status of Object.values(errorStatus)) {
      expect(status).toBeGreaterThanOrEqual(400)
      expect(status).toBeLessThan(600)
    }
    expect(errorStatus.CONFLICT).toBe(409)
    expect(errorStatus.VALIDATION_FAILED).toBe(422)
  })
})
