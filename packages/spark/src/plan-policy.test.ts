import { defaultExecutionPolicy, type ExecutionPlan, ValidationError } from '@sparkle-studio/core'
import { describe, expect, it } from 'vitest'
import { isPolicyErrorClass } from './events.ts'
import { assertPlanConfAllowed, isRefusedPlanConf, planConfIssues, planForDriver } from './plan-policy.ts'
import { driverEnvironment } from './runner-launch.ts'
import { redactSecrets, referencedSecrets, secretsForPlan, splitSecretEnv } from './secrets.ts'

const policy = defaultExecutionPolicy({ readRoots: ['/srv/data', 's3a://bucket/raw/'], writeRoots: ['/srv/out'] })
const plan = (conf?: Record<string, string>): ExecutionPlan => ({
  pipeline: 'p',
  mode: 'run',
  ...(conf ? { conf } : {}),
  steps: [
    {
      nodeId: 'db',
      kind: 'read',
      view: '`db`',
      source: {
        format: 'jdbc',
        options: { url: { $secret: 'DB_URL' }, user: 'etl', password: { $secret: 'DB_PASS' } },
      },
    },
    {
      nodeId: 'out',
      kind: 'write',
      sql: 'SELECT * FROM `db`',
      target: { format: 'jdbc', mode: 'append', options: { url: { $secret: 'DB_URL' }, dbtable: 't' } },
    },
  ],
})

describe('Spark configuration a plan may set', () => {
  it('refuses what decides how the JVM starts or what code it loads, with or without a policy', () => {
    for (const key of [
      'spark.driver.extraJavaOptions',
      'spark.executor.extraJavaOptions',
      'spark.driver.defaultJavaOptions',
      'spark.driver.extraClassPath',
      'spark.executor.extraLibraryPath',
      'spark.jars',
      'spark.jars.packages',
      'spark.submit.deployMode',
      'spark.executorEnv.LD_PRELOAD',
      'spark.pyspark.python',
      'spark.python.daemon.module',
      'spark.plugins',
      'spark.extraListeners',
      'spark.sql.extensions',
      'spark.sql.catalog.evil',
      'spark.hadoop.fs.file.impl',
      'spark.serializer.class',
      'spark.shuffle.manager',
      'spark.kryo.registrator',
      'spark.driver.resource.gpu.discoveryScript',
      'spark.eventLog.dir',
      'spark.local.dir',
      'spark.sql.variable.substitute',
    ]) {
      expect(isRefusedPlanConf(key), key).toBe(true)
    }
    for (const key of Object.keys(policy.sparkConf)) expect(isRefusedPlanConf(key), key).toBe(false)
    expect(() =>
      assertPlanConfAllowed(plan({ 'spark.driver.extraJavaOptions': '-XX:OnOutOfMemoryError="touch /tmp/x"' })),
    ).toThrow(ValidationError)
    expect(planConfIssues(plan({ 'spark.sql.ansi.enabled': 'true', 'spark.custom.setting': 'x' }))).toEqual([])
  })

  it("applies the policy's allowlist and value rules, each key reported once", () => {
    const issues = planConfIssues(
      plan({
        'spark.sql.shuffle.partitions': '99999',
        'spark.custom.setting': 'x',
        'spark.driver.extraJavaOptions': '-Dx=1',
        'spark.sql.adaptive.enabled': 'true',
      }),
      policy,
    )
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ['/spark/conf/spark.driver.extraJavaOptions', 'conf_not_allowed'],
      ['/spark/conf/spark.sql.shuffle.partitions', 'conf_value_not_allowed'],
      ['/spark/conf/spark.custom.setting', 'conf_not_allowed'],
    ])
    expect(() => assertPlanConfAllowed(plan({ 'spark.sql.shuffle.partitions': '8' }), policy)).not.toThrow()
  })

  it("gives the driver the policy's roots, patterns and denied functions, over the plan's own", () => {
    const own = {
      ...plan(),
      policy: { readRoots: ['/'], writeRoots: ['/'], deniedFunctions: [], jdbcUrlPatterns: ['.*'] },
    }
    expect(planForDriver(own, policy).policy).toEqual({
      readRoots: ['/srv/data', 's3a://bucket/raw/'],
      writeRoots: ['/srv/out'],
      deniedFunctions: ['reflect', 'java_method', 'try_reflect'],
      jdbcUrlPatterns: [],
    })
    expect(planForDriver(own)).toBe(own)
  })

  it('tells refusals of the driver apart', () => {
    expect(isPolicyErrorClass('POLICY_PATH')).toBe(true)
    expect(isPolicyErrorClass('UNRESOLVED_COLUMN.WITH_SUGGESTION')).toBe(false)
    expect(isPolicyErrorClass(undefined)).toBe(false)
  })
})

describe('secrets for a driver', () => {
  it('hands over only the secrets a plan references, and takes SPARKLE_SECRET_<NAME> out of the environment', () => {
    expect(referencedSecrets(plan())).toEqual(['DB_PASS', 'DB_URL'])
    const { env, secrets } = splitSecretEnv({ SPARKLE_SECRET_DB_URL: 'jdbc:x', SPARKLE_SECRET_OTHER: 'o', TZ: 'UTC' })
    expect(env).toEqual({ TZ: 'UTC' })
    expect(secretsForPlan(plan(), secrets)).toEqual({ DB_URL: 'jdbc:x' })
  })

  it('redacts every value, longer ones first', () => {
    expect(redactSecrets('url jdbc:pg://u:pw@h, password pw', ['pw', 'jdbc:pg://u:pw@h', ''])).toBe(
      'url ***, password ***',
    )
  })

  it("picks the driver's variables out of a server's environment", () => {
    expect(
      driverEnvironment({
        PATH: '/usr/bin',
        HOME: '/home/s',
        LC_ALL: 'C.UTF-8',
        JAVA_HOME: '/jdk',
        PYSPARK_PYTHON: 'python3',
        SPARKLE_SECRET_X: 'x',
        SPARKLE_DATABASE_URL: 'postgres://u:p@h/db',
        GITHUB_TOKEN: 'ghp',
        JAVA_TOOL_OPTIONS: '-XX:OnOutOfMemoryError=x',
        SPARK_SUBMIT_OPTS: '-Dx',
        UNSET: undefined,
      }),
    ).toEqual({ PATH: '/usr/bin', HOME: '/home/s', LC_ALL: 'C.UTF-8', JAVA_HOME: '/jdk', PYSPARK_PYTHON: 'python3' })
  })
})
