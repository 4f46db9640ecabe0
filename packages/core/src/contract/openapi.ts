import { z } from 'zod'
import { type ErrorCode, errorStatus } from '../errors.ts'
import { API_BASE_PATH } from '../routes/route-info.ts'
import { RUN_STREAM_EVENT_NAMES } from '../routes/run-events.ts'
import { SDK_VERSION } from '../version.ts'
import { type AnyRoute, ErrorBodySchema, successEnvelope } from './route.ts'
import { api } from './routes.ts'
import { wireSchemas } from './schemas.ts'

/** An OpenAPI 3.1 document as plain JSON. */
export type OpenApiDocument = Record<string, unknown>

/** Options of {@link generateOpenApi}. */
export interface OpenApiOptions {
  /** Server URLs listed in the document, e.g. `['http://localhost:3000']`. */
  readonly servers?: readonly string[]
  /**
   * Title of the API.
   * @default 'Sparkle Studio API'
   */
  readonly title?: string
}

// What any route may answer, whatever it does: the request's shape, its credentials and role, the Host allowlist,
// the rate limit, the size limits (body, and the URL and headers: 431), the request time limit, a bug. A route with a
// body may also get a content type that is not JSON.
const COMMON_ERRORS: readonly ErrorCode[] = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'MISDIRECTED_REQUEST',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'HEADERS_TOO_LARGE',
  'INTERNAL',
  'JOB_TIMEOUT',
]
const BODY_ERRORS: readonly ErrorCode[] = ['UNSUPPORTED_MEDIA_TYPE']

const SECURITY_SCHEME = 'bearerAuth'
const BEARER = { [SECURITY_SCHEME]: [] }

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before calling again',
    schema: { type: 'integer', minimum: 0 },
  },
}

/** A file's bytes in a request or response body. */
const BINARY = { type: 'string', format: 'binary' }

/** The content types an upload's body may be sent with (besides a multipart form). */
const UPLOAD_TYPES = ['application/octet-stream', 'text/csv', 'application/jsonl', 'application/vnd.apache.parquet']

const DOWNLOAD_HEADERS = {
  'Content-Length': { description: 'Bytes in this answer', schema: { type: 'integer', minimum: 0 } },
  'Accept-Ranges': { description: '`bytes`: byte ranges may be asked for', schema: { type: 'string' } },
  'Content-Disposition': { description: "The artifact's name as the file name", schema: { type: 'string' } },
  ETag: { description: 'The SHA-256 of the file, quoted', schema: { type: 'string' } },
}

const ETAG = {
  ETag: {
    description: 'The entity tag of the pipeline: `"<blob>"`, the blob id of pipeline.json. Send it as If-Match.',
    schema: { type: 'string' },
  },
}

const TAGS: Readonly<Record<string, string>> = {
  system: 'Health and the execution policy of the deployment',
  components: 'The component catalog: config schemas, search, config validation',
  pipelines: 'Pipelines in git: read, save (If-Match), history, diff, validation, plans',
  execution: 'Previews on the warm Spark session, runs, backfills, run status, logs and events',
  schedules: "Pipelines' schedules: next fire times, the last slot run, pause and resume (each a commit)",
  git: 'The repository: status, branches, commits, pull, push, pull requests',
  access: 'API keys and the audit log (admins)',
  artifacts: 'Data artifacts: uploaded CSV, JSON lines and Parquet files to preview pipelines on',
  webhooks: 'Webhook subscriptions (admins): signed event deliveries to receiver URLs, and the delivery log',
}

function jsonSchema(schema: z.ZodType, defs: Record<string, unknown>, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const wire = wireSchemas.get(zodSchema as unknown as z.ZodType)
      if (!wire) return
      const keep = jsonSchema.description
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key]
      Object.assign(jsonSchema, wire, keep === undefined ? {} : { description: keep })
    },
  }) as Record<string, unknown>
  delete out['$schema']
  const local = out['$defs'] as Record<string, unknown> | undefined
  delete out['$defs']
  if (local) for (const [id, def] of Object.entries(local)) defs[id] ??= def
  return out
}

function unwrapOptional(schema: z.ZodType): { schema: z.ZodType; optional: boolean } {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType }
  if ((def.type === 'optional' || def.type === 'default') && def.innerType)
    return { schema: def.innerType, optional: true }
  return { schema, optional: false }
}

function parameters(route: AnyRoute, defs: Record<string, unknown>): Record<string, unknown>[] {
  const list: Record<string, unknown>[] = []
  const add = (where: 'path' | 'query' | 'header', obj: z.ZodObject | undefined) => {
    if (!obj) return
    for (const [name, prop] of Object.entries(obj.shape as Record<string, z.ZodType>)) {
      const { schema, optional } = unwrapOptional(prop)
      const description = (z.globalRegistry.get(prop) ?? z.globalRegistry.get(schema))?.description
      list.push({
        name,
        in: where,
        required: where === 'path' || !optional,
        schema: jsonSchema(schema, defs, 'input'),
        ...(description ? { description } : {}),
      })
    }
  }
  add('path', route.params)
  add('query', route.query)
  add('header', route.headers)
  // Revalidation is HTTP's, not the use case's: the handler reads If-None-Match itself on the GET of a route with an
  // entity tag (so the typed client, which answers data, does not offer it).
  if (route.etag && route.method === 'GET')
    list.push({
      name: 'if-none-match',
      in: 'header',
      required: false,
      schema: { type: 'string' },
      description: 'ETags you hold (or `*`): when one is the current one, the answer is 304 without a body',
    })
  return list
}

/**
 * One message of an event stream, as OpenAPI 3.1 describes a `text/event-stream` response (each event): its name,
 * its id, and its `data`, JSON of the route's response schema.
 */
