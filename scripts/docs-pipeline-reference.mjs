// Writes docs/reference/pipeline-document.md, the pipeline document reference, from core's
// pipelineDocumentJsonSchema() at build time, so the page cannot drift from the schema. Core is read from its
// sources (Node strips the types), so no build is needed. The example document on the page is validated and
// compiled here too: an example that stops being valid fails the docs build.
//
// The page is committed, so that its links work on GitHub and in a fresh clone; `--check` fails when the committed
// page differs from what the schema gives now (the consumer tests run it).
//
//   node scripts/docs-pipeline-reference.mjs [output.md]
//   node scripts/docs-pipeline-reference.mjs --check
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const check = process.argv.includes('--check')
const out =
  process.argv.slice(2).find((a) => a !== '--check') ?? join(root, 'docs', 'reference', 'pipeline-document.md')
const core = await import(pathToFileURL(join(root, 'packages', 'core', 'src', 'index.ts')).href)

// Words for fields whose schema has no description, by schema path (`*` for array items). A path that is not in the
// schema any more fails the build, so these notes cannot outlive their field.
const notes = {
  '/schemaVersion': 'The document format version. Older documents are upgraded with `migratePipeline`.',
  '/name': "The pipeline's name: its folder in git (`pipelines/<name>/pipeline.json`), its id in URLs and runs.",
  '/description': 'Shown in lists.',
  '/tags': 'Free labels, shown in lists and used to filter them.',
  '/params': 'Typed run parameters. Configs use them as `{{name}}`; run and backfill requests give their values.',
  '/nodes': 'The components of the graph, each with its config.',
  '/edges': 'The connections, from an output port of one node to an input port of another.',
  '/schedule': "Runs the pipeline on a cron schedule (the worker's scheduler enqueues the runs).",
  '/spark': 'Spark settings for the runs of this pipeline.',
  '/spark/conf': 'Spark configuration set on the session, e.g. `spark.sql.shuffle.partitions`.',
  '/params/*/name': 'The name configs refer to as `{{name}}`.',
  '/params/*/description': 'Help text for whoever starts a run.',
  '/params/*/type': 'The value type; dates and timestamps are written into SQL as typed literals.',
  '/params/*/default': 'The value when a run does not give one; without a default, every run must.',
  '/nodes/*/id': 'Unique in the document; the Spark view of the node is `sparkle_<id>`.',
  '/nodes/*/position': 'Where the node sits on the canvas.',
  '/nodes/*/position/x': 'Canvas x coordinate.',
  '/nodes/*/position/y': 'Canvas y coordinate.',
  '/nodes/*/data': 'The component and its configuration.',
  '/nodes/*/data/label': 'The label shown on the canvas.',
  '/nodes/*/data/config':
    "The component's config, checked against the component's JSON Schema (`registry.jsonSchema(ref)`).",
  '/edges/*/id': 'Unique in the document.',
  '/edges/*/source': 'The upstream node id.',
  '/edges/*/target': 'The downstream node id.',
  '/edges/*/sourceHandle': "The upstream node's output port; its first port when absent.",
  '/edges/*/targetHandle': "The downstream node's input port (`left`, `right`, ...); its first port when absent.",
  '/schedule/cron': 'A 5-field cron expression (minute, hour, day of month, month, day of week).',
  '/schedule/timezone': 'The IANA time zone the cron expression is read in.',
  '/schedule/catchUp':
    'After downtime: `none` runs only a slot still within its grace period, `latest` the most recent missed slot, `all` every missed slot.',
  '/schedule/enabled': 'Set to false to pause the schedule without removing it.',
}
const usedNotes = new Set()

const example = {
  schemaVersion: 2,
  name: 'daily-revenue',
  description: 'Paid orders of a day, summed per customer.',
  tags: ['finance'],
  params: [{ name: 'ds', type: 'date', description: 'The day to process' }],
  nodes: [
    {
      id: 'orders',
      position: { x: 0, y: 0 },
      data: { component: 'ingestor/csv@1', label: 'Orders', config: { path: '/data/orders/{{ds}}.csv' } },
    },
    {
      id: 'paid',
      position: { x: 240, y: 0 },
      data: { component: 'transformer/filter@1', config: { condition: "status = 'paid'" } },
    },
    {
      id: 'revenue',
      position: { x: 480, y: 0 },
      data: {
        component: 'transformer/aggregate@1',
        config: {
          groupBy: ['customer_id'],
          aggregations: [
            { function: 'count', alias: 'orders' },
            { function: 'sum', column: 'amount', alias: 'revenue' },
          ],
        },
      },
    },
    {
      id: 'out',
      position: { x: 720, y: 0 },
      data: {
        component: 'sink/parquet@1',
        config: { path: '/data/out/daily_revenue/ds={{ds}}', mode: 'overwrite' },
      },
    },
  ],
  edges: [
    { id: 'e1', source: 'orders', target: 'paid' },
    { id: 'e2', source: 'paid', target: 'revenue' },
    { id: 'e3', source: 'revenue', target: 'out' },
  ],
  schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris', catchUp: 'latest' },
}

