// The attacks the driver's plan checks must refuse, shared by the preview and the batch tests. Not exported from the
// package.
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  defaultExecutionPolicy,
  type ExecutionPlan,
  type ExecutionPolicy,
  type PlanStep,
  REFLECTION_FUNCTIONS,
} from '@sparkle-studio/core'
import { expect } from 'vitest'
import type { PolicyErrorClass } from '../src/events.ts'
import { groupMembers } from '../src/process.ts'

/** The files an attack goes after, and the roots it must stay inside. */
export interface Targets {
  /** The read root with the pipeline's data. */
  readonly data: string
  /** The write root (also readable). */
  readonly out: string
  /** A folder outside the roots whose file a sink must not wipe. */
  readonly victim: string
  /** A file a shell command would create. */
  readonly touched: string
  /** A repository's config, outside the roots. */
  readonly repoConfig: string
  /** A database file, outside the roots. */
  readonly dbFile: string
  /** A symbolic link inside the read root to a file outside it. */
  readonly link: string
  /** A file outside the roots, reached through `..`. */
  readonly climbing: string
  /** A Derby database folder a JDBC URL outside the policy would create. */
  readonly derbyDir: string
}

/** One attack: the steps of its node `attack` and the refusal it must get. */
export interface Attack {
  readonly name: string
  readonly steps: (t: Targets) => PlanStep[]
  readonly errorClass: PolicyErrorClass
  readonly rule: string
  /** Also tried as a batch run (each run costs a driver start). */
  readonly batch?: boolean
  /** What must not have happened. */
  readonly nothingHappened?: (t: Targets) => Promise<void>
}

const query = (sql: string): PlanStep => ({ nodeId: 'attack', kind: 'query', sql, limit: 10 })
const read = (source: Extract<PlanStep, { kind: 'read' }>['source']): PlanStep => ({
  nodeId: 'attack',
  kind: 'read',
  view: '`attack`',
  source,
})

const victimIntact = async (t: Targets) => {
  expect(await readFile(join(t.victim, 'keep.txt'), 'utf8')).toBe('precious\n')
  expect(await readdir(t.victim)).toEqual(['keep.txt'])
}