function sseEventSchema(route: AnyRoute, defs: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['event', 'data'],
    properties: {
      event: { type: 'string', enum: [...RUN_STREAM_EVENT_NAMES] },
      id: { type: 'string', pattern: '^[0-9]+$', description: 'The event id: send it as Last-Event-ID to resume' },
      data: {
        type: 'string',
        contentMediaType: 'application/json',
        contentSchema: jsonSchema(route.response, defs, 'output'),
      },
      retry: { type: 'integer', minimum: 0 },
    },
  }
}

function responses(route: AnyRoute, defs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const status = String(route.status ?? 200)
  out[status] = route.download
    ? {
        description: 'The whole file',
        headers: DOWNLOAD_HEADERS,
        content: { 'application/octet-stream': { schema: BINARY } },
      }
    : route.stream === 'sse'
      ? {
          description: 'A stream of Server-Sent Events',
          content: { 'text/event-stream': { schema: sseEventSchema(route, defs) } },
        }
      : {
          description: 'Success',
          ...(route.etag ? { headers: ETAG } : {}),
          content: { 'application/json': { schema: jsonSchema(successEnvelope(route.response), defs, 'output') } },
        }
  if (route.download) {
    out['206'] = {
      description: 'The byte range asked for in `Range`',
      headers: {
        ...DOWNLOAD_HEADERS,
        'Content-Range': { description: '`bytes <first>-<last>/<size>`', schema: { type: 'string' } },
      },
      content: { 'application/octet-stream': { schema: BINARY } },
    }
  }
  if (route.etag && route.method === 'GET')
    out['304'] = { description: 'Not modified: If-None-Match names the current ETag', headers: ETAG }
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of [...COMMON_ERRORS, ...(route.body || route.upload ? BODY_ERRORS : []), ...route.errors]) {
    const s = errorStatus[code]
    byStatus.set(s, [...new Set([...(byStatus.get(s) ?? []), code])])
  }
  for (const [s, codes] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    out[String(s)] = {
      description: `Error: ${codes.join(', ')}`,
      ...(s === errorStatus.RATE_LIMITED ? { headers: RETRY_AFTER } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    }
  }
  return out
}

/**
 * Generates the OpenAPI 3.1 document of the API from the contract in {@link api}: paths, parameters, request bodies,
 * responses in their envelopes, errors by status, each route's role as `x-required-role`, and the `bearerAuth`
 * security scheme (an API key or a JWT) that every operation requires but the public `health`.
 *
 * @example
 * ```ts
 * import { generateOpenApi } from '@sparkle-studio/core/contract'
 *
 * const spec = generateOpenApi({ servers: ['http://localhost:3000'] })
 * ```
 */
export function generateOpenApi(options: OpenApiOptions = {}): OpenApiDocument {
  const defs: Record<string, unknown> = {}
  const paths: Record<string, Record<string, unknown>> = {}
  for (const [operationId, route] of Object.entries(api) as [string, AnyRoute][]) {
    const path = `${API_BASE_PATH}${route.path}`
    const op: Record<string, unknown> = {
      operationId,
      summary: route.summary,
      tags: [route.tag],
      'x-required-role': route.role,
      // A public route takes anonymous callers (`{}`) and authenticated ones alike.
      security: route.public ? [{}, BEARER] : [BEARER],
      parameters: parameters(route, defs),
      responses: responses(route, defs),
    }
    if (route.description) op['description'] = route.description
    if (route.upload) {
      op['requestBody'] = {
        required: true,
        description: 'The file, as it is (with `?name=`), or as the `file` part of a form',
        content: {
          ...Object.fromEntries(UPLOAD_TYPES.map((type) => [type, { schema: BINARY }])),
          'multipart/form-data': {
            schema: {
              type: 'object',
              required: ['file'],
              properties: {
                name: { type: 'string', description: 'As `?name=`' },
                description: { type: 'string', description: 'As `?description=`' },
                file: { ...BINARY, description: 'The file; its file name is the default name' },
              },
              additionalProperties: false,
            },
          },
        },
      }
    }
    if (route.body) {
      const { schema, optional } = unwrapOptional(route.body)
      op['requestBody'] = {
        required: !optional,
        content: { 'application/json': { schema: jsonSchema(schema, defs, 'input') } },
      }
    }
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: op }
  }
  // Its meta id makes zod answer a `$ref` and put the schema itself under `$defs`, which is where it belongs.
  jsonSchema(ErrorBodySchema, defs, 'output')
  const doc = {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'Sparkle Studio API',
      version: SDK_VERSION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description:
        'Design, version and run low-code Spark pipelines. Every response is an envelope: `{ success: true, data }` or `{ success: false, error: { code, message, details } }`. Every call but GET /health needs `Authorization: Bearer <token>`, an API key (`sk_live_…`) or a JWT. Roles: viewer reads, editor saves, runs and reads run logs, admin pushes, opens pull requests, manages API keys and reads the audit log.',
    },
    servers: (options.servers ?? []).map((url) => ({ url })),
    security: [BEARER],
    tags: [...new Set(Object.values(api).map((r) => r.tag))].map((name) => ({
      name,
      ...(TAGS[name] ? { description: TAGS[name] } : {}),
    })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (`sk_live_…`, created with POST /keys by an admin) or a JWT from the identity provider the server trusts, as `Authorization: Bearer <token>`.',
        },
      },
    },
  }
  // Shared schemas (those with a meta id) live under components.schemas.
  return JSON.parse(JSON.stringify(doc).replaceAll('"#/$defs/', '"#/components/schemas/')) as OpenApiDocument
}
