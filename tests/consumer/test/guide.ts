// The code blocks of a guide, read from its markdown so that the tests run what the reader copies.
import { readFileSync } from 'node:fs'

/** The fenced code blocks of one language under a `## ` heading (up to the next `## ` heading), in order. */
export function codeBlocksUnder(markdownFile: string, heading: string, lang: string): string[] {
  const lines = readFileSync(markdownFile, 'utf8').split(/\r?\n/)
  const start = lines.findIndex((line) => line.trim() === heading)
  if (start < 0) throw new Error(`${markdownFile}: no heading "${heading}"`)
  const blocks: string[] = []
  let fence: { marker: string; lang: string; body: string[] } | undefined
  for (const line of lines.slice(start + 1)) {
    if (!fence) {
      if (/^##\s/.test(line)) break
      const open = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(line)
      if (open) fence = { marker: open[1] ?? '```', lang: open[2] ?? '', body: [] }
    } else if (line.trim().startsWith(fence.marker)) {
      if (fence.lang === lang) blocks.push(`${fence.body.join('\n')}\n`)
      fence = undefined
    } else {
      fence.body.push(line)
    }
  }
  if (fence) throw new Error(`${markdownFile}: unclosed code block under "${heading}"`)
  return blocks
}