/** Every attack, in the order they are tried. */
export const ATTACKS: readonly Attack[] = [
  {
    name: 'java_method reads a secret from the environment',
    steps: () => [query("SELECT java_method('java.lang.System', 'getenv', 'SPARKLE_SECRET_DBPASS') AS v")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
    batch: true,
  },
  {
    name: "reflect reads the preview session's token",
    steps: () => [query("SELECT reflect('java.lang.System', 'getenv', 'SPARKLE_PREVIEW_TOKEN') AS v")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
    batch: true,
  },
  {
    name: 'raise_error puts a secret into the error',
    steps: () => [query("SELECT raise_error(java_method('java.lang.System', 'getenv', 'SPARKLE_SECRET_DBPASS'))")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
    batch: true,
  },
  {
    name: 'try_reflect in mixed case, in a subquery',
    steps: () => [
      query("SELECT * FROM range(1) WHERE EXISTS (SELECT TrY_rEfLeCt('java.lang.System', 'getProperty', 'user.home'))"),
    ],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
  },
  {
    name: 'a computed function name (IDENTIFIER)',
    steps: () => [query("SELECT IDENTIFIER('java_' || 'method')('java.lang.System', 'getenv', 'HOME') AS v")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
  },
  {
    name: 'reflection inside a lambda, under a qualified name',
    steps: () => [
      query("SELECT transform(array(1), x -> system.builtin.java_method('java.lang.System', 'lineSeparator'))"),
    ],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
  },
  {
    name: 'System.setProperty (would persist to the next request)',
    steps: () => [query("SELECT java_method('java.lang.System', 'setProperty', 'sparkle.pwned', 'yes') AS v")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
  },
  {
    name: 'System.exit (would kill the shared driver)',
    steps: () => [query("SELECT java_method('java.lang.System', 'exit', 3) AS v")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
  },
  {
    name: "Thread.sleep (would block everyone's previews)",
    steps: () => [query("SELECT java_method('java.lang.Thread', 'sleep', 120000L) AS v FROM range(0, 8, 1, 8)")],
    errorClass: 'POLICY_REFLECTION',
    rule: 'reflection',
  },
  {
    name: 'text.`/etc/passwd` in SQL',
    steps: () => [query('SELECT * FROM text.`/etc/passwd`')],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
    batch: true,
  },
  {
    name: 'a csv ingestor on /etc/passwd',
    steps: () => [read({ format: 'csv', path: '/etc/passwd', options: { sep: ':' } })],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
    batch: true,
  },
  {
    name: "the repository's config",
    steps: (t) => [read({ format: 'text', path: t.repoConfig })],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
    batch: true,
  },
  {
    name: 'the database files, in SQL',
    steps: (t) => [query(`SELECT * FROM binaryFile.\`${t.dbFile}\``)],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
    batch: true,
  },
  {
    name: 'a symbolic link inside the read root',
    steps: (t) => [read({ format: 'text', path: t.link })],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
  },
  {
    name: 'a path option instead of the path',
    steps: () => [read({ format: 'text', options: { PATH: '/etc/passwd' } })],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
  },
  {
    name: 'a path that climbs out with ..',
    steps: (t) => [read({ format: 'text', path: t.climbing })],
    errorClass: 'POLICY_PATH',
    rule: 'read-roots',
  },
  {
    name: 'a sink in overwrite mode on a folder outside the write roots',
    steps: (t) => [
      {
        nodeId: 'attack',
        kind: 'write',
        sql: 'SELECT 1 AS one',
        target: { format: 'csv', mode: 'overwrite', path: t.victim },
      },
    ],
    errorClass: 'POLICY_PATH',
    rule: 'write-roots',
    batch: true,
    nothingHappened: victimIntact,
  },
  {
    name: 'TRANSFORM runs a shell command',
    steps: (t) => [query(`SELECT TRANSFORM(id) USING 'touch ${t.touched}' AS (x) FROM range(1)`)],
    errorClass: 'POLICY_SCRIPT_TRANSFORM',
    rule: 'script-transformation',
    batch: true,
    nothingHappened: async (t) => expect(existsSync(t.touched)).toBe(false),
  },
  {
    name: 'SET changes the session',
    steps: () => [query('SET spark.sql.ansi.enabled=false')],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
    batch: true,
  },
  {
    name: 'ADD JAR',
    steps: () => [query('ADD JAR /tmp/sparkle-evil.jar')],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
  },
  {
    name: 'CREATE FUNCTION',
    steps: () => [query("CREATE TEMPORARY FUNCTION evil AS 'org.example.Evil'")],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
  },
  {
    name: 'a temporary view over a file (DDL)',
    steps: () => [query("CREATE TEMPORARY VIEW passwd USING text OPTIONS (path '/etc/passwd')")],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
  },
  {
    name: 'INSERT OVERWRITE DIRECTORY outside the roots',
    steps: (t) => [query(`INSERT OVERWRITE DIRECTORY '${t.victim}' USING csv SELECT 1 AS one`)],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
    nothingHappened: victimIntact,
  },
  {
    name: 'EXECUTE IMMEDIATE',
    steps: () => [query("EXECUTE IMMEDIATE 'SET spark.sql.ansi.enabled=false'")],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
  },
  {
    name: 'an action step that is not a cache',
    steps: () => [{ nodeId: 'attack', kind: 'action', sql: 'ADD JAR /tmp/sparkle-evil.jar' }],
    errorClass: 'POLICY_COMMAND',
    rule: 'command',
  },
  {
    name: 'a function the policy denies',
    steps: () => [query("SELECT SHA2('x', 256) AS h")],
    errorClass: 'POLICY_FUNCTION',
    rule: 'denied-function',
  },
  {
    name: 'a JDBC URL the policy does not allow',
    steps: (t) => [
      read({ format: 'jdbc', options: { url: `jdbc:derby:${t.derbyDir};create=true`, dbtable: 'SYS.SYSTABLES' } }),
    ],
    errorClass: 'POLICY_JDBC',
    rule: 'jdbc-url',
    batch: true,
    nothingHappened: async (t) => expect(existsSync(t.derbyDir)).toBe(false),
  },
]

/** A plan of one attack, with a harmless node before it (that one runs; nothing of the attack does). */
export function attackPlan(attack: Attack, t: Targets, mode: ExecutionPlan['mode']): ExecutionPlan {
  return {
    pipeline: 'attack',
    mode,
    steps: [{ nodeId: 'before', kind: 'query', sql: 'SELECT 1 AS one', limit: 1 }, ...attack.steps(t)],
  }
}

/** The derby URLs a test may connect to (in-memory databases named sparkle_<letters>). */
export const JDBC_PATTERN = 'jdbc:derby:memory:sparkle_[a-z]+(;create=true)?'

/** Creates the targets under `root` and returns them with the policy the tests run under. */
export async function makeTargets(root: string): Promise<{ targets: Targets; policy: ExecutionPolicy }> {
  const data = join(root, 'data')
  const out = join(root, 'out')
  const outside = join(root, 'outside')
  const victim = join(outside, 'victim')
  await mkdir(data, { recursive: true })
  await mkdir(out, { recursive: true })
  await mkdir(victim, { recursive: true })
  await mkdir(join(outside, 'repo', '.git'), { recursive: true })
  await writeFile(join(victim, 'keep.txt'), 'precious\n')
  const repoConfig = join(outside, 'repo', '.git', 'config')
  await writeFile(repoConfig, '[remote "origin"]\n\turl = https://user:token@example.invalid/repo.git\n')
  const dbFile = join(outside, 'sparkle.db')
  await writeFile(dbFile, 'SQLite format 3\0')
  const secret = join(outside, 'secret.txt')
  await writeFile(secret, 'not for pipelines\n')
  const link = join(data, 'innocent.txt')
  await symlink(secret, link)
  await writeFile(join(data, 'rows.csv'), 'id,name\n1,ada\n2,grace\n')
  const targets: Targets = {
    data,
    out,
    victim,
    touched: join(outside, 'touched-by-a-script'),
    repoConfig,
    dbFile,
    link,
    climbing: `${data}/../outside/secret.txt`,
    derbyDir: join(outside, 'derby-db'),
  }
  const policy: ExecutionPolicy = {
    ...defaultExecutionPolicy({ readRoots: [data, out], writeRoots: [out] }),
    jdbcUrlPatterns: [JDBC_PATTERN],
    deniedFunctions: [...REFLECTION_FUNCTIONS, 'sha2'],
  }
  return { targets, policy }
}

/** The environment variables of every process of group `pgid` (the driver JVM and its Python runner), by pid. */
export async function groupEnvironments(pgid: number): Promise<Map<number, Record<string, string>>> {
  const envs = new Map<number, Record<string, string>>()
  for (const pid of await groupMembers(pgid)) {
    const env = await processEnvironment(pid)
    if (env) envs.set(pid, env)
  }
  return envs
}

/** The environment of a process (`/proc/<pid>/environ`), or undefined when it is gone. */
export async function processEnvironment(pid: number): Promise<Record<string, string> | undefined> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => undefined)
  if (raw === undefined) return undefined
  const env: Record<string, string> = {}
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=')
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return env
}

/** The command line of a process (`/proc/<pid>/cmdline`), or '' when it is gone. */
export async function processCommandLine(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ')
}

/** What a server's environment holds that no driver may see: set while a test file runs. */
export const SERVER_ENV: Readonly<Record<string, string>> = Object.freeze({
  SPARKLE_SECRET_DBPASS: 'db-pass-7f3a9c',
  SPARKLE_DATABASE_URL: 'postgres://sparkle:pw-1b2c@db.internal/sparkle',
  SPARKLE_ADMIN_KEY: 'sk_admin_0d9e8f',
  SPARKLE_GITHUB_TOKEN: 'ghp_provider_token_55aa',
})

/** Sets {@link SERVER_ENV} in this process's environment; returns the function that restores it. */
export function setServerEnv(): () => void {
  const before = new Map(Object.keys(SERVER_ENV).map((k) => [k, process.env[k]]))
  Object.assign(process.env, SERVER_ENV)
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

/** Checks that an environment holds none of the server's variables, no secret and no `SPARKLE_*` at all. */
export function expectMinimalEnvironment(env: Record<string, string>, secrets: readonly string[]): void {
  expect(Object.keys(env).filter((k) => k.startsWith('SPARKLE_'))).toEqual([])
  const values = Object.values(env).join('\n')
  for (const value of [...Object.values(SERVER_ENV), ...secrets]) expect(values).not.toContain(value)
}
