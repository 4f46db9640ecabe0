// docs/guides/spark-standalone.md, as a reader runs it with the packed packages installed by npm and pyspark from an
// active virtualenv: a master and a worker started from that pyspark, the guide's pipeline run on them; a submitter
// configured for a real cluster (constructed, not connected: the test has no such cluster); and the follow-a-job
// loop over a job of a local submitter, which the guide says works with any submitter.
import { describe, expect, it } from 'vitest'
import { runNode, sparkEnv } from '../consumer-project.ts'
import { Guide } from '../guide.ts'
import { guideDir, itAccountsForEveryBlock, itInstallsWhatItImports, writeBlock } from './lib.ts'

const guide = new Guide('spark-standalone.md')

describe('guide: running on a Spark standalone cluster', () => {
  itInstallsWhatItImports(guide)

  it('starts a master and a worker on this machine and runs the pipeline on them', async () => {
    const file = await writeBlock(guide, guide.run('## Try it on one machine'), 'try-it.ts')
    const { stdout, stderr } = await runNode(file, { cwd: await guideDir(guide), env: sparkEnv('virtualenv') })
    const output = `${stdout}\n${stderr}`
    expect(stdout, output).toMatch(/^master spark:\/\/127\.0\.0\.1:\d+, its UI at http:\/\/127\.0\.0\.1:\d+/m)
    expect(stdout, output).toMatch(/^by_country \[/m)
    expect(stdout).toContain("country: 'FR'")
    expect(stdout, output).toMatch(/^succeeded app-\S+ $/m)
  })

  it('configures a submitter for a cluster with a standby master', async () => {
    const file = await writeBlock(guide, guide.run('## Connect to a real cluster'), 'real-cluster.ts')
    const cwd = await guideDir(guide)
    const { stdout } = await runNode(file, { cwd, env: sparkEnv('virtualenv', { SPARKLE_JOBS_DIR: `${cwd}/jobs` }) })
    expect(stdout.trim()).toBe('standalone spark://spark-master-1:7077,spark-master-2:7077')
  })

  it('follows a job by its id: status, then the log until it is complete', async () => {
    const cwd = await guideDir(guide)
    const file = await writeBlock(guide, guide.run('## Following a job'), 'follow.ts', {
      submitter: [
        "const { findSparkRuntime, LocalSubmitter } = await import('@sparkle-studio/spark')",
        `const submitter: Submitter = new LocalSubmitter({ runtime: await findSparkRuntime(), threads: 1, baseDir: '${cwd}/jobs' })`,
      ].join('\n'),
      id: [
        'const { id } = await submitter.submit({',
        `  jobId: 'follow-${Date.now()}',`,
        "  plan: { pipeline: 'hello', mode: 'run', steps: [{ nodeId: 'q', kind: 'query', sql: 'SELECT 1 AS one', limit: 10 }] },",
        '})',
      ].join('\n'),
    })
    const { stdout } = await runNode(file, { cwd, env: sparkEnv('virtualenv') })
    expect(stdout).toMatch(/^[a-z]+ /)
    // The log of the whole job, read by offset until complete: spark-submit's output, to the end of the application.
    expect(stdout).toContain('SparkContext')
    expect(stdout).toMatch(/Successfully stopped SparkContext|SparkContext.*stop/)
  })

  itAccountsForEveryBlock(guide)
})
