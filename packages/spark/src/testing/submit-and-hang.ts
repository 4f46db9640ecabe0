// Run as a separate Node process by the re-attach test: submits one job, prints its id, then waits to be killed.
import { readFile } from 'node:fs/promises'
import type { ExecutionPlan } from '@sparkle-studio/core'
import { LocalSubmitter } from '../local-submitter.ts'
import { findSparkRuntime } from '../runtime.ts'

const [baseDir, planFile] = process.argv.slice(2)
if (!baseDir || !planFile) throw new Error('usage: submit-and-hang.ts BASE_DIR PLAN_FILE')
const submitter = new LocalSubmitter({ runtime: await findSparkRuntime(), baseDir })
const plan = JSON.parse(await readFile(planFile, 'utf8')) as ExecutionPlan
const { id } = await submitter.submit({ jobId: 'submitted-by-a-process-that-dies', plan })
process.stdout.write(`${JSON.stringify({ id })}\n`)
setInterval(() => {}, 60_000)
