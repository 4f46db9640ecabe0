import { describe, expect, it } from 'vitest'
import { checkSparkConf, defaultExecutionPolicy, isAllowedJdbcUrl, isInsideRoots, normalizeDataPath } from './policy.ts'

const policy = defaultExecutionPolicy({
  readRoots: ['/srv/data/sample', '/srv/data/output'],
  writeRoots: ['/srv/data/output'],
})

describe('execution policy', () => {
  it('allows planning settings within limits and refuses everything that loads code or changes the JVM', () => {
    expect(checkSparkConf({ 'spark.sql.shuffle.partitions': '8', 'spark.executor.memory': '2g' }, policy)).toEqual([])
    const refused = checkSparkConf(
      {
        'spark.driver.extraJavaOptions': '-XX:OnOutOfMemoryError="touch /tmp/x"',
        'spark.jars.packages': 'evil:evil:1',
        'spark.sql.extensions': 'x.Y',
        'spark.plugins': 'x.Y',
        'spark.extraListeners': 'x.Y',
        'spark.driver.extraClassPath': '/tmp',
        'spark.sql.shuffle.partitions': '100000',
        'spark.executor.memory': '1t',
        'spark.sql.adaptive.enabled': 'yes',
      },
      policy,
    )
    expect(refused.map((i) => i.code)).toEqual([
      'conf_not_allowed',
      'conf_not_allowed',
      'conf_not_allowed',
      'conf_not_allowed',
      'conf_not_allowed',
      'conf_not_allowed',
      'conf_value_not_allowed',
      'conf_value_not_allowed',
      'conf_value_not_allowed',
    ])
    expect(checkSparkConf({ constructor: 'x', __proto__: 'y' } as Record<string, string>, policy)).toHaveLength(1)
  })

  it('keeps paths inside their roots, whatever the dots, slashes and schemes', () => {
    expect(isInsideRoots('/srv/data/sample/orders.csv', policy.readRoots)).toBe(true)
    expect(isInsideRoots('file:///srv/data/output/x/', policy.readRoots)).toBe(true)
    expect(isInsideRoots('/srv/data/sample', policy.readRoots)).toBe(true)
    for (const path of [
      '/etc/passwd',
      '/srv/data/sample/../../repo.git/config',
      '/srv/data/sample2/x',
      'sample/orders.csv',
      '../x',
      '/../srv/data/sample',
      'hdfs://nn/srv/data/sample/x',
    ]) {
      expect(isInsideRoots(path, policy.readRoots), path).toBe(false)
    }
    expect(normalizeDataPath('/a//b/./c/../d')).toBe('/a/b/d')
    expect(normalizeDataPath('S3A://bucket/raw/../x')).toBe('s3a://bucket/x')
    expect(isInsideRoots('s3a://bucket/raw/2026/x.csv', ['s3a://bucket/raw/'])).toBe(true)
    expect(isInsideRoots('s3a://bucket/rawer/x.csv', ['s3a://bucket/raw'])).toBe(false)
  })

  it('matches JDBC URLs against whole patterns', () => {
    const patterns = ['jdbc:postgresql://db\\.internal:5432/[a-z_]+']
    expect(isAllowedJdbcUrl('jdbc:postgresql://db.internal:5432/sales', patterns)).toBe(true)
    expect(isAllowedJdbcUrl('jdbc:postgresql://db.internal:5432/sales?socketFactory=x', patterns)).toBe(false)
    expect(isAllowedJdbcUrl('jdbc:postgresql://evil/db.internal:5432/sales', patterns)).toBe(false)
    expect(isAllowedJdbcUrl('jdbc:postgresql://db.internal:5432/sales', policy.jdbcUrlPatterns)).toBe(false)
  })
})
