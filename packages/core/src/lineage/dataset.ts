import type { OptionValue, ReadSource, WriteTarget } from '../plan.ts'

/** A dataset's identity under the OpenLineage naming spec. */
export interface DatasetId {
  readonly namespace: string
  readonly name: string
}

/** Known JDBC subprotocols: their OpenLineage scheme, default port, and whether names carry a schema. */
const JDBC_SCHEMES: Readonly<Record<string, { scheme: string; port?: number; schema?: string }>> = {
  postgresql: { scheme: 'postgres', port: 5432, schema: 'public' },
  mysql: { scheme: 'mysql', port: 3306 },
  mariadb: { scheme: 'mysql', port: 3306 },
  sqlserver: { scheme: 'sqlserver', port: 1433, schema: 'dbo' },
  redshift: { scheme: 'redshift', port: 5439, schema: 'public' },
  oracle: { scheme: 'oracle', port: 1521 },
  db2: { scheme: 'db2', port: 50000 },
  trino: { scheme: 'trino', port: 8080 },
}

const text = (v: OptionValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined)

/** Strips SQL quotes (`"x"`, `` `x` ``, `[x]`) from the parts of a dotted table name. */
function tableParts(table: string): string[] {
  return table.split('.').map((p) => p.trim().replace(/^["`[](.*)["`\]]$/, '$1'))
}

/**
 * A URL without the credentials it may carry: user info before `@` (`//user:pass@host`, Oracle's `user/pass@host`)
 * and `user`/`password` properties (`;password=...`, `?user=...&password=...`). Lineage events leave the server for a
 * third party's collector: no secret may ride along in a dataset name.
 */
export function withoutCredentials(url: string): string {
  return url
    .replace(/\/\/[^/@?;]*@/g, '//')
    .replace(/:[^:@/;?]*\/[^@;?]*@/g, ':@')
    .replace(/([?;&])(?:user|username|password|pwd|pass|passwd|accesskey|secretkey|token)=[^;&]*(?:[;&]|$)/gi, '$1')
    .replace(/[?;&]+$/, '')
}

/**
 * The OpenLineage dataset of a JDBC URL and table: namespace `<scheme>://host:port` (`postgres`, `mysql`,
 * `sqlserver`, ...; default ports filled in), name `database.schema.table` (the default schema filled in where the
 * database has one), or `database.table` for databases without schemas.
 */
export function jdbcDataset(jdbcUrl: string, table: string): DatasetId {
  const url = withoutCredentials(jdbcUrl)
  const m = /^jdbc:([a-z0-9]+):(?:\/\/([^/;?]*))?\/?([^;?]*)(.*)$/i.exec(url)
  if (m === null) return { namespace: url.replace(/^jdbc:/, ''), name: table }
  const sub = (m[1] as string).toLowerCase()
  const known = JDBC_SCHEMES[sub]
  const authority = (m[2] ?? '').replace(/^[^@]*@/, '')
  const host =
    known?.port !== undefined && authority !== '' && !/:\d+$/.test(authority) ? `${authority}:${known.port}` : authority
  let database = m[3] ?? ''
  const dbProperty = /[;?&]database(?:Name)?=([^;&]+)/i.exec(m[4] ?? '')
  if (database === '' && dbProperty?.[1] !== undefined) database = dbProperty[1]
  const parts = tableParts(table)
  const withSchema = known?.schema !== undefined && parts.length === 1 ? [known.schema, ...parts] : parts
  return {
    namespace: `${known?.scheme ?? sub}://${host}`,
    name: [database, ...withSchema].filter((p) => p !== '').join('.'),
  }
}

/**
 * The OpenLineage dataset of a path: `scheme://authority` and the rest for URLs (`s3://bucket` and the key, without a
 * leading slash, for object stores; `hdfs://host:port` and the absolute path), `file` and the path for local ones.
 */
export function pathDataset(path: string): DatasetId {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(withoutCredentials(path))
  if (m === null) return { namespace: 'file', name: path }
  const scheme = (m[1] as string).toLowerCase()
  const rest = m[3] ?? '/'
  if (scheme === 'file') return { namespace: 'file', name: rest }
  const objectStore = ['s3', 's3a', 's3n', 'gs', 'wasbs', 'abfss', 'abfs', 'wasb', 'oss'].includes(scheme)
  const namespaceScheme = scheme === 's3a' || scheme === 's3n' ? 's3' : scheme
  return { namespace: `${namespaceScheme}://${m[2]}`, name: objectStore ? rest.replace(/^\/+/, '') : rest }
}

/**
 * The OpenLineage dataset a plan's read source or write target names: files by path ({@link pathDataset}), JDBC
 * tables by URL and `dbtable` ({@link jdbcDataset}). `undefined` when it names no dataset: a JDBC `query` (its tables
 * are inside the query text) or a format without a path.
 */
export function datasetOf(source: ReadSource | WriteTarget): DatasetId | undefined {
  if (source.path !== undefined) return pathDataset(source.path)
  if (source.format !== 'jdbc') return undefined
  const url = text(source.options?.['url'])
  const table = text(source.options?.['dbtable'])
  return url === undefined || table === undefined ? undefined : jdbcDataset(url, table)
}
