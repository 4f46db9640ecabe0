// What a newcomer reads on GitHub and in a fresh clone: every guide has a test that runs it, the generated pipeline
// document reference is committed and current, and every relative link of the guides, the docs index, the references
// and the README names a file of the repository (and a heading of it, for #anchors), in plain markdown that GitHub and
// the docs site both render (no typedoc {@link} tags). The docs site's own links are checked by `pnpm run docs`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { outsiderEnv, run, WORKSPACE } from './consumer-project.ts'
import { GUIDES } from './guide.ts'

const REFERENCE = join(WORKSPACE, 'docs', 'reference')
const pages = [
  join(WORKSPACE, 'README.md'),
  join(WORKSPACE, 'docs', 'index.md'),
  ...readdirSync(GUIDES).map((f) => join(GUIDES, f)),
  ...readdirSync(REFERENCE).map((f) => join(REFERENCE, f)),
].filter((f) => f.endsWith('.md'))

/** GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^(```|~~~)[\s\S]*?^\1/gm, '')
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1] ?? '')))
}

/** The markdown links of a page outside code blocks and code spans: `[text](target)`. */
function linksOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/^(```|~~~)[\s\S]*?^\1/gm, '')
    .replace(/`[^`\n]*`/g, 'code')
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '')
}

describe('the docs as a newcomer reads them', () => {
  it('every guide has a test that runs its code', () => {
    const guides = readdirSync(GUIDES).filter((f) => f.endsWith('.md'))
    const tests = new Set(readdirSync(join(import.meta.dirname, 'guides')))
    // browser-client.md runs against the embedding guide's server, in its test file.
    const testOf = (guide: string) =>
      guide === 'browser-client.md' ? 'embedding.test.ts' : guide.replace(/\.md$/, '.test.ts')
    expect(guides.filter((g) => !tests.has(testOf(g)))).toEqual([])
    expect(readFileSync(join(import.meta.dirname, 'guides', 'embedding.test.ts'), 'utf8')).toContain(
      "new Guide('browser-client.md')",
    )
    console.log(`guides (${guides.length}): ${guides.join(', ')}`)
  })

  it('the pipeline document reference is committed and matches the schema of this SDK', async () => {
    const out = await run(process.execPath, [join(WORKSPACE, 'scripts', 'docs-pipeline-reference.mjs'), '--check'], {
      cwd: WORKSPACE,
      env: outsiderEnv(),
    })
    expect(out).toContain('is current')
  })

  it.each(pages.map((p) => [relative(WORKSPACE, p), p]))(
    '%s: links resolve in the repository, no typedoc tags',
    (_, page) => {
      expect(readFileSync(page, 'utf8')).not.toMatch(/\{@link/)
      const broken: string[] = []
      for (const link of linksOf(page)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue
        const [path = '', anchor] = link.split('#')
        const target = path === '' ? page : resolve(dirname(page), decodeURIComponent(path))
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(WORKSPACE, target)}`)
          continue
        }
        if (anchor && statSync(target).isFile() && target.endsWith('.md') && !anchorsOf(target).has(anchor)) {
          broken.push(`${link}: no heading #${anchor} in ${relative(WORKSPACE, target)}`)
        }
      }
      expect(broken).toEqual([])
    },
  )
})
