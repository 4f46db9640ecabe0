import { assertOpenLineageEvents, checkOpenLineageEvents } from '@sparkle-studio/test-utils'
import { describe, expect, it } from 'vitest'
import { compilePipeline } from '../compiler.ts'
import { createDefaultRegistry } from '../components/index.ts'
import {
  columnLineage,
  datasetOf,
  errorMessageFacet,
  expressionColumns,
  externalQueryFacet,
  jdbcDataset,
  nominalTimeFacet,
  OPENLINEAGE_FACET_SCHEMAS,
  OPENLINEAGE_RUN_EVENT_SCHEMA_URL,
  type OpenLineageFacet,
  type OpenLineageRunEvent,
  openLineageDatasets,
  openLineageRunEvent,
  parentRunFacet,
  pathDataset,
  planSourceColumns,
  processingEngineFacet,
  sparkOpenLineageConf,
} from './index.ts'

const registry = createDefaultRegistry()
const producer = 'https://example.invalid/sparkle-studio/0.1.0'
const job = { namespace: 'sparkle-studio', name: 'revenue-by-country' }
const runId = '0191f3c2-7a4e-7b7e-9c1d-2f4a6b8c0d1e'

const node = (id: string, component: string, config: Record<string, unknown>) => ({
  id,
  position: { x: 0, y: 0 },
  data: { component, config },
})

/** Two CSV sources → join on customer_id → filter paid → revenue and order count by country → Parquet. */
const document = {
  schemaVersion: 2,
  name: 'revenue-by-country',
  nodes: [
    node('orders', 'ingestor/csv@1', {
      path: '/data/orders.csv',
      schema: 'order_id BIGINT, customer_id BIGINT, amount DOUBLE, status STRING',
    }),
    node('customers', 'ingestor/csv@1', {
      path: '/data/customers.csv',
      schema: 'customer_id BIGINT, name STRING, `country` STRING NOT NULL',
    }),
    node('joined', 'transformer/join@1', { keys: [{ left: 'customer_id', right: 'customer_id' }] }),
    node('paid', 'transformer/filter@1', { condition: "status = 'paid'" }),
    node('by_country', 'transformer/aggregate@1', {
      groupBy: ['country'],
      aggregations: [
        { function: 'sum', column: 'amount', alias: 'revenue' },
        { function: 'count', alias: 'orders' },
      ],
    }),
    node('out', 'sink/parquet@1', { path: '/data/out/revenue_by_country', mode: 'overwrite' }),
  ],
  edges: [
    { id: 'e1', source: 'orders', target: 'joined', targetHandle: 'left' },
    { id: 'e2', source: 'customers', target: 'joined', targetHandle: 'right' },
    { id: 'e3', source: 'joined', target: 'paid' },
    { id: 'e4', source: 'paid', target: 'by_country' },
    { id: 'e5', source: 'by_country', target: 'out' },
  ],
}

const sourceColumns = {
  orders: [
    { name: 'order_id', type: 'bigint' },
    { name: 'customer_id', type: 'bigint' },
    { name: 'amount', type: 'double' },
    { name: 'status', type: 'string' },
  ],
  customers: [
    { name: 'customer_id', type: 'bigint' },
    { name: 'name', type: 'string' },
    { name: 'country', type: 'string' },
  ],
}

const ORDERS = { namespace: 'file', name: '/data/orders.csv' }
const CUSTOMERS = { namespace: 'file', name: '/data/customers.csv' }
const t = (type: 'DIRECT' | 'INDIRECT', subtype: string, description?: string) =>
  description === undefined ? { type, subtype, masking: false } : { type, subtype, description, masking: false }

/** The hand-written column lineage of the output. */
const expectedColumnLineage = {
  fields: {
    country: { inputFields: [{ ...CUSTOMERS, field: 'country', transformations: [t('DIRECT', 'IDENTITY')] }] },
    revenue: { inputFields: [{ ...ORDERS, field: 'amount', transformations: [t('DIRECT', 'AGGREGATION', 'sum')] }] },
    // count(*) reads no column: the rows it counts are decided by the dataset-level lineage below.
    orders: { inputFields: [] },
  },
  dataset: [
    { ...CUSTOMERS, field: 'country', transformations: [t('INDIRECT', 'GROUP_BY')] },
    { ...CUSTOMERS, field: 'customer_id', transformations: [t('INDIRECT', 'JOIN')] },
    { ...ORDERS, field: 'customer_id', transformations: [t('INDIRECT', 'JOIN')] },
    { ...ORDERS, field: 'status', transformations: [t('INDIRECT', 'FILTER')] },
  ],
}

