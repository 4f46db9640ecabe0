import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js'
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader'

const SERVICE_FILE = 'sparkle/connect/spark_connect.proto'
const STATUS_FILE = 'sparkle/rpc_status.proto'

/** The package's `proto` folder: next to `src/` in the sources and next to `dist/` once built. */
function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, 'proto')
    if (existsSync(join(candidate, SERVICE_FILE))) return candidate
    dir = dirname(dir)
  }
  throw new Error(
    `the Spark Connect .proto files are missing (looked for proto/${SERVICE_FILE} above ${import.meta.url})`,
  )
}

/** The loaded protocol: the service client constructor and decoders of the gRPC rich error status. */
export interface SparkConnectProtocol {
  readonly Service: ServiceClientConstructor
  readonly decodeStatus: (bytes: Buffer) => RichStatus
  readonly decodeErrorInfo: (bytes: Buffer) => ErrorInfo
}

/** `google.rpc.Status`, as decoded. */
export interface RichStatus {
  readonly code: number
  readonly message: string
  readonly details: readonly { readonly type_url: string; readonly value: Buffer }[]
}

/** `google.rpc.ErrorInfo`, as decoded. */
export interface ErrorInfo {
  readonly reason: string
  readonly domain: string
  readonly metadata: Readonly<Record<string, string>>
}

let loaded: SparkConnectProtocol | undefined

function decoder<T>(definition: PackageDefinition, service: string, method: string): (bytes: Buffer) => T {
  const methods = definition[service] as unknown as Record<string, MethodDefinition<unknown, T>>
  const found = methods[method]
  if (!found) throw new Error(`${service}.${method} is missing from the loaded protocol`)
  return (bytes) => found.responseDeserialize(bytes)
}

/** Loads the project's Spark Connect .proto subset once (int64 as strings, enums as names, defaults, oneof names). */
export function sparkConnectProtocol(): SparkConnectProtocol {
  if (loaded) return loaded
  const definition = loadSync([SERVICE_FILE, STATUS_FILE], {
    includeDirs: [protoRoot()],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  })
  const grpcObject = loadPackageDefinition(definition)
  const spark = grpcObject['spark'] as GrpcObject
  const connect = spark['connect'] as GrpcObject
  loaded = Object.freeze({
    Service: connect['SparkConnectService'] as ServiceClientConstructor,
    decodeStatus: decoder<RichStatus>(definition, 'sparkle.rpc.Decoders', 'DecodeStatus'),
    decodeErrorInfo: decoder<ErrorInfo>(definition, 'sparkle.rpc.Decoders', 'DecodeErrorInfo'),
  })
  return loaded
}
