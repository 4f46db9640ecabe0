// openapi-typescript turns the document into types, and openapi-fetch calls against every operation type-check with
// them: the calls are generated from the document (so a new route is covered the day it is added), their inputs are
// also valid for the contract's zod schemas, and a few wrong calls must fail to compile.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AnyRoute, api, type OpenApiDocument } from '@sparkle-studio/core/contract'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Operation, operationsOf, writeDocument } from './document.ts'
import { sampleValue } from './sample-values.ts'

const here = dirname(fileURLToPath(import.meta.url))

/** The inputs of one generated call, by OpenAPI location. */
interface CallInputs {
  readonly path: Record<string, unknown>
  readonly query: Record<string, unknown>
  readonly header: Record<string, unknown>
  readonly body: unknown
}

function inputsOf(doc: OpenApiDocument, { op }: Operation): CallInputs {
  const inputs: CallInputs = { path: {}, query: {}, header: {}, body: undefined }
  for (const p of (op['parameters'] ?? []) as { name: string; in: keyof CallInputs; required: boolean }[]) {
    const schema = (p as unknown as { schema: Record<string, unknown> }).schema
    // Optional query parameters are given too, so that their types are checked; optional headers are left out.
    if (p.required || p.in === 'query') {
      ;(inputs[p.in] as Record<string, unknown>)[p.name] = sampleValue(doc, schema, p.name)
    }
  }
  const body = op['requestBody'] as { content: Record<string, { schema: Record<string, unknown> }> } | undefined
  const json = body?.content['application/json']
  if (json) return { ...inputs, body: sampleValue(doc, json.schema) }
  // A file upload's body is the file's bytes: a string of CSV for the types.
  if (body?.content['application/octet-stream']) return { ...inputs, body: 'id,name\n1,Ada\n' }
  return inputs
}

function callSource(operation: Operation, inputs: CallInputs, index: number): string {
  const params: string[] = []
  for (const where of ['path', 'query', 'header'] as const) {
    if (Object.keys(inputs[where]).length > 0) params.push(`${where}: ${JSON.stringify(inputs[where])}`)
  }
  const init: string[] = []
  if (params.length > 0) init.push(`params: { ${params.join(', ')} }`)
  if (inputs.body !== undefined) init.push(`body: ${JSON.stringify(inputs.body)}`)
  const method = operation.method.toUpperCase()
  const args = [JSON.stringify(operation.path), ...(init.length > 0 ? [`{ ${init.join(', ')} }`] : [])]
  const responses = operation.op['responses'] as Record<string, { content?: Record<string, unknown> }>
  const json = Object.entries(responses).some(([s, r]) => s.startsWith('2') && r.content?.['application/json'])
  return [
    `// ${String(operation.op['operationId'])}`,
    `export async function call${index}() {`,
    `  const { data, error } = await client.${method}(${args.join(', ')})`,
    json ? '  data?.success satisfies true | undefined' : '  void data',
    '  error?.error.code satisfies string | undefined',
    '}',
  ].join('\n')
}

/** Calls that must not compile, each with the reason. */
const WRONG_CALLS = `
// @ts-expect-error the document of a save is an object
void client.PUT('/api/v1/pipelines/{name}', { params: { path: { name: 'orders' } }, body: { document: 'orders' } })
// @ts-expect-error a run names its pipeline
void client.POST('/api/v1/execute/run', { body: { params: { ds: '2026-11-01' } } })
// @ts-expect-error a pipeline name is a string
void client.POST('/api/v1/execute/run', { body: { pipeline: 42 } })
// @ts-expect-error path parameters are required
void client.GET('/api/v1/pipelines/{name}', {})
// @ts-expect-error limit is an integer
void client.GET('/api/v1/executions', { params: { query: { limit: 'ten' } } })
// @ts-expect-error a role the API does not know
void client.POST('/api/v1/keys', { body: { name: 'ci', role: 'owner' } })
// @ts-expect-error no such path
void client.GET('/api/v1/nothing-here')
// @ts-expect-error a pipeline is saved with PUT, not POST
void client.POST('/api/v1/pipelines/{name}', { params: { path: { name: 'orders' } }, body: { document: {} } })

// The typed answers: a pipeline's blob (its ETag) is a string, a run's status one of the run states.
export async function typedAnswers() {
  const read = await client.GET('/api/v1/pipelines/{name}', { params: { path: { name: 'orders' } } })
  read.data?.data.blob satisfies string | undefined
  const run = await client.POST('/api/v1/execute/run', { body: { pipeline: 'orders' } })
  run.data?.data.status satisfies 'queued' | 'submitting' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | undefined
  // @ts-expect-error a blob is not a number
  read.data?.data.blob satisfies number | undefined
}
`

describe('the OpenAPI document through openapi-typescript and openapi-fetch', () => {
  let dir: string
  let doc: OpenApiDocument
  let operations: Operation[]

  beforeAll(async () => {
    dir = await mkdtemp(join(here, '..', '.generated-'))
    doc = (await writeDocument(dir)).doc
    operations = operationsOf(doc)
  })

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('has one operation per route of the contract, and its generated inputs are valid for the zod schemas', () => {
    expect(operations.map((o) => o.op['operationId']).sort()).toEqual(Object.keys(api).sort())
    for (const operation of operations) {
      const route = (api as Record<string, AnyRoute>)[String(operation.op['operationId'])]
      if (!route) throw new Error(`no route ${String(operation.op['operationId'])}`)
      const inputs = inputsOf(doc, operation)
      const parts = [
        [route.params, inputs.path],
        [route.query, inputs.query],
        [route.headers, inputs.header],
        [route.body, inputs.body],
      ] as const
      for (const [schema, value] of parts) {
        if (!schema) continue
        const parsed = schema.safeParse(value)
        expect(parsed.success, `${operation.method} ${operation.path}: ${JSON.stringify(value)}`).toBe(true)
      }
    }
  })

  it('generates types that every openapi-fetch call type-checks against, and wrong calls do not', async () => {
    const types = astToString(await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0]))
    expect(types).toContain('export interface paths')
    await writeFile(join(dir, 'schema.ts'), types)
    const calls = operations.map((o, i) => callSource(o, inputsOf(doc, o), i))
    const source = [
      "import createClient from 'openapi-fetch'",
      "import type { paths } from './schema.ts'",
      "const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:3000' })",
      ...calls,
      WRONG_CALLS,
    ].join('\n\n')
    const file = join(dir, 'calls.ts')
    await writeFile(file, source)

    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      allowImportingTsExtensions: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
    })
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0
      const line = d.file?.text.split('\n')[where - 1]?.trim() ?? ''
      return `${ts.flattenDiagnosticMessageText(d.messageText, '\n')} (line ${where}: ${line})`
    })
    const wrong = WRONG_CALLS.match(/@ts-expect-error/g)?.length ?? 0
    console.log(
      `openapi-typescript: ${types.split('\n').length} lines of types; ${calls.length} operations called with openapi-fetch, ${wrong} wrong calls refused; tsc: ${diagnostics.length} diagnostics`,
    )
    // An unused @ts-expect-error is itself a diagnostic, so none at all also means every wrong call failed.
    expect(diagnostics).toEqual([])
    expect(calls).toHaveLength(Object.keys(api).length)
  })
})
