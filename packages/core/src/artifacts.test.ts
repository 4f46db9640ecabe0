import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { dailyRevenue, doc } from '../test/fixtures.ts'
import { type ArtifactLocation, artifactPaths, artifactRefs, isArtifactRef, pathOf } from './artifacts.ts'
import { definePipeline, pipelineNode } from './authoring.ts'
import { type CompileOptions, compilePipeline } from './compiler.ts'
import { defineComponent } from './component.ts'
import { sourcePathField } from './components/common.ts'
import { builtinComponents, createDefaultRegistry } from './components/index.ts'
import { MAX_NESTING_DEPTH } from './depth.ts'
import type { PipelineDocument } from './document.ts'
import { isStudioError } from './errors.ts'
import { defaultExecutionPolicy } from './policy.ts'
import { validatePipeline } from './validate-pipeline.ts'
import type { ValidationIssue } from './validation-issue.ts'

const registry = createDefaultRegistry()
const ORDERS = '0f8fad5b-d9cb-469f-a165-70867728950e'
const SAMPLE = '7c9e6679-7425-40de-944b-e07fc1f90ae7'
const EVENTS = '16fd2706-8baf-433b-82eb-8c7fada847da'
const GONE = 'a8098c1a-f86e-11da-bd1a-00112444be1e'

const artifacts: Record<string, ArtifactLocation> = {
  [ORDERS]: { path: '/srv/artifacts/0f/orders.csv', format: 'csv' },
  [SAMPLE]: { path: '/srv/artifacts/7c/sample.csv', format: 'csv' },
  [EVENTS]: { path: '/srv/artifacts/16/events.jsonl', format: 'jsonl' },
}

/** source -> parquet sink; the source's path and node data are the test's. */
function pipeline(
  component: string,
  path: unknown,
  data: { readonly previewSample?: { $artifact: string } } = {},
): PipelineDocument {
  const document = doc(
    'artifacts',
    [
      ['src', component, { path }],
      ['out', 'sink/parquet@1', { path: '/data/out/x', mode: 'overwrite' }],
    ],
    [['src', 'out']],
  )
  const [src, ...rest] = document.nodes
  if (!src) throw new Error('no source node')
  return { ...document, nodes: [{ ...src, data: { ...src.data, ...data } }, ...rest] }
}

function issues(document: unknown, options: CompileOptions = {}): ValidationIssue[] {
  try {
    compilePipeline(document, registry, options)
  } catch (error) {
    if (isStudioError(error) && error.code === 'VALIDATION_FAILED') {
      return (error.details as { issues: ValidationIssue[] }).issues
    }
    throw error
  }
  return []
}

function readOf(document: PipelineDocument, options: CompileOptions = {}) {
  return compilePipeline(document, registry, options).steps.find((s) => s.kind === 'read')
}

describe('artifact references in source path fields', () => {
  it("the csv ingestor's JSON Schema takes a path or a reference, and only lower-case UUIDs, nothing else", () => {
    const schema = registry.jsonSchema('ingestor/csv@1') as { properties: Record<string, Record<string, unknown>> }
    const path = schema.properties['path']
    expect(path).toMatchObject({
      title: 'Path',
      anyOf: [{ type: 'string' }, { type: 'object', title: 'Uploaded file', required: ['$artifact'] }],
    })
    const validate = new Ajv({ strict: true }).compile(schema)
    expect(validate({ path: '/data/orders.csv' })).toBe(true)
    expect(validate({ path: { $artifact: ORDERS } })).toBe(true)
    expect(validate({ path: { $artifact: ORDERS.toUpperCase() } })).toBe(false)
    expect(validate({ path: { $artifact: ORDERS, name: 'orders.csv' } })).toBe(false)
    expect(validate({ path: { $artifact: 'orders' } })).toBe(false)
    expect(registry.validateConfig('ingestor/csv@1', { path: { $artifact: ORDERS } }).ok).toBe(true)
    expect(registry.validateConfig('ingestor/csv@1', { path: { $artifact: 'orders' } })).toMatchObject({
      ok: false,
      issues: [expect.objectContaining({ path: '/path/$artifact' })],
    })
  })

  it('keeps the path hints: the path widget, the placeholder and the Location group', () => {
    expect(registry.uiSchema('ingestor/csv@1')['path']).toEqual({
      'ui:placeholder': '/data/orders/*.csv',
      'ui:options': { sparkleWidget: 'path', sparkleGroup: 'Location' },
    })
  })

  it('are taken by the file ingestors only, never by sinks', () => {
    const taking = builtinComponents.filter((c) => artifactPaths(c.config).length > 0).map((c) => c.ref)
    expect(taking.sort()).toEqual(['ingestor/csv@1', 'ingestor/json@1', 'ingestor/parquet@1'])
    expect(artifactPaths(registry.require('ingestor/csv@1').config)).toEqual(['/path'])
    expect(registry.validateConfig('sink/parquet@1', { path: { $artifact: ORDERS } }).ok).toBe(false)
  })

  it('isArtifactRef knows a reference from a path and from look-alikes', () => {
    expect(isArtifactRef({ $artifact: ORDERS })).toBe(true)
    expect(isArtifactRef('/data/orders.csv')).toBe(false)
    expect(isArtifactRef({ $artifact: ORDERS, extra: 1 })).toBe(false)
    expect(isArtifactRef({ $artifact: ORDERS.toUpperCase() })).toBe(false)
    expect(isArtifactRef([ORDERS])).toBe(false)
    expect(isArtifactRef(null)).toBe(false)
  })

  it('pathOf returns a string path and refuses an unresolved reference', () => {
    expect(pathOf('/data/a.csv')).toBe('/data/a.csv')
    expect(() => pathOf({ $artifact: ORDERS })).toThrow(/not resolved/)
  })
})

