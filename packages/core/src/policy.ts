// What a plan may do: the execution policy an operator sets and every layer enforces (core when it compiles, spark
// when it submits, the runner on Spark's analyzed plan). Serializable: it travels inside the plan to the driver.
import type { ValidationIssue } from './validation-issue.ts'

/** How the value of one allowed Spark configuration key is checked. */
export type SparkConfRule =
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'bytes'; readonly max: string }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'pattern'; readonly pattern: string }

/**
 * What pipelines may do on this deployment. Editors author SQL that runs on the cluster; the policy keeps it off the
 * host, away from the server's secrets and inside the data the operator allows.
 */
export interface ExecutionPolicy {
  /** The Spark configuration keys a pipeline may set (`spark.conf` of its document), each with its value rule. */
  readonly sparkConf: Readonly<Record<string, SparkConfRule>>
  /**
   * Where reads may happen: absolute paths (`/srv/data`) or URI prefixes (`s3a://bucket/raw/`). A path is allowed
   * when, normalized (and, on the driver, with symbolic links resolved), it lies inside one of them.
   */
  readonly readRoots: readonly string[]
  /** Where writes may happen, in the same form as {@link ExecutionPolicy.readRoots}. */
  readonly writeRoots: readonly string[]
  /** JDBC URLs a pipeline may connect to: regular expressions matched against the whole URL. */
  readonly jdbcUrlPatterns: readonly string[]
  /** SQL functions no pipeline may call (lower case), such as reflection. */
  readonly deniedFunctions: readonly string[]
  /** A run's time limit when it asks for none, in milliseconds. */
  readonly defaultRunTimeMs: number
  /** The longest a run may take, in milliseconds. */
  readonly maxRunTimeMs: number
  /** The most partitions one backfill may create. */
  readonly maxBackfillPartitions: number
  /** The shortest interval between two runs of a schedule, in minutes. */
  readonly minScheduleIntervalMinutes: number
}

/**
 * Spark configuration keys that are safe for pipeline authors: query planning and sizes within limits. Nothing that
 * loads code, changes the JVM, the classpath, listeners, plugins, extensions or the file system.
 */
export const DEFAULT_SPARK_CONF_RULES: Readonly<Record<string, SparkConfRule>> = Object.freeze({
  'spark.sql.shuffle.partitions': { kind: 'int', min: 1, max: 2000 },
  'spark.default.parallelism': { kind: 'int', min: 1, max: 2000 },
  'spark.sql.adaptive.enabled': { kind: 'bool' },
  'spark.sql.adaptive.coalescePartitions.enabled': { kind: 'bool' },
  'spark.sql.adaptive.skewJoin.enabled': { kind: 'bool' },
  'spark.sql.autoBroadcastJoinThreshold': { kind: 'pattern', pattern: '^(-1|\\d{1,12}|\\d{1,6}[kmg]b?)$' },
  'spark.sql.session.timeZone': {
    kind: 'pattern',
    pattern: '^[A-Za-z_]+(/[A-Za-z_+-]+){0,2}$|^UTC$|^[+-]\\d{2}:\\d{2}$',
  },
  'spark.sql.ansi.enabled': { kind: 'bool' },
  'spark.sql.files.maxPartitionBytes': { kind: 'bytes', max: '1g' },
  'spark.sql.caseSensitive': { kind: 'bool' },
  'spark.sql.legacy.timeParserPolicy': { kind: 'enum', values: ['EXCEPTION', 'CORRECTED', 'LEGACY'] },
  'spark.sql.parquet.compression.codec': {
    kind: 'enum',
    values: ['none', 'uncompressed', 'snappy', 'gzip', 'lz4', 'zstd'],
  },
  'spark.executor.memory': { kind: 'bytes', max: '16g' },
  'spark.executor.cores': { kind: 'int', min: 1, max: 8 },
  'spark.executor.instances': { kind: 'int', min: 1, max: 50 },
  'spark.driver.memory': { kind: 'bytes', max: '8g' },
  'spark.driver.cores': { kind: 'int', min: 1, max: 8 },
  'spark.cores.max': { kind: 'int', min: 1, max: 200 },
})

/** SQL functions that reach the JVM (reflection) and are refused everywhere, in every spelling and case. */
export const REFLECTION_FUNCTIONS: readonly string[] = Object.freeze(['reflect', 'java_method', 'try_reflect'])

const BYTE_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** Bytes of a Spark size (`512m`, `2g`, `1048576`), or `undefined` when it is not one. */
export function parseSparkBytes(value: string): number | undefined {
  const m = /^(\d{1,15})([bkmgt])?b?$/i.exec(value.trim())
  if (!m?.[1]) return undefined
  return Number(m[1]) * (BYTE_UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1)
}

