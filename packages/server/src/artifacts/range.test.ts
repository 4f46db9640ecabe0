import { describe, expect, it } from 'vitest'
import { parseRange } from './service.ts'

describe('parseRange (one byte range of a Range header)', () => {
  it('reads first-last, first- and -suffix, clamping the end to the file', () => {
    expect(parseRange('bytes=3-9', 100)).toEqual({ start: 3, end: 9 })
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 })
    expect(parseRange('bytes=50-5000', 100)).toEqual({ start: 50, end: 99 })
    expect(parseRange(' Bytes = 1 - 2 ', 100)).toEqual({ start: 1, end: 2 })
  })

  it('answers the whole file for no header, several ranges, another unit or a range that does not parse', () => {
    for (const header of [undefined, 'bytes=0-1,5-6', 'items=0-1', 'pY', 'bytes=9-3', 'bytes=-', 'bytes=a-b']) {
      expect(parseRange(header, 100), String(header)).toBeUndefined()
    }
  })

  it('refuses a range outside the file with RANGE_NOT_SATISFIABLE and the size', () => {
    for (const header of ['bytes=100-', 'bytes=100-200', 'bytes=-0']) {
      expect(() => parseRange(header, 100), header).toThrow(
        expect.objectContaining({ code: 'RANGE_NOT_SATISFIABLE', details: { size: 100 } }),
      )
    }
    expect(() => parseRange('bytes=-5', 0)).toThrow(expect.objectContaining({ code: 'RANGE_NOT_SATISFIABLE' }))
  })
})
