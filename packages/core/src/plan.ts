import type { ExecutionPolicy } from './policy.ts'

/** A reference to a secret, resolved when the plan is submitted; plans and documents never hold secret values. */
export interface SecretRef {
  /** The secret's name, e.g. `WAREHOUSE_PASSWORD`. */
  readonly $secret: string
}

/** A data source or sink option: plain text, or a reference to a secret. */
export type OptionValue = string | SecretRef

/** What a `read` step loads with Spark's DataFrame reader. */
export interface ReadSource {
  /** Spark data source format, e.g. `csv`, `json`, `parquet`, `jdbc`. */
  readonly format: string
  /** Input path for file formats; absent for `jdbc`. */
  readonly path?: string
  /** Data source options (`header`, `inferSchema`, `url`, `dbtable`, ...). */
  readonly options?: Readonly<Record<string, OptionValue>>
  /** A DDL schema string (`id BIGINT, name STRING`); inferred by Spark when absent. */
  readonly schema?: string
}

/**
 * One step of an {@link ExecutionPlan}. Steps run in order; each names the pipeline node it came from so that
 * a failure can say which node failed.
 *
 * - `read`: loads `source` with Spark's DataFrame reader into the temporary view `view` (first `limit` rows only when set).
 * - `view`: `sql` is a query; its result is registered as the temporary view `view`.
 * - `action`: `sql` is a statement run for its effect (for example `CACHE LAZY TABLE`).
 * - `query`: `sql` is a query whose first `limit` rows and schema are reported (previews, results).
 * - `check`: `sql` returns one row with a `failed_rows` column; more than zero fails the run (`error`) or is reported (`warn`).
 * - `write`: `sql` is a query whose result is written to `target` with Spark's DataFrame writer.
 */
export type PlanStep =
  | {
      readonly nodeId: string
      readonly kind: 'read'
      readonly view: string
      readonly source: ReadSource
      readonly limit?: number
    }
  | { readonly nodeId: string; readonly kind: 'view'; readonly view: string; readonly sql: string }
  | { readonly nodeId: string; readonly kind: 'action'; readonly sql: string }
  | { readonly nodeId: string; readonly kind: 'query'; readonly sql: string; readonly limit: number }
  | {
      readonly nodeId: string
      readonly kind: 'check'
      readonly sql: string
      readonly severity: 'error' | 'warn'
      readonly description: string
    }
  | { readonly nodeId: string; readonly kind: 'write'; readonly sql: string; readonly target: WriteTarget }

/** Where and how a `write` step stores its rows. */
export interface WriteTarget {
  /** Spark data source format, e.g. `parquet`, `csv`, `json`, `jdbc`. */
  readonly format: string
  /** Save mode. */
  readonly mode: 'overwrite' | 'append' | 'errorifexists' | 'ignore'
  /** Output path for file formats; absent for `jdbc`. */
  readonly path?: string
  /** Columns to partition the output by. */
  readonly partitionBy?: readonly string[]
  /** Data source options (for `jdbc`: url, dbtable, ...). Secret references are resolved at submission. */
  readonly options?: Readonly<Record<string, OptionValue>>
}

/**
 * An inspectable Spark program compiled from a pipeline document: a list of Spark SQL steps in topological order.
 * The same document, registry and params always give a byte-identical plan.
 */
export interface ExecutionPlan {
  /** The pipeline's name. */
  readonly pipeline: string
  /** The git revision (commit sha) the document was read at, when known. */
  readonly revision?: string
  /** `run` writes sinks; `preview` samples sources, skips sinks and reports rows per node. */
  readonly mode: 'run' | 'preview'
  /** Spark configuration to apply to the session (from the document's `spark` section). */
  readonly conf?: Readonly<Record<string, string>>
  /** The steps, in execution order. */
  readonly steps: readonly PlanStep[]
  /**
   * What the driver enforces on Spark's analyzed plan of every step (present when the plan was compiled under an
   * {@link ExecutionPolicy}): reads and writes only inside the roots, no denied function, JDBC only to allowed URLs.
   */
  readonly policy?: PlanPolicy
}

/** The part of an {@link ExecutionPolicy} a plan carries to the driver. */
export type PlanPolicy = Pick<ExecutionPolicy, 'readRoots' | 'writeRoots' | 'deniedFunctions' | 'jdbcUrlPatterns'>
