// The first admin key: created on the first start when no key works, printed once, kept in a mode-0600 file.
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../logger.ts'
import type { ApiKeys } from './keys.ts'

/** The file the first admin key is written to, in the data folder. */
export const ADMIN_KEY_FILE = 'admin-key'

/** Creates an admin key, writes it to `<dataDir>/admin-key` (0600) and prints it once to stderr. */
export async function bootstrapAdminKey(keys: ApiKeys, dataDir: string, log: Logger): Promise<string> {
  const { key, secret } = await keys.create({ name: 'first admin key', role: 'admin', createdBy: 'bootstrap' })
  const file = join(dataDir, ADMIN_KEY_FILE)
  await writeFile(file, `${secret}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
  log.warn('created the first admin API key', { keyId: key.id, prefix: key.prefix, file })
  process.stderr.write(
    `\n[sparkle] No API key existed, so an admin key was created (shown once; also in ${file}, mode 0600):\n  ${secret}\n  Send it as "Authorization: Bearer <key>"; create keys for people and services with POST /api/v1/keys, then revoke this one.\n\n`,
  )
  return secret
}
