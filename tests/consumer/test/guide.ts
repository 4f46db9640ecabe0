// The code blocks of a guide, read from its markdown so that the tests run what the reader copies.
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { WORKSPACE } from './consumer-project.ts'

/** The folder of the guides. */
export const GUIDES = join(WORKSPACE, 'docs', 'guides')

/** One fenced code block of a guide. */
export interface CodeBlock {
  /** The `## ` heading it is under (`''` before the first one). */
  readonly heading: string
  /** Its language (the first word of the info string). */
  readonly lang: string
  /** The rest of the info string (`from=…`, `nocheck`). */
  readonly flags: readonly string[]
  /** The line of its opening fence, 1-based. */
  readonly line: number
  readonly code: string
}

/** Every fenced code block of a markdown file, in order, with the `## ` heading it is under. */
export function codeBlocks(markdownFile: string): CodeBlock[] {
  const lines = readFileSync(markdownFile, 'utf8').split(/\r?\n/)
  const blocks: CodeBlock[] = []
  let heading = ''
  let fence: { marker: string; indent: number; info: string[]; line: number; body: string[] } | undefined
  lines.forEach((line, i) => {
    if (!fence) {
      if (/^##\s/.test(line)) heading = line.trim()
      const open = /^( {0,3})(`{3,}|~{3,})\s*(.*)$/.exec(line)
      if (open) {
        const info = (open[3] ?? '').trim().split(/\s+/).filter(Boolean)
        fence = { marker: open[2] ?? '```', indent: open[1]?.length ?? 0, info, line: i + 1, body: [] }
      }
    } else if (line.trim() === fence.marker) {
      const [lang = '', ...flags] = fence.info
      blocks.push({ heading, lang, flags, line: fence.line, code: `${fence.body.join('\n')}\n` })
      fence = undefined
    } else {
      // A fence indented in a list item indents its code as much.
      fence.body.push(line.replace(new RegExp(`^ {0,${fence.indent}}`), ''))
    }
  })
  if (fence) throw new Error(`${markdownFile}:${fence.line}: unclosed code block`)
  return blocks
}

const TS = new Set(['ts', 'typescript'])

/** The package an import specifier names (`@scope/name`, `name`), or undefined for relative and `node:` imports. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || specifier.startsWith('/')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** The module specifiers a piece of TypeScript imports (static `import … from` and side-effect imports). */
export function importsOf(code: string): string[] {
  return [...code.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '')
}

/**
 * A guide as its test uses it: the TypeScript blocks it runs, the ones it does not run (each with the reason), and
 * the install commands a reader types.
 */
export class Guide {
  readonly file: string
  readonly name: string
  readonly blocks: readonly CodeBlock[]
  readonly #accounted = new Map<CodeBlock, string>()

  constructor(name: string) {
    this.name = name
    this.file = join(GUIDES, name)
    this.blocks = codeBlocks(this.file)
  }

  /** The TypeScript blocks (excerpts of repository files included). */
  get tsBlocks(): CodeBlock[] {
    return this.blocks.filter((b) => TS.has(b.lang))
  }

  /** The `index`-th TypeScript block under `heading`, excerpts of repository files (`from=`) not counted. */
  #find(heading: string, index: number): CodeBlock {
    const under = this.tsBlocks.filter((b) => b.heading === heading && !b.flags.some((f) => f.startsWith('from=')))
    const block = under[index]
    if (!block) {
      throw new Error(
        `${this.name}: no TypeScript block #${index} under "${heading}" (it has ${under.length}); headings with code: ` +
          [...new Set(this.tsBlocks.map((b) => b.heading))].join(' | '),
      )
    }
    return block
  }

  /** The `index`-th TypeScript block under `heading`, counted as run. */
  run(heading: string, index = 0): CodeBlock {
    const block = this.#find(heading, index)
    this.#accounted.set(block, 'run')
    return block
  }

  /** Counts the `index`-th TypeScript block under `heading` as not run, for `reason`. */
  notRun(heading: string, index: number, reason: string): void {
    this.#accounted.set(this.#find(heading, index), `not run: ${reason}`)
  }

  /** Counts every `from=` excerpt of a repository file as not run: its own package's tests run that file. */
  excerptsNotRun(): void {
    for (const b of this.tsBlocks.filter((b) => b.flags.some((f) => f.startsWith('from=')))) {
      const from = b.flags.find((f) => f.startsWith('from='))?.slice('from='.length)
      this.#accounted.set(b, `not run: an excerpt of ${from}, run by that package's own tests`)
    }
  }

  /** TypeScript blocks neither run nor given a reason. */
  unaccounted(): CodeBlock[] {
    return this.tsBlocks.filter((b) => !this.#accounted.has(b))
  }

  /** One line per TypeScript block: where it is and what the test did with it. */
  report(): string {
    const lines = this.tsBlocks.map(
      (b) => `  ${basename(this.file)}:${b.line} (${b.heading || 'top'}): ${this.#accounted.get(b) ?? 'UNACCOUNTED'}`,
    )
    const ran = [...this.#accounted.values()].filter((v) => v === 'run').length
    return `guide ${this.name}: ${ran} of ${this.tsBlocks.length} TypeScript blocks run\n${lines.join('\n')}`
  }

  /** The packages of every `npm install` command in the guide's shell blocks (version suffixes kept). */
  installed(): string[] {
    const names: string[] = []
    for (const b of this.blocks.filter((b) => b.lang === 'sh' || b.lang === 'bash')) {
      for (const m of b.code.matchAll(/^\s*npm install\s+([^\n#]+)/gm)) {
        names.push(
          ...(m[1] ?? '')
            .trim()
            .split(/\s+/)
            .filter((w) => !w.startsWith('-')),
        )
      }
    }
    return names
  }

  /** Packages the guide's runnable TypeScript blocks import (excerpts of repository files excluded). */
  importedPackages(): string[] {
    const runnable = this.tsBlocks.filter((b) => !b.flags.some((f) => f.startsWith('from=')))
    return [...new Set(runnable.flatMap((b) => importsOf(b.code).flatMap((s) => packageOf(s) ?? [])))].sort()
  }
}

/** Package name of an install argument (`zod@4.6.7` -> `zod`, `@scope/a@1` -> `@scope/a`). */
export function installName(arg: string): string {
  const at = arg.indexOf('@', 1)
  return at === -1 ? arg : arg.slice(0, at)
}

/**
 * Replaces each `declare const|let|function NAME…` line of a block (what the reader's own application provides) with
 * the test's definition of NAME; fails when the block declares something the test does not supply.
 */
export function supplyDeclared(code: string, supply: Readonly<Record<string, string>>): string {
  return code.replace(/^declare\s+(?:const|let|function)\s+(\w+)[^\n]*$/gm, (line, name: string) => {
    const definition = supply[name]
    if (definition === undefined) throw new Error(`the block declares ${name} (${line}) and the test supplies none`)
    return definition
  })
}
