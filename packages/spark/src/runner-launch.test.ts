import { describe, expect, it } from 'vitest'
import { isLocalMaster, isLoopbackMaster, runnerLaunch, standaloneMasterHosts } from './runner-launch.ts'
import { runnerScriptPath, type SparkRuntime } from './runtime.ts'

const runtime: SparkRuntime = {
  sparkHome: '/opt/spark',
  sparkSubmit: '/opt/spark/bin/spark-submit',
  sparkClass: '/opt/spark/bin/spark-class',
  sparkVersion: '4.3.0',
  scalaVersion: '2.13',
  java: 'java',
  javaVersion: '17.0.15',
  javaMajor: 17,
  python: '/usr/bin/python3',
  source: 'option',
  env: { SPARK_HOME: '/opt/spark', PYSPARK_PYTHON: '/usr/bin/python3' },
}
const inheritEnv = {
  PATH: '/usr/bin',
  PYSPARK_GATEWAY_PORT: '4242',
  PYSPARK_GATEWAY_SECRET: 's',
  SPARK_LOCAL_IP: '10.0.0.9',
  // What a server's environment holds besides: none of it reaches a driver.
  SPARKLE_SECRET_DBPASS: 'hunter2',
  SPARKLE_DATABASE_URL: 'postgres://u:p@db/sparkle',
  SPARKLE_ADMIN_KEY: 'sk-admin',
  GITHUB_TOKEN: 'ghp_x',
  AWS_SECRET_ACCESS_KEY: 'aws',
  JAVA_TOOL_OPTIONS: '-XX:OnOutOfMemoryError=touch /tmp/pwned',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  HOME: '/home/sparkle',
  TMPDIR: '/tmp',
}
const batch = { plan: '/jobs/j/plan.json', events: '/jobs/j/events.jsonl' }

