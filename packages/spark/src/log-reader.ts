import { open } from 'node:fs/promises'

/** The default number of bytes one {@link readLogChunk} call returns. */
export const DEFAULT_LOG_CHUNK = 64 * 1024
/** The most bytes one {@link readLogChunk} call returns. */
export const MAX_LOG_CHUNK = 4 * 1024 * 1024

/**
 * Reads up to `limit` bytes of `path` from byte `offset`, ending on a whole UTF-8 character, so that reading on from
 * `nextOffset` never splits one. A missing file reads as empty.
 */
export async function readLogChunk(
  path: string,
  offset: number,
  limit: number,
): Promise<{ readonly text: string; readonly nextOffset: number; readonly size: number }> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch {
    return { text: '', nextOffset: offset, size: 0 }
  }
  try {
    const { size } = await handle.stat()
    const length = Math.max(0, Math.min(limit, size - offset))
    if (length === 0) return { text: '', nextOffset: offset, size }
    const buffer = Buffer.alloc(length)
    const { bytesRead } = await handle.read(buffer, 0, length, offset)
    let end = bytesRead
    if (offset + end < size) {
      // Step back over a character cut in half: continuation bytes are 10xxxxxx.
      let start = end - 1
      while (start > 0 && start > end - 4 && ((buffer[start] ?? 0) & 0xc0) === 0x80) start--
      const lead = buffer[start] ?? 0
      const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1
      if (start + width > end) end = start
    }
    return { text: buffer.subarray(0, end).toString('utf8'), nextOffset: offset + end, size }
  } finally {
    await handle.close()
  }
}

/** The last `lines` non-empty lines of `path` (reading at most its last `maxBytes` bytes). */
export async function readLogTail(path: string, lines = 20, maxBytes = 16 * 1024): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch {
    return ''
  }
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, maxBytes)
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .slice(-lines)
      .join('\n')
  } finally {
    await handle.close()
  }
}
