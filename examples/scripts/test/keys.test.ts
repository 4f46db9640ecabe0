// The operators' keys script on both databases: create prints the secret once, list never shows it, revoke stops it.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openApiKeys } from '@sparkle-studio/server'
import { createTestDatabase, makeTempDir } from '@sparkle-studio/test-utils'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const script = join(import.meta.dirname, '..', 'src', 'keys.ts')

async function keys(env: Record<string, string>, ...args: string[]) {
  const { stdout } = await run(process.execPath, ['--conditions=@sparkle-studio/source', script, ...args], {
    env: { ...process.env, ...env },
  })
  return stdout
}

describe.each(['pglite', 'postgres'] as const)('the keys script on %s', (dialect) => {
  it('creates, lists and revokes keys', async () => {
    const dir = await makeTempDir('sparkle-keys-')
    const db = dialect === 'postgres' ? await createTestDatabase('sparkle_keys') : undefined
    const env = { SPARKLE_DATA_DIR: dir.path, ...(db ? { DATABASE_URL: db.url } : {}) }
    try {
      const secret = (await keys(env, 'create', '--role', 'editor', '--name', 'ci')).trim()
      expect(secret).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/)
      const listed = await keys(env, 'list')
      expect(listed).toContain(secret.slice(0, 16))
      expect(listed).not.toContain(secret)
      const id = listed.split(/\s+/)[0] ?? ''
      const opened = await openApiKeys({ dataDir: dir.path, databaseUrl: db?.url })
      try {
        expect(await opened.keys.verify(secret)).toMatchObject({ name: 'ci', role: 'editor', via: 'key' })
      } finally {
        await opened.close()
      }
      expect(await keys(env, 'revoke', id)).toContain(`revoked ${id}`)
      const reopened = await openApiKeys({ dataDir: dir.path, databaseUrl: db?.url })
      try {
        expect(await reopened.keys.verify(secret)).toBeNull()
      } finally {
        await reopened.close()
      }
      await expect(keys(env, 'create', '--role', 'owner', '--name', 'x')).rejects.toMatchObject({ code: 2 })
    } finally {
      await db?.drop()
      await dir.remove()
    }
  }, 120_000)
})