describe('artifactRefs', () => {
  it('lists every reference of a document with its node, pointer and role, in document order', () => {
    const document = pipeline('ingestor/csv@1', { $artifact: ORDERS }, { previewSample: { $artifact: SAMPLE } })
    expect(artifactRefs(document)).toEqual([
      { id: ORDERS, nodeId: 'src', path: '/nodes/0/data/config/path', role: 'source' },
      { id: SAMPLE, nodeId: 'src', path: '/nodes/0/data/previewSample', role: 'previewSample' },
    ])
    expect(artifactRefs(dailyRevenue)).toEqual([])
  })

  it('reads unparsed documents: nested and escaped keys, malformed parts skipped, never throws', () => {
    const loose = {
      nodes: [
        null,
        { id: 'a', data: { config: { 'x/y': [{ deep: { $artifact: EVENTS } }], not: { $artifact: 'nope' } } } },
        { id: 7, data: { config: { path: { $artifact: ORDERS } } } },
        { id: 'b', data: { previewSample: { $artifact: SAMPLE, extra: true } } },
      ],
    }
    expect(artifactRefs(loose)).toEqual([
      { id: EVENTS, nodeId: 'a', path: '/nodes/1/data/config/x~1y/0/deep', role: 'source' },
    ])
    for (const junk of [undefined, null, 'text', 42, [], { nodes: 'x' }]) expect(artifactRefs(junk)).toEqual([])
  })

  it('is depth-limited: a reference below the nesting limit is not walked to, a deep document does not throw', () => {
    let config: unknown = { $artifact: ORDERS }
    for (let i = 0; i < 100_000; i++) config = { c: config }
    expect(artifactRefs({ nodes: [{ id: 'a', data: { config } }] })).toEqual([])
    // The deepest reference still found: the document is level 1, the config level 5.
    let near: unknown = { $artifact: ORDERS }
    for (let i = 0; i < MAX_NESTING_DEPTH - 5; i++) near = { c: near }
    expect(artifactRefs({ nodes: [{ id: 'a', data: { config: near } }] })).toHaveLength(1)
  })
})

describe('previewSample validation', () => {
  it('is allowed on an ingestor that reads a path', () => {
    const result = validatePipeline(
      pipeline('ingestor/json@1', '/data/e.jsonl', { previewSample: { $artifact: EVENTS } }),
      registry,
    )
    expect(result.ok).toBe(true)
  })

  it('is refused, naming the node, on a transformer, a sink and an ingestor that reads no path', () => {
    const document = doc(
      'p',
      [
        ['db', 'connection/jdbc@1', { url: 'jdbc:postgresql://db:5432/dw' }],
        ['src', 'ingestor/jdbc@1', { connection: 'db', table: 'orders' }],
        ['keep', 'transformer/filter@1', { condition: 'amount > 0' }],
        ['out', 'sink/csv@1', { path: '/data/out/x' }],
      ],
      [
        ['src', 'keep'],
        ['keep', 'out'],
      ],
    )
    const nodes = document.nodes.map((n) =>
      n.id === 'db' ? n : { ...n, data: { ...n.data, previewSample: { $artifact: SAMPLE } } },
    )
    const result = validatePipeline({ ...document, nodes }, registry)
    expect(result.ok).toBe(false)
    const found = result.ok ? [] : result.issues.filter((i) => i.code === 'preview_sample_not_supported')
    expect(found.map((i) => [i.nodeId, i.path])).toEqual([
      ['src', '/nodes/1/data/previewSample'],
      ['keep', '/nodes/2/data/previewSample'],
      ['out', '/nodes/3/data/previewSample'],
    ])
    expect(found[1]?.message).toMatch(/"keep".*remove previewSample/)
  })

  it('must be a reference', () => {
    const document = pipeline('ingestor/csv@1', '/data/a.csv', { previewSample: { $artifact: 'sample.csv' } })
    expect(validatePipeline(document, registry)).toMatchObject({
      ok: false,
      issues: [expect.objectContaining({ path: '/nodes/0/data/previewSample/$artifact' })],
    })
  })
})

