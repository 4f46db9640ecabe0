import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '@sparkle-studio/test-utils'
import { describe, expect, it } from 'vitest'
import { readLogChunk, readLogTail } from './log-reader.ts'
import { toPropertiesFile } from './properties-file.ts'

describe('readLogChunk', () => {
  it('reads by byte offset without splitting a UTF-8 character', async () => {
    const dir = await makeTempDir()
    try {
      const path = join(dir.path, 'spark.log')
      const text = 'héllo wörld ✓ done\n'
      await writeFile(path, text)
      let offset = 0
      let out = ''
      for (;;) {
        const chunk = await readLogChunk(path, offset, 3)
        if (chunk.nextOffset === offset) break
        out += chunk.text
        offset = chunk.nextOffset
      }
      expect(out).toBe(text)
      expect(offset).toBe(Buffer.byteLength(text))
      expect(await readLogChunk(join(dir.path, 'missing.log'), 0, 10)).toEqual({ text: '', nextOffset: 0, size: 0 })
      expect(await readLogTail(path, 1)).toBe('héllo wörld ✓ done')
    } finally {
      await dir.remove()
    }
  })
})

describe('toPropertiesFile', () => {
  it('escapes what Java properties would misread', () => {
    expect(toPropertiesFile({ 'spark.a': 'plain', 'key with=sep': ' lead\\back\nline', 'spark.b': 'x=y:z' })).toBe(
      'spark.a=plain\nkey\\ with\\=sep=\\ lead\\\\back\\nline\nspark.b=x=y:z\n',
    )
  })
})
