/** A column of a node's output: its name and, when known, its Spark type (`bigint`, `string`, ...). */
export interface LineageColumn {
  readonly name: string
  readonly type?: string | undefined
}

/** How an output column depends on an input field (OpenLineage ColumnLineageDatasetFacet 1-2-0). */
export type TransformationType = 'DIRECT' | 'INDIRECT'

/**
 * The subtype of a transformation: for `DIRECT`, `IDENTITY` (the same value), `TRANSFORMATION` (computed from it)
 * or `AGGREGATION` (computed from many rows of it); for `INDIRECT`, the clause the field decides
 * (`JOIN`, `GROUP_BY`, `FILTER`, `SORT`, `WINDOW`, `CONDITIONAL`).
 */
export type TransformationSubtype =
  | 'IDENTITY'
  | 'TRANSFORMATION'
  | 'AGGREGATION'
  | 'JOIN'
  | 'GROUP_BY'
  | 'FILTER'
  | 'SORT'
  | 'WINDOW'
  | 'CONDITIONAL'

/** One transformation of an input field into an output column (or into the whole dataset, for indirect ones). */
export interface Transformation {
  readonly type: TransformationType
  readonly subtype: TransformationSubtype
  readonly description?: string | undefined
  /** True when the output does not reveal the input's values (a hash, a mask). */
  readonly masking: boolean
}

/** A field of a node's output, named by node id and column name. */
export interface FieldRef {
  readonly nodeId: string
  readonly field: string
}

/** An input field an output column (or a node's whole output) depends on, and how. */
export interface FieldDependency extends FieldRef {
  readonly transformation: Transformation
}

/** An output column of a node and the input fields it comes from. */
export interface ColumnLineageEntry extends LineageColumn {
  readonly inputs: readonly FieldDependency[]
}

/** The column lineage of one node. */
export interface NodeLineage {
  readonly nodeId: string
  /** The node's component reference. */
  readonly component: string
  /** The node's output columns, in order, each with its inputs. */
  readonly columns: readonly ColumnLineageEntry[]
  /** Input fields that affect every row of the output (join keys, filter and group-by columns): indirect ones. */
  readonly dataset: readonly FieldDependency[]
  /**
   * False when the columns could not be derived from the config (custom SQL, unknown components, a source without
   * given columns): its columns then depend on every input column with `TRANSFORMATION`, and `note` says why.
   */
  readonly derived: boolean
  readonly note?: string | undefined
}

/** The column lineage of a whole pipeline: one entry per node (connections excluded), in topological order. */
export interface PipelineColumnLineage {
  readonly nodes: ReadonlyMap<string, NodeLineage>
  /** The input node ids of each node, in port and edge order. */
  readonly inputs: ReadonlyMap<string, readonly string[]>
}