describe('compilePipeline with artifacts', () => {
  it("reads a referenced artifact from its location's path, the same plan as that path written in", () => {
    const byRef = compilePipeline(pipeline('ingestor/csv@1', { $artifact: ORDERS }), registry, { artifacts })
    const byPath = compilePipeline(pipeline('ingestor/csv@1', '/srv/artifacts/0f/orders.csv'), registry)
    expect(JSON.stringify(byRef)).toBe(JSON.stringify(byPath))
    expect(byRef.steps[0]).toMatchObject({ kind: 'read', source: { format: 'csv', path: artifacts[ORDERS]?.path } })
  })

  it('keeps plans of documents without references byte-identical, artifacts given or not', () => {
    for (const mode of ['run', 'preview'] as const) {
      const before = JSON.stringify(compilePipeline(dailyRevenue, registry, { mode, params: { ds: '2026-11-01' } }))
      const after = compilePipeline(dailyRevenue, registry, { mode, params: { ds: '2026-11-01' }, artifacts })
      expect(JSON.stringify(after)).toBe(before)
    }
  })

  it('a run reads the production path; a preview reads the sample (also in place of a reference)', () => {
    const sampled = { previewSample: { $artifact: SAMPLE } }
    const byPath = pipeline('ingestor/csv@1', '/data/orders/{{ds}}.csv', sampled)
    const withParam = { ...byPath, params: [{ name: 'ds', type: 'date' as const, default: '2026-11-01' }] }
    expect(readOf(withParam, { artifacts })).toMatchObject({ source: { path: '/data/orders/2026-11-01.csv' } })
    // A run does not need the sample resolved at all.
    expect(readOf(withParam)).toMatchObject({ source: { path: '/data/orders/2026-11-01.csv' } })
    expect(readOf(withParam, { mode: 'preview', artifacts })).toMatchObject({
      source: { format: 'csv', path: '/srv/artifacts/7c/sample.csv' },
      limit: 1000,
    })
    const byRef = pipeline('ingestor/csv@1', { $artifact: ORDERS }, sampled)
    expect(readOf(byRef, { artifacts })).toMatchObject({ source: { path: '/srv/artifacts/0f/orders.csv' } })
    // The production artifact is not read in a preview with a sample, so it need not be resolved then.
    expect(
      readOf(byRef, { mode: 'preview', artifacts: { [SAMPLE]: artifacts[SAMPLE] as ArtifactLocation } }),
    ).toMatchObject({
      source: { path: '/srv/artifacts/7c/sample.csv' },
    })
  })

  it('refuses an unknown artifact, and any reference when no artifacts are given, with every problem at once', () => {
    const document = doc(
      'p',
      [
        ['a', 'ingestor/csv@1', { path: { $artifact: GONE } }],
        ['b', 'ingestor/json@1', { path: { $artifact: EVENTS } }],
        ['u', 'transformer/union@1', {}],
        ['out', 'sink/parquet@1', { path: '/data/out/x' }],
      ],
      [
        ['a', 'u'],
        ['b', 'u'],
        ['u', 'out'],
      ],
    )
    const found = issues(document, { artifacts })
    expect(found).toEqual([
      {
        path: '/nodes/0/data/config/path',
        nodeId: 'a',
        code: 'unknown_artifact',
        message: `Artifact ${GONE} does not exist or was deleted. Fix: upload the file again, or pick another artifact`,
      },
    ])
    expect(issues(document).map((i) => `${i.code}@${i.nodeId}${i.path}`)).toEqual([
      'unknown_artifact@a/nodes/0/data/config/path',
      'unknown_artifact@b/nodes/1/data/config/path',
    ])
    const sampled = pipeline('ingestor/csv@1', '/data/a.csv', { previewSample: { $artifact: GONE } })
    expect(issues(sampled, { mode: 'preview', artifacts })).toMatchObject([
      { code: 'unknown_artifact', nodeId: 'src', path: '/nodes/0/data/previewSample' },
    ])
    expect(issues(sampled, { artifacts })).toEqual([])
  })

  it('refuses an artifact in an ingestor that does not read its format, naming the one that does', () => {
    expect(issues(pipeline('ingestor/parquet@1', { $artifact: ORDERS }), { artifacts })).toEqual([
      {
        path: '/nodes/0/data/config/path',
        nodeId: 'src',
        code: 'artifact_format_mismatch',
        message: `Artifact ${ORDERS} is a CSV file, which "src" (Parquet files) reads as parquet. Fix: read it with the CSV files ingestor (ingestor/csv@1), or pick a Parquet artifact`,
      },
    ])
    expect(issues(pipeline('ingestor/csv@1', { $artifact: EVENTS }), { artifacts })).toMatchObject([
      { code: 'artifact_format_mismatch', message: expect.stringContaining('JSON files ingestor (ingestor/json@1)') },
    ])
    expect(issues(pipeline('ingestor/json@1', { $artifact: EVENTS }), { artifacts })).toEqual([])
    const sampled = pipeline('ingestor/json@1', '/data/e.jsonl', { previewSample: { $artifact: SAMPLE } })
    expect(issues(sampled, { mode: 'preview', artifacts })).toMatchObject([
      { code: 'artifact_format_mismatch', nodeId: 'src', path: '/nodes/0/data/previewSample' },
    ])
  })

  it('checks a resolved path under the policy like any path', () => {
    const policy = defaultExecutionPolicy({ readRoots: ['/data', '/srv/artifacts'], writeRoots: ['/data/out'] })
    const plan = compilePipeline(pipeline('ingestor/csv@1', { $artifact: ORDERS }), registry, { artifacts, policy })
    expect(plan.steps[0]).toMatchObject({ source: { path: '/srv/artifacts/0f/orders.csv' } })
    const outside = { ...artifacts, [ORDERS]: { path: '/etc/passwd', format: 'csv' as const } }
    const narrow = defaultExecutionPolicy({ readRoots: ['/data'], writeRoots: ['/data/out'] })
    for (const [policyUsed, location] of [
      [narrow, artifacts],
      [policy, outside],
    ] as const) {
      expect(
        issues(pipeline('ingestor/csv@1', { $artifact: ORDERS }), { artifacts: location, policy: policyUsed }),
      ).toMatchObject([{ code: 'read_path_not_allowed', nodeId: 'src', path: '/nodes/0/data/config/path' }])
    }
    const sampled = pipeline('ingestor/csv@1', '/data/a.csv', { previewSample: { $artifact: SAMPLE } })
    expect(issues(sampled, { mode: 'preview', artifacts, policy: narrow })).toMatchObject([
      { code: 'read_path_not_allowed', nodeId: 'src', path: '/nodes/0/data/previewSample' },
    ])
  })

  it('gives a custom component written with sourcePathField a string path in compile', () => {
    const seen: unknown[] = []
    const textFiles = defineComponent({
      type: 'ingestor',
      name: 'text-files',
      version: 1,
      title: 'Text files',
      description: 'One row per line.',
      category: 'Sources',
      icon: 'file-text',
      inputs: [],
      outputs: [{ name: 'out' }],
      config: z.strictObject({ path: sourcePathField('Path', '/data/logs/*.txt') }),
      compile: ({ config }) => {
        seen.push(config.path)
        return { kind: 'read', source: { format: 'text', path: pathOf(config.path) } }
      },
    })
    const custom = createDefaultRegistry().register(textFiles)
    const document = pipeline('ingestor/text-files@1', { $artifact: EVENTS })
    const plan = compilePipeline(document, custom, { artifacts })
    expect(seen).toEqual(['/srv/artifacts/16/events.jsonl'])
    expect(plan.steps[0]).toMatchObject({ source: { format: 'text', path: '/srv/artifacts/16/events.jsonl' } })
    // A text reader reads any file, so a CSV sample is fine for it.
    const sampled = pipeline('ingestor/text-files@1', '/data/logs/*.txt', { previewSample: { $artifact: SAMPLE } })
    expect(validatePipeline(sampled, custom).ok).toBe(true)
    expect(compilePipeline(sampled, custom, { mode: 'preview', artifacts }).steps[0]).toMatchObject({
      source: { format: 'text', path: '/srv/artifacts/7c/sample.csv' },
    })
  })

  it('typed authoring writes references and preview samples into the document', () => {
    const orders = pipelineNode(
      'orders',
      'ingestor/csv@1',
      { path: { $artifact: ORDERS } },
      {
        previewSample: { $artifact: SAMPLE },
      },
    )
    const out = pipelineNode('out', 'sink/parquet@1', { path: '/data/out/x' })
    const document = definePipeline({
      name: 'typed',
      nodes: [orders, out],
      edges: [{ source: 'orders', target: 'out' }],
    })
    expect(document.nodes[0]?.data).toEqual({
      component: 'ingestor/csv@1',
      config: { path: { $artifact: ORDERS } },
      previewSample: { $artifact: SAMPLE },
    })
    expect(artifactRefs(document).map((r) => r.role)).toEqual(['source', 'previewSample'])
    expect(readOf(document, { mode: 'preview', artifacts })).toMatchObject({
      source: { path: artifacts[SAMPLE]?.path },
    })
  })
})