describe('runnerLaunch', () => {
  it('builds a batch launch: spark-submit in client mode with the properties file, then the runner and its files', () => {
    const launch = runnerLaunch({
      runtime,
      master: 'local[2]',
      mode: 'batch',
      batch,
      propertiesFile: '/jobs/j/spark.properties',
      inheritEnv,
    })
    expect(launch.command).toBe(runtime.sparkSubmit)
    expect(launch.args).toEqual([
      '--master',
      'local[2]',
      '--deploy-mode',
      'client',
      '--properties-file',
      '/jobs/j/spark.properties',
      '--load-spark-defaults',
      runnerScriptPath(),
      '--plan',
      batch.plan,
      '--events',
      batch.events,
    ])
    expect(launch.conf).toEqual({
      'spark.ui.showConsoleProgress': 'false',
      'spark.driver.host': '127.0.0.1',
      'spark.driver.bindAddress': '127.0.0.1',
    })
    expect(launch.properties).toBe(
      'spark.ui.showConsoleProgress=false\nspark.driver.host=127.0.0.1\nspark.driver.bindAddress=127.0.0.1\n',
    )
    expect(launch.env).toEqual({
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      HOME: '/home/sparkle',
      TMPDIR: '/tmp',
      ...runtime.env,
      SPARK_LOCAL_IP: '127.0.0.1',
      PYTHONUNBUFFERED: '1',
    })
  })

  it('keeps configuration values and secrets off the command line, and lets the caller override the defaults', () => {
    const launch = runnerLaunch({
      runtime,
      master: 'local[*]',
      mode: 'batch',
      batch,
      propertiesFile: '/p',
      conf: { 'spark.jdbc.password': 'hunter2', 'spark.driver.host': '192.168.1.2' },
      env: { SPARKLE_SECRET_DB: 's3cret', SPARK_LOCAL_IP: '192.168.1.2' },
      inheritEnv: {},
    })
    expect(launch.args.join(' ')).not.toMatch(/hunter2|s3cret/)
    expect(launch.properties).toContain('spark.jdbc.password=hunter2\n')
    expect(launch.conf['spark.driver.host']).toBe('192.168.1.2')
    // Secrets reach a driver through its secrets file (or its connection), never its environment.
    expect(launch.env['SPARKLE_SECRET_DB']).toBeUndefined()
    expect(launch.env['SPARK_LOCAL_IP']).toBe('192.168.1.2')
  })

  it('starts a warm driver waiting for its plan, and leaves out --load-spark-defaults before Spark 4', () => {
    const launch = runnerLaunch({
      runtime: { ...runtime, sparkVersion: '3.5.1' },
      master: 'local[1]',
      mode: 'batch',
      batch: { ...batch, waitForPlan: { ms: 90_000, confFile: '/jobs/w/conf.json' } },
      propertiesFile: '/p',
      inheritEnv: {},
    })
    expect(launch.args).not.toContain('--load-spark-defaults')
    expect(launch.args.slice(-4)).toEqual(['--conf-file', '/jobs/w/conf.json', '--wait-for-plan', '90'])
  })

  it('passes the secrets file of a batch run by its path only', () => {
    const launch = runnerLaunch({
      runtime,
      master: 'local[1]',
      mode: 'batch',
      batch: { ...batch, secretsFile: '/jobs/j/secrets.json' },
      propertiesFile: '/p',
      inheritEnv,
    })
    expect(launch.args.slice(-2)).toEqual(['--secrets-file', '/jobs/j/secrets.json'])
  })

  it('builds the serve launch: latency defaults, the token in a file, never in the environment', () => {
    const launch = runnerLaunch({
      runtime,
      master: 'local[2]',
      mode: 'serve',
      serve: { address: '127.0.0.1:5000', tokenFile: '/w/token-1', concurrency: 2, warmUp: false },
      propertiesFile: '/p',
      conf: { 'spark.sql.shuffle.partitions': '4' },
      inheritEnv,
    })
    expect(launch.args.slice(7)).toEqual([
      runnerScriptPath(),
      '--serve',
      '127.0.0.1:5000',
      '--concurrency',
      '2',
      '--token-file',
      '/w/token-1',
      '--no-warm-up',
    ])
    expect(Object.keys(launch.env).filter((k) => k.startsWith('SPARKLE_'))).toEqual([])
    expect(launch.conf).toMatchObject({
      'spark.app.name': 'sparkle:preview',
      'spark.ui.enabled': 'false',
      'spark.driver.bindAddress': '127.0.0.1',
      'spark.sql.shuffle.partitions': '4',
      'spark.sql.adaptive.enabled': 'false',
    })
    expect(launch.env['PYSPARK_GATEWAY_PORT']).toBeUndefined()
  })

  it('binds to the loopback interface for a standalone master on it, and leaves a remote cluster to Spark', () => {
    const onLoopback = runnerLaunch({
      runtime,
      master: 'spark://127.0.0.1:7077',
      mode: 'batch',
      batch,
      propertiesFile: '/p',
      inheritEnv: {},
    })
    expect(onLoopback.conf['spark.driver.bindAddress']).toBe('127.0.0.1')
    expect(onLoopback.env['SPARK_LOCAL_IP']).toBe('127.0.0.1')
    const remote = runnerLaunch({
      runtime,
      master: 'spark://10.0.0.5:7077',
      mode: 'batch',
      batch,
      propertiesFile: '/p',
      inheritEnv,
    })
    expect(remote.conf).toEqual({ 'spark.ui.showConsoleProgress': 'false' })
    // What the caller's environment says stays.
    expect(remote.env['SPARK_LOCAL_IP']).toBe('10.0.0.9')
  })
})

describe('masters', () => {
  it('tells local, loopback and remote masters apart', () => {
    expect(['local', 'local[2]', 'local[*]', ' local[4] '].map(isLocalMaster)).toEqual([true, true, true, true])
    expect(['localhost', 'local-cluster[2,1,1024]', 'spark://h:7077'].map(isLocalMaster)).toEqual([false, false, false])
    expect(isLoopbackMaster('spark://localhost:7077,127.0.0.1:7078')).toBe(true)
    expect(isLoopbackMaster('spark://127.0.0.1:7077,10.0.0.5:7077')).toBe(false)
    expect(isLoopbackMaster('yarn')).toBe(false)
    expect(standaloneMasterHosts('spark://h1:7077,h2:7077')).toEqual(['h1', 'h2'])
    expect(standaloneMasterHosts('spark://:7077')).toBeUndefined()
    expect(standaloneMasterHosts('local[2]')).toBeUndefined()
  })
})
