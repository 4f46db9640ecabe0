// API keys for operators, on the deployment's database (configured like the server: DATABASE_URL, or the embedded
// database in SPARKLE_DATA_DIR, which only one process may open: stop the server first, or use POST /api/v1/keys).
//
//   node src/keys.ts create --role editor --name ci [--expires 2027-01-01]   prints the secret, once
//   node src/keys.ts list [--all]                                           never prints secrets
//   node src/keys.ts revoke <id>
import { parseArgs } from 'node:util'
import { loadServerConfig, openApiKeys } from '@sparkle-studio/server'

const ROLES = ['viewer', 'editor', 'admin'] as const

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: keys create --role viewer|editor|admin --name NAME [--expires DATE] | list [--all] | revoke ID\n`,
  )
  process.exit(2)
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    role: { type: 'string' },
    name: { type: 'string' },
    expires: { type: 'string' },
    all: { type: 'boolean' },
  },
})
const [command, id] = positionals
const config = loadServerConfig(process.env)
const { keys, close } = await openApiKeys({ dataDir: config.dataDir, databaseUrl: config.databaseUrl })
try {
  if (command === 'create') {
    const role = ROLES.find((r) => r === values.role)
    if (!role) usage('--role must be viewer, editor or admin')
    if (!values.name) usage('--name is required')
    const { key, secret } = await keys.create({
      name: values.name,
      role,
      createdBy: `operator:${process.env['USER'] ?? 'unknown'}`,
      ...(values.expires ? { expiresAt: values.expires } : {}),
    })
    process.stderr.write(`created key ${key.id} (${key.role}, ${key.prefix}…); the secret is shown once:\n`)
    process.stdout.write(`${secret}\n`)
  } else if (command === 'list') {
    for (const k of await keys.list({ includeRevoked: values.all })) {
      process.stdout.write(
        `${k.id}  ${k.role.padEnd(6)}  ${k.prefix}…  ${k.name}  created ${k.createdAt}${k.revokedAt ? `  revoked ${k.revokedAt}` : ''}\n`,
      )
    }
  } else if (command === 'revoke') {
    if (!id) usage('revoke needs the key id')
    const k = await keys.revoke(id)
    process.stdout.write(`revoked ${k.id} (${k.name}) at ${k.revokedAt}\n`)
  } else {
    usage(`unknown command ${command ?? '(none)'}`)
  }
} finally {
  await close()
}