function buildEvents(): { start: OpenLineageRunEvent; complete: OpenLineageRunEvent } {
  const plan = compilePipeline(document, registry)
  // The sources' columns as the compiled plan knows them (the CSV ingestors' DDL schemas).
  expect(planSourceColumns(plan)).toEqual(sourceColumns)
  const lineage = columnLineage(document, registry, { sourceColumns: planSourceColumns(plan) })
  const { inputs, outputs } = openLineageDatasets(plan, lineage, { producer })
  const base = { run: { runId }, job, producer, inputs, outputs }
  return {
    start: openLineageRunEvent({ ...base, eventType: 'START', eventTime: '2026-11-02T03:00:00.000Z' }),
    complete: openLineageRunEvent({ ...base, eventType: 'COMPLETE', eventTime: '2026-11-02T03:04:10.512Z' }),
  }
}

describe('columnLineage', () => {
  it('derives every node of the join + aggregate pipeline', () => {
    const lineage = columnLineage(document, registry, { sourceColumns })
    const joined = lineage.nodes.get('joined')
    expect(joined?.columns.map((c) => c.name)).toEqual([
      'customer_id',
      'order_id',
      'amount',
      'status',
      'name',
      'country',
    ])
    expect(joined?.columns[0]?.inputs).toEqual([
      { nodeId: 'orders', field: 'customer_id', transformation: t('DIRECT', 'IDENTITY') },
    ])
    expect(lineage.nodes.get('paid')?.dataset).toEqual([
      { nodeId: 'joined', field: 'status', transformation: t('INDIRECT', 'FILTER') },
    ])
    const agg = lineage.nodes.get('by_country')
    expect(agg?.columns).toEqual([
      {
        name: 'country',
        type: 'string',
        inputs: [{ nodeId: 'paid', field: 'country', transformation: t('DIRECT', 'IDENTITY') }],
      },
      {
        name: 'revenue',
        type: 'double',
        inputs: [{ nodeId: 'paid', field: 'amount', transformation: t('DIRECT', 'AGGREGATION', 'sum') }],
      },
      { name: 'orders', type: 'bigint', inputs: [] },
    ])
    expect([...lineage.nodes.values()].every((n) => n.derived)).toBe(true)
  })

  it('reads column references of SQL expressions with the Spark SQL lexer', () => {
    const cols = ['amount', 'Tax', 'address', 'status']
    const has = (n: string) => cols.find((c) => c.toLowerCase() === n.toLowerCase())
    expect(expressionColumns("amount * (1 + `tax`) -- status\n + length('status')", has).columns).toEqual([
      { name: 'amount' },
      { name: 'Tax' },
    ])
    expect(expressionColumns('address.city', has)).toEqual({
      columns: [{ name: 'address' }],
      identity: false,
      masking: false,
    })
    expect(expressionColumns('amount', has).identity).toBe(true)
    expect(expressionColumns('sha2(status, 256)', has)).toMatchObject({ identity: false, masking: true })
    expect(expressionColumns('CAST(amount AS status) > {{min}}', has).columns).toEqual([{ name: 'amount' }])
  })

  it('covers derive, select, sort, window and marks custom SQL as not derived', () => {
    const doc = {
      schemaVersion: 2,
      name: 'shapes',
      nodes: [
        node('src', 'ingestor/parquet@1', { path: 's3a://lake/raw/orders' }),
        node('d', 'transformer/derive@1', {
          columns: [
            { name: 'gross', expression: 'amount * 1.2' },
            { name: 'who', expression: 'sha2(email, 256)' },
          ],
        }),
        node('s', 'transformer/select@1', {
          columns: [{ column: 'gross', alias: 'total' }, { column: 'who' }, { column: 'day' }],
        }),
        node('r', 'transformer/window-rank@1', {
          partitionBy: ['day'],
          orderBy: [{ column: 'total', direction: 'desc' }],
        }),
        node('q', 'transformer/sql@1', { query: 'SELECT day, max(total) AS top FROM r GROUP BY day' }),
        node('o', 'sink/jdbc@1', { connection: 'wh', table: 'daily_top' }),
        node('wh', 'connection/jdbc@1', { url: 'jdbc:postgresql://db.internal/analytics' }),
      ],
      edges: [
        { id: 'a', source: 'src', target: 'd' },
        { id: 'b', source: 'd', target: 's' },
        { id: 'c', source: 's', target: 'r' },
        { id: 'e', source: 'r', target: 'q' },
        { id: 'f', source: 'q', target: 'o' },
      ],
    }
    const src = [
      { name: 'amount', type: 'double' },
      { name: 'email', type: 'string' },
      { name: 'day', type: 'date' },
    ]
    const lineage = columnLineage(doc, registry, { sourceColumns: { src, q: [{ name: 'day' }, { name: 'top' }] } })
    const d = lineage.nodes.get('d')
    expect(
      d?.columns.map((c) => [
        c.name,
        c.inputs.map((i) => `${i.field}:${i.transformation.subtype}:${i.transformation.masking}`),
      ]),
    ).toEqual([
      ['amount', ['amount:IDENTITY:false']],
      ['email', ['email:IDENTITY:false']],
      ['day', ['day:IDENTITY:false']],
      ['gross', ['amount:TRANSFORMATION:false']],
      ['who', ['email:TRANSFORMATION:true']],
    ])
    expect(lineage.nodes.get('r')?.columns.at(-1)).toEqual({
      name: 'rank',
      type: 'int',
      inputs: [
        { nodeId: 's', field: 'day', transformation: t('INDIRECT', 'WINDOW', 'row_number partition') },
        { nodeId: 's', field: 'total', transformation: t('INDIRECT', 'WINDOW', 'row_number order') },
      ],
    })
    const q = lineage.nodes.get('q')
    expect(q?.derived).toBe(false)
    expect(q?.note).toMatch(/custom SQL/)
    expect(q?.columns[1]?.inputs.map((i) => i.field)).toEqual(['total', 'who', 'day', 'rank'])

    const plan = compilePipeline(doc, registry)
    const { inputs, outputs } = openLineageDatasets(plan, lineage, { producer })
    expect(inputs.map((i) => [i.namespace, i.name])).toEqual([['s3://lake', 'raw/orders']])
    expect(outputs.map((o) => [o.namespace, o.name])).toEqual([
      ['postgres://db.internal:5432', 'analytics.public.daily_top'],
    ])
    type Fields = Record<
      string,
      { inputFields: { field: string; transformations: { subtype: string; masking: boolean }[] }[] }
    >
    const facet = outputs[0]?.facets?.['columnLineage'] as unknown as { fields: Fields } | undefined
    const top = facet?.fields['top']
    expect(top?.inputFields.map((f) => [f.field, f.transformations.map((x) => `${x.subtype}:${x.masking}`)])).toEqual([
      // Custom SQL: every input column, TRANSFORMATION; `rank` brings its window columns along as INDIRECT.
      ['amount', ['TRANSFORMATION:false', 'WINDOW:false']],
      ['day', ['TRANSFORMATION:false', 'WINDOW:false']],
      ['email', ['TRANSFORMATION:true']],
    ])
  })
})

