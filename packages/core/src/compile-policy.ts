// What the compiler refuses under an execution policy, on what it is about to put in a plan: SQL (denied functions,
// script transforms, files read by path), read and write locations, JDBC URLs and options.
import type { OptionValue, ReadSource, WriteTarget } from './plan.ts'
import { type ExecutionPolicy, isAllowedJdbcUrl, isInsideRoots, normalizeDataPath } from './policy.ts'
import { isHiddenToken, lexSparkSql, type SparkToken } from './sql-lexer.ts'

/** One thing a policy refuses: a stable code, a sentence with a fix, and the part of the step it is about. */
export interface PolicyFinding {
  /** `sql_denied_function`, `sql_dynamic_function_name`, `sql_script_transform`, `read_path_not_allowed`, ... */
  readonly code: string
  readonly message: string
  /** For sources and sinks: `path`, `options/<key>` or `url`. */
  readonly field?: string
  /** For `sql_denied_function`: the function called (lower case, without qualifier). */
  readonly function?: string
}

// Data sources Spark reads with `format.`path`` in SQL (spark.sql.runSQLOnFiles).
const FILE_FORMATS = new Set(['csv', 'json', 'parquet', 'orc', 'text', 'avro', 'binaryfile', 'xml', 'delta', 'libsvm'])

// Spark's JDBC data source options. Any other option is handed to the JDBC driver as a connection property, which can
// do what the URL patterns refuse (PostgreSQL's socketFactory or loggerFile, for example). keytab, principal,
// refreshKrb5Config and connectionProvider are left out: they read files and load code on the driver.
const JDBC_OPTIONS = new Set(
  [
    'url',
    'dbtable',
    'query',
    'prepareQuery',
    'driver',
    'user',
    'password',
    'partitionColumn',
    'lowerBound',
    'upperBound',
    'numPartitions',
    'queryTimeout',
    'fetchsize',
    'batchsize',
    'isolationLevel',
    'sessionInitStatement',
    'truncate',
    'cascadeTruncate',
    'createTableOptions',
    'createTableColumnTypes',
    'customSchema',
    'pushDownPredicate',
    'pushDownAggregate',
    'pushDownLimit',
    'pushDownOffset',
    'pushDownTableSample',
    'preferTimestampNTZ',
    'hint',
  ].map((o) => o.toLowerCase()),
)

function nameOf(token: SparkToken): string {
  return token.kind === 'quoted-identifier' ? token.text.slice(1, -1).replaceAll('``', '`') : token.text
}

/** The value of a string literal token, or undefined when it has escapes this check does not decode. */
function stringValue(token: SparkToken): string | undefined {
  if (/^[rR]/.test(token.text)) return token.text.slice(2, -1)
  const quote = token.text[0] as string
  const body = token.text.slice(1, -1)
  return body.includes('\\') ? undefined : body.replaceAll(quote + quote, quote)
}

/** The index of the `)` that closes the `(` at `open` among significant tokens, or -1. */
function closing(tokens: readonly SparkToken[], open: number): number {
  let depth = 0
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i] as SparkToken
    if (t.kind !== 'symbol') continue
    if (t.text === '(') depth++
    else if (t.text === ')' && --depth === 0) return i
  }
  return -1
}

/**
 * A path problem under the policy's roots, or undefined: not absolute, climbing above its root, outside the roots, or
 * a glob alternation with a `/` inside (Hadoop expands `{a/..,b}` into separate paths that normalization cannot see).
 */
export function pathProblem(path: string, roots: readonly string[], kind: 'read' | 'write'): string | undefined {
  for (let i = path.indexOf('{'); i !== -1; i = path.indexOf('{', i + 1)) {
    let depth = 0
    for (let j = i; j < path.length; j++) {
      if (path[j] === '{') depth++
      else if (path[j] === '}' && --depth === 0) break
      else if (path[j] === '/') {
        return `"${path}" has a glob alternation {…} with a "/" inside, which Hadoop expands into separate paths. Fix: use alternatives without "/", e.g. /data/{a,b}/x`
      }
    }
  }
  const normalized = normalizeDataPath(path)
  if (normalized === undefined) {
    return `"${path}" is not an absolute path (or URI) inside a root, or climbs above it with "..". Fix: give an absolute path inside the ${kind} roots: ${roots.join(', ') || '(none)'}`
  }
  if (!isInsideRoots(normalized, roots)) {
    return `"${normalized}" is outside the execution policy's ${kind} roots. Fix: ${kind} inside one of: ${roots.join(', ') || '(none: this deployment allows no ' + kind + 's)'}`
  }
  return undefined
}