/**
 * The default policy for a deployment whose data lives under `dataDir`: reads from its `sample` and `output`
 * folders, writes to `output`, no JDBC, reflection denied, runs up to 6 hours (1 by default), backfills up to 1,000
 * partitions, schedules at most every 5 minutes.
 */
export function defaultExecutionPolicy(roots: {
  readonly readRoots: readonly string[]
  readonly writeRoots: readonly string[]
}): ExecutionPolicy {
  return Object.freeze({
    sparkConf: DEFAULT_SPARK_CONF_RULES,
    readRoots: Object.freeze([...roots.readRoots]),
    writeRoots: Object.freeze([...roots.writeRoots]),
    jdbcUrlPatterns: Object.freeze([]),
    deniedFunctions: REFLECTION_FUNCTIONS,
    defaultRunTimeMs: 3_600_000,
    maxRunTimeMs: 6 * 3_600_000,
    maxBackfillPartitions: 1_000,
    minScheduleIntervalMinutes: 5,
  })
}

/** The issues of a document's `spark.conf` under a policy (key not allowed, value out of range), at `/spark/conf`. */
export function checkSparkConf(
  conf: Readonly<Record<string, string>> | undefined,
  policy: Pick<ExecutionPolicy, 'sparkConf'>,
): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  for (const [key, value] of Object.entries(conf ?? {})) {
    const path = `/spark/conf/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
    const rule = Object.hasOwn(policy.sparkConf, key) ? policy.sparkConf[key] : undefined
    if (!rule) {
      issues.push({
        path,
        code: 'conf_not_allowed',
        message: `Spark configuration "${key}" is not allowed by the execution policy. Fix: remove it; allowed keys: ${Object.keys(policy.sparkConf).join(', ')}`,
      })
      continue
    }
    const problem = confValueProblem(rule, value)
    if (problem) {
      issues.push({
        path,
        code: 'conf_value_not_allowed',
        message: `Spark configuration "${key}" ${problem} under the execution policy. Fix: give such a value, or remove the key`,
      })
    }
  }
  return issues
}

function confValueProblem(rule: SparkConfRule, value: string): string | undefined {
  switch (rule.kind) {
    case 'int': {
      const n = Number(value)
      return Number.isInteger(n) && n >= rule.min && n <= rule.max
        ? undefined
        : `must be an integer from ${rule.min} to ${rule.max}`
    }
    case 'bytes': {
      const n = parseSparkBytes(value)
      const max = parseSparkBytes(rule.max) ?? 0
      return n !== undefined && n > 0 && n <= max ? undefined : `must be a size such as 512m, at most ${rule.max}`
    }
    case 'bool':
      return value === 'true' || value === 'false' ? undefined : 'must be true or false'
    case 'enum':
      return rule.values.includes(value) ? undefined : `must be one of ${rule.values.join(', ')}`
    case 'pattern':
      return new RegExp(rule.pattern).test(value) ? undefined : 'has a form that is not allowed'
  }
}

/**
 * A path as the policy compares it: `file:` URIs become paths, `.` and `..` segments are resolved, repeated slashes
 * collapse. Returns `undefined` for a path that climbs above its root (`/../x`) or is not absolute.
 */
export function normalizeDataPath(path: string): string | undefined {
  const uri = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(path)
  if (uri?.[1] && uri[1].toLowerCase() !== 'file') {
    const rest = normalizeSegments(uri[3] ?? '/')
    return rest === undefined ? undefined : `${uri[1].toLowerCase()}://${uri[2]}${rest}`
  }
  const local = path.replace(/^file:(\/\/)?/i, '')
  if (!local.startsWith('/')) return undefined
  return normalizeSegments(local)
}

function normalizeSegments(path: string): string | undefined {
  const out: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (out.length === 0) return undefined
      out.pop()
    } else out.push(segment)
  }
  return `/${out.join('/')}`
}

/** True when `path`, normalized, lies inside one of `roots` (a root itself included). Globs are checked by prefix. */
export function isInsideRoots(path: string, roots: readonly string[]): boolean {
  const normalized = normalizeDataPath(path)
  if (normalized === undefined) return false
  return roots.some((root) => {
    const r = normalizeDataPath(root)
    if (r === undefined) return false
    const base = r.endsWith('/') ? r : `${r}/`
    return normalized === r || normalized.startsWith(base)
  })
}

/** True when a JDBC URL matches one of the policy's patterns (whole-string regular expressions). */
export function isAllowedJdbcUrl(url: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => new RegExp(`^(?:${p})$`).test(url))
}
