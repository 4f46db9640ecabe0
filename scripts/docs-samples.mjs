// Extracts the TypeScript samples of the docs guides so that `tsc` can check them against the built packages
// (the docs package's `typecheck` script runs this, then tsc over docs/.samples).
//
//   ```ts                 a complete sample: written to docs/.samples/<guide>-<line>.ts and type-checked
//   ```ts from=<path>     an excerpt of a repository file (path from the repository root): it must appear in that
//                         file line for line, and the file itself is type-checked by its own package
//   ```ts nocheck         not checked (use rarely, and say why in the text)
//
// A sample whose first line is `// <name>.ts` is a module other samples of its guide import as `./<name>.ts`: it is
// written as docs/.samples/<guide folder>/<name>.ts (one name per folder).
//
// Each sample file keeps the line numbers of its guide, so a tsc error at docs/.samples/guides/concepts-40.ts(44,7)
// is line 44 of docs/guides/concepts.md.
//
//   node scripts/docs-samples.mjs
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const docs = join(root, 'docs')
const outDir = join(docs, '.samples')
// Output and generated folders: nothing in them is a guide.
const skipped = new Set(['node_modules', 'site', 'api', '.samples'])
const TS = new Set(['ts', 'typescript'])

async function markdownFiles(dir) {
  const files = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (skipped.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await markdownFiles(path)))
    else if (entry.name.endsWith('.md')) files.push(path)
  }
  return files.sort()
}

/** The fenced code blocks of a markdown text: info string, the fence's line number (1-based) and the code. */
function codeBlocks(text) {
  const lines = text.split('\n')
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] ?? '')
    if (!open) continue
    const [, indent, fence, info] = open
    // A fence indented inside a list item indents its code as much: CommonMark strips that much from each line.
    const dedent = new RegExp(`^ {0,${indent.length}}`)
    const body = []
    let j = i + 1
    while (j < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j] ?? '')) {
      body.push((lines[j] ?? '').replace(dedent, ''))
      j++
    }
    if (j === lines.length) throw new Error(`line ${i + 1}: the code block never closes`)
    blocks.push({ info: info.trim(), line: i + 1, code: body.join('\n') })
    i = j
  }
  return blocks
}

const trimEnd = (lines) => lines.map((l) => l.trimEnd())

/** True when `excerpt`'s lines appear, in order and contiguous, in `source`. */
// An excerpt may be shown less indented than it stands in its file (code from inside a function, as formatters
// print a fenced block): the lines must follow each other in the file with one common extra indentation.
function isExcerpt(excerpt, source) {
  const want = trimEnd(excerpt.split('\n'))
  const have = trimEnd(source.split('\n'))
  const at = want.findIndex((line) => line.trim() !== '')
  if (at < 0) return true
  const indent = (line) => line.length - line.trimStart().length
  for (let start = 0; start + want.length <= have.length; start++) {
    const extra = indent(have[start + at]) - indent(want[at])
    if (extra < 0) continue
    const pad = ' '.repeat(extra)
    if (want.every((line, k) => have[start + k] === (line.trim() === '' ? line : pad + line))) return true
  }
  return false
}

await rm(outDir, { recursive: true, force: true })
await mkdir(outDir, { recursive: true })
const problems = []
let written = 0
let excerpts = 0
let unchecked = 0
const guides = new Set()
const named = new Map()
for (const file of await markdownFiles(docs)) {
  const name = relative(docs, file)
  let blocks
  try {
    blocks = codeBlocks(await readFile(file, 'utf8'))
  } catch (error) {
    problems.push(`docs/${name}: ${error.message}`)
    continue
  }
  for (const block of blocks) {
    const [lang, ...flags] = block.info.split(/\s+/)
    if (!TS.has(lang ?? '')) continue
    const where = `docs/${name}:${block.line}`
    const unknown = flags.filter((f) => f !== 'nocheck' && !f.startsWith('from='))
    if (unknown.length > 0) {
      problems.push(`${where}: unknown flag ${unknown.join(' ')} (use nocheck or from=<path>)`)
      continue
    }
    if (flags.includes('nocheck')) {
      unchecked++
      continue
    }
    const from = flags.find((f) => f.startsWith('from='))?.slice('from='.length)
    if (from !== undefined) {
      let source
      try {
        source = await readFile(join(root, from), 'utf8')
      } catch {
        problems.push(`${where}: ${from} does not exist`)
        continue
      }
      if (!isExcerpt(block.code, source)) {
        problems.push(`${where}: this excerpt is not in ${from} any more: copy the current code from the file`)
      }
      excerpts++
      continue
    }
    // Blank lines up to the fence keep the guide's line numbers; `export {}` makes every sample its own module.
    const header = `// ${where}`
    const padding = '\n'.repeat(block.line - 1)
    const own = /^\/\/ ([\w.-]+\.ts)\s*$/.exec(block.code.split('\n')[0] ?? '')?.[1]
    const target = own
      ? join(outDir, dirname(name), own)
      : join(outDir, `${name.replace(/\.md$/, '')}-${block.line}.ts`)
    if (own) {
      const other = named.get(target)
      if (other) {
        problems.push(`${where}: ${own} is also the name of the sample at ${other}`)
        continue
      }
      named.set(target, where)
    }
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, `${header}${padding}\n${block.code}\nexport {}\n`)
    written++
    guides.add(name)
  }
}
if (problems.length > 0) {
  console.error(`docs samples: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`)
  process.exit(1)
}
console.log(
  `docs samples: ${written} from ${guides.size} guides written to docs/.samples for tsc, ${excerpts} excerpts match their files, ${unchecked} not checked`,
)
