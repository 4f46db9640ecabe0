// Checks every local link of the built documentation site: each relative href or src must name a file of the site,
// and each #anchor an id in that page (also same-page anchors, which typedoc does not check). External links are
// not fetched (CI has no internet). Exits 1 listing every broken link.
//
//   node scripts/docs-check-links.mjs [site folder, default docs/site]
import { existsSync, statSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const site = resolve(process.argv[2] ?? join(root, 'docs', 'site'))
if (!existsSync(join(site, 'index.html'))) {
  console.error(`docs links: no site at ${relative(process.cwd(), site)}: build it first (pnpm docs)`)
  process.exit(1)
}

async function files(dir) {
  const out = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await files(path)))
    else out.push(path)
  }
  return out
}

const decode = (text) =>
  text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')

const idCache = new Map()

/** The ids (and names) a page or SVG sprite defines, which `#fragment` links may target. */
async function idsOf(file) {
  let ids = idCache.get(file)
  if (!ids) {
    const text = await readFile(file, 'utf8')
    ids = new Set([...text.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => decode(m[1] ?? '')))
    idCache.set(file, ids)
  }
  return ids
}

const all = await files(site)
const pages = all.filter((f) => f.endsWith('.html'))
const broken = []
let checked = 0
for (const page of pages) {
  const html = await readFile(page, 'utf8')
  for (const match of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const link = decode(match[1] ?? '')
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue
    checked++
    const hash = link.indexOf('#')
    const path = (hash === -1 ? link : link.slice(0, hash)).replace(/\?.*$/, '')
    const anchor = hash === -1 ? '' : decodeURIComponent(link.slice(hash + 1))
    let target = path === '' ? page : resolve(dirname(page), decodeURIComponent(path))
    if (existsSync(target) && statSync(target).isDirectory()) target = join(target, 'index.html')
    const from = relative(site, page)
    if (!target.startsWith(site) || !existsSync(target)) {
      broken.push(`${from}: ${link} (no file ${relative(site, target)})`)
      continue
    }
    if (anchor && /\.(html|svg)$/.test(target) && !(await idsOf(target)).has(anchor)) {
      broken.push(`${from}: ${link} (no id "${anchor}" in ${relative(site, target)})`)
    }
  }
}
if (broken.length > 0) {
  console.error(`docs links: ${broken.length} broken link(s) in ${relative(process.cwd(), site)}`)
  for (const b of broken) console.error(`  ${b}`)
  process.exit(1)
}
console.log(`docs links: ${checked} local links in ${pages.length} pages, none broken`)