const registry = core.createDefaultRegistry()
const validation = core.validatePipeline(example, registry)
if (!validation.ok) {
  const problems = validation.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')
  throw new Error(`the example document of the reference page is invalid; fix it in ${relativeToRoot()}:\n${problems}`)
}
const plan = core.compilePipeline(example, registry, { params: { ds: '2026-11-01' } })

function relativeToRoot() {
  return relative(root, fileURLToPath(import.meta.url))
}

/** Text for a table cell: no line breaks, pipes escaped (also inside code spans, as GFM tables require). */
function cell(text) {
  return text.replaceAll('\n', ' ').replaceAll('|', '\\|')
}

/** Inline code that survives any backticks inside. */
function code(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``
}

/** Escapes `<`, `>` and `&` outside code spans, where markdown would otherwise read them as HTML. */
function escapeHtml(text) {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1 ? part : part.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'),
    )
    .join('')
}

/** The slug typedoc gives a heading, for links to the sections of this page. */
function slug(heading) {
  return heading
    .trim()
    .replace(/[\u2000-\u206F\u2E00-\u2E7F\\'!"#$%&()*+,./:;<=>?@[\]^`{|}~]/g, '')
    .replace(/\s/g, '-')
    .replace(/--+/, '-')
    .toLowerCase()
}

const isObject = (s) => s?.type === 'object' && s.properties !== undefined
const variantsOf = (s) => s?.oneOf ?? s?.anyOf

/** Sections to write, in order: one per object type, named by its schema title or its place. */
const sections = []

/** Where the next new section goes: right after the one being written and the sections it already added. */
let insertAt = 0

function section(title, path, schema) {
  const existing = sections.find((s) => s.schema === schema)
  if (existing) return existing
  const entry = { title, path, schema, anchor: slug(title) }
  sections.splice(insertAt++, 0, entry)
  return entry
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** The type column: a section link for object types, otherwise the JSON type with its literal values. */
function typeOf(schema, title, path) {
  if (schema.const !== undefined) return code(schema.const)
  if (schema.enum) return schema.enum.map(code).join(' or ')
  const variants = variantsOf(schema)
  if (variants) {
    if (variants.every(isObject))
      return `[${section(schema.title ?? title, path, schema).title}](#${slug(schema.title ?? title)})`
    return variants.map((v, i) => typeOf(v, `${title} ${i + 1}`, path)).join(' or ')
  }
  if (schema.type === 'array')
    return `array of ${typeOf(schema.items ?? {}, schema.items?.title ?? title, `${path}/*`)}`
  if (isObject(schema)) {
    const s = section(schema.title ?? title, path, schema)
    return `[${s.title}](#${s.anchor})`
  }
  if (schema.type === 'object') {
    const values = schema.additionalProperties
    if (values && typeof values === 'object' && values.type)
      return `object with ${typeOf(values, title, `${path}/*`)} values`
    return 'object'
  }
  if (Array.isArray(schema.type)) return schema.type.join(' or ')
  return schema.type ?? 'any JSON value'
}

const SAFE_INTEGER = 9007199254740991

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`

/** The rules column: defaults and constraints in words. */
function rulesOf(schema) {
  const rules = []
  if (schema.default !== undefined) rules.push(`default ${code(schema.default)}`)
  if (schema.format) rules.push(`format ${schema.format}`)
  else if (schema.pattern?.length > 80) rules.push('matches the pattern in the JSON Schema below')
  else if (schema.pattern) rules.push(`matches ${code(schema.pattern)}`)
  if (schema.minLength !== undefined) rules.push(`at least ${plural(schema.minLength, 'character')}`)
  if (schema.maxLength !== undefined) rules.push(`at most ${plural(schema.maxLength, 'character')}`)
  if (schema.minimum !== undefined && schema.minimum !== -SAFE_INTEGER) rules.push(`at least ${schema.minimum}`)
  if (schema.maximum !== undefined && schema.maximum !== SAFE_INTEGER) rules.push(`at most ${schema.maximum}`)
  if (schema.minItems !== undefined) rules.push(`at least ${plural(schema.minItems, 'item')}`)
  if (schema.maxItems !== undefined) rules.push(`at most ${plural(schema.maxItems, 'item')}`)
  const items = schema.items
  if (items && !isObject(items) && !variantsOf(items)) {
    const inner = rulesOf(items)
    if (inner.length > 0) rules.push(`each: ${inner.join(', ')}`)
  }
  const values = schema.additionalProperties
  if (values && typeof values === 'object') {
    const keys = rulesOf(schema.propertyNames ?? {})
    if (keys.length > 0) rules.push(`keys: ${keys.join(', ')}`)
    const inner = rulesOf(values)
    if (inner.length > 0) rules.push(`values: ${inner.join(', ')}`)
  }
  return rules
}

function describe(schema, path) {
  const note = notes[path]
  if (note !== undefined) usedNotes.add(path)
  const text = [schema.description, note].filter(Boolean).join(' ')
  return escapeHtml(text || schema.title || '')
}

function table(schema, path, title) {
  const required = new Set(schema.required ?? [])
  const rows = ['| Field | Type | Required | Description | Rules |', '| --- | --- | --- | --- | --- |']
  for (const [key, property] of Object.entries(schema.properties)) {
    const at = `${path}/${key}`
    const name = title ? `${title} ${key}` : key
    rows.push(
      `| ${code(key)} | ${cell(typeOf(property, capitalize(name), at))} | ${required.has(key) ? 'yes' : 'no'} | ${cell(describe(property, at))} | ${cell(rulesOf(property).join('; '))} |`,
    )
  }
  return rows.join('\n')
}

const schema = core.pipelineDocumentJsonSchema()
section('Pipeline document', '', schema)
const body = []
for (let i = 0; i < sections.length; i++) {
  const s = sections[i]
  insertAt = i + 1
  body.push(`## ${s.title}`, '')
  const intro = s.path === '' ? schema.description : s.schema.description
  if (intro) body.push(escapeHtml(intro), '')
  const variants = variantsOf(s.schema)
  if (variants) {
    const key = s.schema.discriminator?.propertyName
    body.push(key ? `One of the following, told apart by ${code(key)}:` : 'One of the following:', '')
    for (const variant of variants) {
      const tag = key ? variant.properties?.[key]?.const : undefined
      if (tag !== undefined) body.push(`**${code(key)}: ${code(tag)}**`, '')
      body.push(table(variant, s.path, tag === undefined ? s.title : `${tag} ${s.title}`), '')
    }
  } else {
    const path = s.path === '' ? '' : s.path
    body.push(table(s.schema, path, s.path === '' ? '' : s.title), '')
  }
}

const stale = Object.keys(notes).filter((p) => !usedNotes.has(p))
if (stale.length > 0) {
  throw new Error(`notes for fields the schema does not have (remove or move them in ${relativeToRoot()}): ${stale}`)
}

const page = `---
title: Pipeline document reference
group: Reference
---

# Pipeline document reference

<!-- Generated by scripts/docs-pipeline-reference.mjs from pipelineDocumentJsonSchema(); do not edit. -->

A pipeline is one JSON document, stored in git as \`pipelines/<name>/pipeline.json\`. This page is generated from
[\`pipelineDocumentJsonSchema()\`](../../packages/core/README.md), and a test fails when it is not regenerated, so it
always matches the SDK it documents (document version ${code(core.CURRENT_SCHEMA_VERSION)}). Nodes and edges have the
shape of React Flow's nodes and edges, so a canvas can render a document as it is. Each node's \`config\` is described
by its component's own JSON Schema (\`registry.jsonSchema(ref)\`); see [Concepts](../guides/concepts.md) for how the
pieces fit and [Writing a custom component](../guides/custom-components.md) for your own.

Validation ([\`validatePipeline\`](../../packages/core/README.md)) checks more than this schema can say:
unique ids, edges between existing nodes and ports, no cycles, known components and versions, valid configs, secrets
only as references, safe SQL fragments, and, for runs, at least one sink.

${body.join('\n')}
## Example

A daily pipeline: read the day's CSV file, keep paid orders, sum them per customer, write Parquet.

\`\`\`json
${JSON.stringify(example, null, 2)}
\`\`\`

With \`ds\` = \`2026-11-01\`, [\`compilePipeline\`](../../packages/core/README.md) turns it into this plan:

\`\`\`json
${JSON.stringify(plan, null, 2)}
\`\`\`

## The JSON Schema

For editors and other tools: \`pipelineDocumentJsonSchema()\` (draft-07, or \`{ draft: '2020-12' }\`).

\`\`\`json
${JSON.stringify(schema, null, 2)}
\`\`\`
`

if (check) {
  const committed = existsSync(out) ? await readFile(out, 'utf8') : undefined
  if (committed !== page) {
    console.error(
      `${relative(process.cwd(), out)} is ${committed === undefined ? 'missing' : 'out of date'}: ` +
        'regenerate it with `node scripts/docs-pipeline-reference.mjs` (pnpm run docs does) and commit it',
    )
    process.exit(1)
  }
  console.log(`${relative(process.cwd(), out)} is current`)
  process.exit(0)
}
await mkdir(dirname(out), { recursive: true })
await writeFile(out, page)
console.log(
  `wrote ${relative(process.cwd(), out)} (${sections.length} sections, document version ${core.CURRENT_SCHEMA_VERSION})`,
)