/**
 * What an execution policy refuses in Spark SQL written by a user, read with Spark's lexer (so `JAVA_METHOD (…)`,
 * `java_method/*c*\/(…)`, `` `reflect`(…) `` and `system.builtin.reflect(…)` are calls, and `'reflect('` inside a
 * string is not): calls of denied functions; `IDENTIFIER(…)(…)` calls whose name is not a plain string literal;
 * script transforms (`TRANSFORM (…) USING 'command'`, which runs a program on the executors); files read by path
 * (`csv.`/some/path``) outside the read roots.
 */
export function checkSqlUnderPolicy(
  sql: string,
  policy: Pick<ExecutionPolicy, 'deniedFunctions' | 'readRoots'>,
): PolicyFinding[] {
  const lexed = lexSparkSql(sql)
  // Unreadable SQL is refused by the fragment checker; this check needs tokens.
  if (lexed.problem) return []
  const denied = new Set(policy.deniedFunctions.map((f) => f.toLowerCase()))
  const tokens = lexed.tokens.filter((t) => !isHiddenToken(t))
  const findings: PolicyFinding[] = []
  const deniedCall = (name: string): PolicyFinding => ({
    code: 'sql_denied_function',
    function: name,
    message: `calls ${name}(), which the execution policy denies (denied: ${[...denied].join(', ')}). Fix: remove the call; pipelines may not call these functions`,
  })
  const fileRead = (format: string, path: string) => {
    const problem = pathProblem(path, policy.readRoots, 'read')
    if (problem) {
      findings.push({
        code: 'read_path_not_allowed',
        message: `reads files by path (${format}.\`…\`): ${problem}`,
      })
    }
  }
  tokens.forEach((t, i) => {
    const next = tokens[i + 1]
    const isName = t.kind === 'word' || t.kind === 'quoted-identifier'
    if (isName && next?.kind === 'symbol' && next.text === '(') {
      const name = nameOf(t).toLowerCase()
      if (t.kind === 'word' && name === 'identifier') {
        const close = closing(tokens, i + 1)
        const inner = tokens.slice(i + 2, close === -1 ? tokens.length : close)
        const values = inner.map((x) => (x.kind === 'string' ? stringValue(x) : undefined))
        const literal = inner.length > 0 && values.every((v) => v !== undefined) ? values.join('') : undefined
        const called = tokens[close + 1]?.kind === 'symbol' && tokens[close + 1]?.text === '('
        if (literal === undefined) {
          if (called && denied.size > 0) {
            findings.push({
              code: 'sql_dynamic_function_name',
              message:
                'calls a function whose name is computed (IDENTIFIER(…) of something other than a string literal), so the execution policy cannot check it. Fix: call the function by its name',
            })
          }
        } else {
          const parts = literal.split('.').map((p) => p.trim().replaceAll('`', ''))
          const last = (parts[parts.length - 1] ?? '').toLowerCase()
          if (called && denied.has(last)) findings.push(deniedCall(last))
          if (!called && parts.length === 2 && literal.includes('`')) {
            const [format, path] = parts as [string, string]
            if (FILE_FORMATS.has(format.toLowerCase()) || path.includes('/')) fileRead(format, path)
          }
        }
      } else {
        const last = name.split('.').pop() ?? name
        if (denied.has(last)) findings.push(deniedCall(last))
      }
    }
    if (t.kind === 'word' && t.text.toUpperCase() === 'USING' && next?.kind === 'string') {
      findings.push({
        code: 'sql_script_transform',
        message:
          "runs a script transform (… USING 'command'), which starts a program on the executors; the execution policy refuses it. Fix: express the transformation in SQL",
      })
    }
    // format.`path`: exactly two parts, the second backquoted.
    const dot = tokens[i + 1]
    const second = tokens[i + 2]
    const before = tokens[i - 1]
    if (
      isName &&
      dot?.kind === 'symbol' &&
      dot.text === '.' &&
      second?.kind === 'quoted-identifier' &&
      !(before?.kind === 'symbol' && before.text === '.') &&
      !(tokens[i + 3]?.kind === 'symbol' && tokens[i + 3]?.text === '.')
    ) {
      const format = nameOf(t)
      const path = nameOf(second)
      if (FILE_FORMATS.has(format.toLowerCase()) || format.includes('.') || path.includes('/') || path.includes(':')) {
        fileRead(format, path)
      }
    }
  })
  return findings
}

