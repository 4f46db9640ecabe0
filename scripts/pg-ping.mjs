// Exits 0 when the PostgreSQL server in argv[2] accepts a connection within 3 seconds.
import { createRequire } from 'node:module'

const require = createRequire(new URL('../tools/test-utils/package.json', import.meta.url))
const pg = require('pg')
const client = new pg.Client({ connectionString: process.argv[2], connectionTimeoutMillis: 3000 })
try {
  await client.connect()
  await client.query('select 1')
  await client.end()
} catch (error) {
  console.error(error.message)
  process.exit(1)
}
