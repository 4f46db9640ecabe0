// Runs every benchmark in bench/src (each file exporting `run()`), prints the tables and writes docs/benchmarks.md.
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type BenchResult, machine, toMarkdown } from './lib.ts'

const here = import.meta.dirname
const only = process.argv.slice(2).filter((a) => a !== '--')
const files = (await readdir(here)).filter(
  (f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o))),
)
const results: BenchResult[] = []
for (const file of files.sort()) {
  const mod = (await import(join(here, file))) as { run: () => Promise<BenchResult> }
  console.error(`running ${file} ...`)
  const result = await mod.run()
  console.log(`${toMarkdown(result)}\n`)
  results.push(result)
}
const doc = [
  '---',
  'title: Benchmarks',
  'group: Reference',
  '---',
  '',
  '# Benchmarks',
  '',
  'Each figure is measured beside its anchor in the same run, on the same machine, and reported as a ratio.',
  'These machines are shared and noisy: read ratios, not absolute numbers.',
  '',
  `Machine: ${machine()}. Generated ${new Date().toISOString()}.`,
  '',
  'Reproduce: `./sparkle bench` (all) or `./sparkle bench <name>` (files whose name contains <name>).',
  '',
  ...results.map((r) => `${toMarkdown(r)}\n`),
].join('\n')
if (only.length === 0) await writeFile(join(here, '..', '..', 'docs', 'benchmarks.md'), doc)