describe('dataset naming', () => {
  it('names files and JDBC tables as the OpenLineage naming spec does', () => {
    expect(pathDataset('/data/orders.csv')).toEqual({ namespace: 'file', name: '/data/orders.csv' })
    expect(pathDataset('file:///data/x')).toEqual({ namespace: 'file', name: '/data/x' })
    expect(pathDataset('s3://bucket/a/b.parquet')).toEqual({ namespace: 's3://bucket', name: 'a/b.parquet' })
    expect(pathDataset('hdfs://nn:8020/warehouse/t')).toEqual({ namespace: 'hdfs://nn:8020', name: '/warehouse/t' })
    expect(jdbcDataset('jdbc:postgresql://db:6543/dw?ssl=true', 'sales.orders')).toEqual({
      namespace: 'postgres://db:6543',
      name: 'dw.sales.orders',
    })
    expect(jdbcDataset('jdbc:mysql://my.host/shop', '`orders`')).toEqual({
      namespace: 'mysql://my.host:3306',
      name: 'shop.orders',
    })
    expect(
      datasetOf({ format: 'jdbc', options: { url: 'jdbc:postgresql://db/dw', query: 'SELECT 1' } }),
    ).toBeUndefined()
  })

  it('leaves every credential a URL may carry out of dataset names', () => {
    const secret = 'hunter2-s3cr3t'
    const named = [
      jdbcDataset(`jdbc:postgresql://etl:${secret}@db:5432/dw?user=etl&password=${secret}&ssl=true`, 'orders'),
      jdbcDataset(`jdbc:oracle:thin:etl/${secret}@ora.host:1521:ORCL`, 'SALES.ORDERS'),
      jdbcDataset(`jdbc:sqlserver://mssql:1433;databaseName=dw;user=etl;password=${secret}`, 'orders'),
      jdbcDataset(`jdbc:unknownvendor://u:${secret}@h/x;pwd=${secret}`, 't'),
      pathDataset(`s3a://AKIAEXAMPLE:${secret}@bucket/raw/orders.csv`),
      pathDataset(`https://user:${secret}@files.example/data.csv`),
    ]
    for (const d of named) expect(`${d.namespace} ${d.name}`).not.toContain(secret)
    expect(named[0]).toEqual({ namespace: 'postgres://db:5432', name: 'dw.public.orders' })
    expect(named[2]).toEqual({ namespace: 'sqlserver://mssql:1433', name: 'dw.dbo.orders' })
    expect(named[4]).toEqual({ namespace: 's3://bucket', name: 'raw/orders.csv' })
  })

  it('gives the Spark conf that parents the Spark listener under the run', () => {
    expect(sparkOpenLineageConf({ run: { runId }, job })).toEqual({
      'spark.openlineage.parentJobNamespace': 'sparkle-studio',
      'spark.openlineage.parentJobName': 'revenue-by-country',
      'spark.openlineage.parentRunId': runId,
    })
  })
})