function checkOptions(
  options: Readonly<Record<string, OptionValue>> | undefined,
  jdbc: boolean,
  policy: Pick<ExecutionPolicy, 'jdbcUrlPatterns'>,
): PolicyFinding[] {
  const findings: PolicyFinding[] = []
  for (const key of Object.keys(options ?? {})) {
    const k = key.toLowerCase()
    if (k === 'path' || k === 'paths') {
      findings.push({
        field: `options/${key}`,
        code: 'option_not_allowed',
        message: `the option "${key}" names files besides the checked path. Fix: remove it and use the path field`,
      })
    } else if (jdbc && (k === 'driver' || k === 'connectionprovider')) {
      // Spark loads the named class on the driver and the executors: any class on the classpath.
      findings.push({
        field: `options/${key}`,
        code: 'jdbc_option_not_allowed',
        message: `the JDBC option "${key}" makes Spark load a class by name, which the execution policy does not allow. Fix: remove it; Spark picks the driver from the URL`,
      })
    } else if (jdbc && !JDBC_OPTIONS.has(k)) {
      findings.push({
        field: `options/${key}`,
        code: 'jdbc_option_not_allowed',
        message: `the JDBC option "${key}" is not a Spark JDBC option, so it would reach the JDBC driver as a connection property, which the execution policy does not allow. Fix: remove it`,
      })
    }
  }
  if (jdbc) {
    const url = options?.['url']
    if (typeof url !== 'string' || !isAllowedJdbcUrl(url, policy.jdbcUrlPatterns)) {
      findings.push({
        field: 'url',
        code: 'jdbc_url_not_allowed',
        message: `the JDBC URL ${typeof url === 'string' ? 'does not match' : 'must be plain text to match'} the execution policy's jdbcUrlPatterns (${policy.jdbcUrlPatterns.length === 0 ? 'none: this deployment allows no JDBC' : policy.jdbcUrlPatterns.join(', ')}). Fix: connect to an allowed database`,
      })
    }
  }
  return findings
}

// `jdbc`, `org.apache.spark.sql.jdbc`, `org.apache.spark.sql.execution.datasources.jdbc.JdbcRelationProvider`, ...
const isJdbc = (format: string) => /jdbc/i.test(format)

/** Checks a read under the policy; the source comes back with its path normalized (what was checked is what runs). */
export function checkReadSource(
  source: ReadSource,
  policy: Pick<ExecutionPolicy, 'readRoots' | 'jdbcUrlPatterns'>,
): { readonly source: ReadSource; readonly findings: readonly PolicyFinding[] } {
  const findings = checkOptions(source.options, isJdbc(source.format), policy)
  if (source.path === undefined) return { source, findings }
  const problem = pathProblem(source.path, policy.readRoots, 'read')
  if (problem)
    return { source, findings: [{ field: 'path', code: 'read_path_not_allowed', message: problem }, ...findings] }
  return { source: { ...source, path: normalizeDataPath(source.path) as string }, findings }
}

/** Checks a write under the policy; the target comes back with its path normalized. */
export function checkWriteTarget(
  target: WriteTarget,
  policy: Pick<ExecutionPolicy, 'writeRoots' | 'jdbcUrlPatterns'>,
): { readonly target: WriteTarget; readonly findings: readonly PolicyFinding[] } {
  const findings = checkOptions(target.options, isJdbc(target.format), policy)
  if (target.path === undefined) return { target, findings }
  const problem = pathProblem(target.path, policy.writeRoots, 'write')
  if (problem) {
    return { target, findings: [{ field: 'path', code: 'write_path_not_allowed', message: problem }, ...findings] }
  }
  return { target: { ...target, path: normalizeDataPath(target.path) as string }, findings }
}