/** The facet keys this SDK writes, each with the schema URL of the facet helper that writes it. */
const FACET_KEYS = [
  'schema',
  'columnLineage',
  'parent',
  'nominalTime',
  'errorMessage',
  'externalQuery',
  'processing_engine',
] as const

/** Every `_schemaURL` in an event, with the facet key it is under. */
function facetUrls(event: OpenLineageRunEvent): [string, string][] {
  const of = (facets: Readonly<Record<string, OpenLineageFacet>> | undefined) =>
    Object.entries(facets ?? {}).map(([key, f]): [string, string] => [key, f._schemaURL])
  return [
    ...of(event.run.facets),
    ...of(event.job.facets),
    ...[...event.inputs, ...event.outputs].flatMap((d) => of(d.facets)),
  ]
}

describe('OpenLineage events checked by the official Python client (openlineage-python)', () => {
  /** What is sent is what is checked: a round trip through JSON. */
  const sent = (events: readonly OpenLineageRunEvent[]) => JSON.parse(JSON.stringify(events)) as OpenLineageRunEvent[]

  it('START and COMPLETE of the join + aggregate pipeline are valid, and the column lineage is as written by hand', async () => {
    const { start, complete } = buildEvents()
    const check = await assertOpenLineageEvents(sent([start, complete]))
    // The spec version and every facet schema URL are the ones the client's generated classes declare.
    expect(start.schemaURL).toBe(check.runEvent)
    expect(OPENLINEAGE_RUN_EVENT_SCHEMA_URL).toBe(check.runEvent)
    for (const key of FACET_KEYS) expect(OPENLINEAGE_FACET_SCHEMAS[key], key).toBe(check.facets[key])
    for (const [key, url] of facetUrls(complete)) expect(url, key).toBe(check.facets[key])

    expect(start.inputs.map((i) => [i.namespace, i.name])).toEqual([
      ['file', '/data/orders.csv'],
      ['file', '/data/customers.csv'],
    ])
    expect(start.inputs[0]?.facets?.['schema']?.['fields']).toEqual(sourceColumns.orders)
    expect(complete.outputs).toHaveLength(1)
    const output = complete.outputs[0]
    expect([output?.namespace, output?.name]).toEqual(['file', '/data/out/revenue_by_country'])
    expect(output?.facets?.['schema']?.['fields']).toEqual([
      { name: 'country', type: 'string' },
      { name: 'revenue', type: 'double' },
      { name: 'orders', type: 'bigint' },
    ])
    const facet = output?.facets?.['columnLineage']
    expect(facet).toBeDefined()
    const { _producer, _schemaURL, ...lineage } = facet as OpenLineageFacet
    expect(_producer).toBe(producer)
    expect(lineage).toEqual(expectedColumnLineage)
  })

  it('FAIL, ABORT and RUNNING events and a backfill partition with parent and nominal time are valid', async () => {
    const { start } = buildEvents()
    const backfill = {
      run: { runId: '0191f3c2-0000-7000-8000-000000000001' },
      job: { namespace: job.namespace, name: `${job.name}.backfill` },
    }
    const fail = openLineageRunEvent({
      eventType: 'FAIL',
      eventTime: '2026-11-02T03:05:00+01:00',
      run: {
        runId,
        facets: {
          parent: parentRunFacet(producer, { ...backfill, root: backfill }),
          nominalTime: nominalTimeFacet(producer, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z'),
          errorMessage: errorMessageFacet(producer, { message: 'Spark job failed', programmingLanguage: 'JAVA' }),
        },
      },
      job,
      producer,
    })
    const running = openLineageRunEvent({
      eventType: 'RUNNING',
      eventTime: '2026-11-02T03:00:05.000Z',
      run: {
        runId,
        facets: {
          externalQuery: externalQueryFacet(producer, 'local-1764644405123', 'spark'),
          processing_engine: processingEngineFacet(producer, { name: 'spark', version: '4.1.0' }),
        },
      },
      job,
      producer,
    })
    const events = [running, { ...start, eventType: 'ABORT' as const }, fail]
    const check = await assertOpenLineageEvents(sent(events))
    for (const e of events) for (const [key, url] of facetUrls(e)) expect(url, key).toBe(check.facets[key])
    expect(() => openLineageRunEvent({ eventType: 'START', eventTime: 'now', run: { runId }, job, producer })).toThrow(
      /eventTime/,
    )
    expect(() =>
      openLineageRunEvent({ eventType: 'START', eventTime: start.eventTime, run: { runId: 'x' }, job, producer }),
    ).toThrow(/UUID/)
  })

  it('the checker refuses what the spec refuses, with the reason', async () => {
    const { start } = buildEvents()
    const [base] = sent([start])
    const bad: [string, unknown, RegExp][] = [
      ['an unknown event type', { ...base, eventType: 'DONE' }, /eventType: 'DONE' is not one of/],
      ['a run id that is no UUID', { ...base, run: { runId: 'run-1' } }, /runId: 'run-1' is not a UUID/],
      ['a time without an offset', { ...base, eventTime: '2026-11-02T03:00:00' }, /eventTime: .* offset/],
      ['an unknown field', { ...base, job: { ...job, owner: 'x' } }, /Job has no field owner/],
      ['a missing job name', { ...base, job: { namespace: job.namespace } }, /Job misses required field name/],
      [
        'another spec version',
        { ...base, schemaURL: 'https://openlineage.io/spec/2-0-1/OpenLineage.json#/$defs/RunEvent' },
        /but RunEvent declares/,
      ],
      [
        'a transformation without its type',
        {
          ...base,
          outputs: [
            {
              namespace: 'file',
              name: '/x',
              facets: {
                columnLineage: {
                  _producer: producer,
                  _schemaURL: OPENLINEAGE_FACET_SCHEMAS.columnLineage,
                  fields: {
                    a: { inputFields: [{ namespace: 'file', name: '/y', field: 'b', transformations: [{}] }] },
                  },
                },
              },
            },
          ],
        },
        /Transformation misses required field type/,
      ],
    ]
    const check = await checkOpenLineageEvents(bad.map(([, e]) => e))
    bad.forEach(([what, , reason], i) => {
      const result = check.results[i]
      expect(result?.ok, what).toBe(false)
      expect(result?.ok === false ? result.reason : '', what).toMatch(reason)
    })
  })
})
