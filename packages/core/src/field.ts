import { z } from 'zod'

/**
 * How `{{ name }}` run parameters enter a config field:
 * - `sql`: Spark SQL (expressions, queries); a parameter becomes a typed literal (`DATE'2026-11-01'`, `'it\'s'`, `42`).
 * - `remote-sql`: SQL that a database runs over JDBC; a parameter becomes a portable literal (`'2026-11-01'`, `'it''s'`).
 * - `path`: a file or folder; the value's text, after which the path is normalized (and checked under a policy).
 * - `remote-identifier`: a table name sent to a database; the value must be letters, digits and `_`.
 * - `text`: anything else (column names, which are quoted later, options); the value's text.
 *
 * The default follows the widget: `sql-expression` and `sql` are `sql`, `path` is `path`, the rest `text`.
 */
export type ParamKind = 'sql' | 'remote-sql' | 'path' | 'remote-identifier' | 'text'

/**
 * How a config field is shown in a form. Standard annotations (`title`, `description`, `examples`) go into the JSON
 * Schema; the rest drives the generated RJSF `uiSchema`.
 */
export interface FieldHints {
  /** Label of the field. */
  readonly title?: string
  /** Help text under the field. */
  readonly description?: string
  /** Example values (also in the JSON Schema's `examples`). */
  readonly examples?: readonly unknown[]
  /**
   * Widget name for the form renderer. A stock react-jsonschema-form widget for the field's type (`textarea`,
   * `password`, `updown`, ...) becomes `ui:widget`; any other name (`sql-expression`, `sql`, `column`, `columns`,
   * `path`, `connection`, `key-value`, `grid`) becomes `ui:options.sparkleWidget` for canvases with richer widgets
   * (see the forms reference in the docs). `sql-expression` and `sql` also mark the field as user SQL for the compiler.
   */
  readonly widget?: string
  /**
   * A group name, e.g. `Location`, `Advanced`: the group's optional fields come together in `ui:order`, after the
   * ungrouped ones, and the name is in `ui:options.sparkleGroup` for canvases that draw fieldsets.
   */
  readonly group?: string
  /** Sort order within the form; lower comes first. Fields without an order keep their declaration order, after. */
  readonly order?: number
  /** Placeholder text of an empty input. */
  readonly placeholder?: string
  /** The field holds a secret reference (`{ "$secret": "NAME" }`), never a plaintext value. */
  readonly secret?: boolean
  /** How run parameters enter the field, when not what its widget implies (see {@link ParamKind}). */
  readonly params?: ParamKind
}

/** The UI-only part of {@link FieldHints}, kept in the {@link fieldHints} registry. */
export type UiHints = Pick<FieldHints, 'widget' | 'group' | 'order' | 'placeholder' | 'secret' | 'params'>

/** The zod registry that holds each field's UI hints, read by the uiSchema generator and the secret checks. */
export const fieldHints: z.core.$ZodRegistry<UiHints> = z.registry<UiHints>()

/**
 * Attaches form hints to a zod schema: `title`, `description` and `examples` as JSON Schema annotations, the rest
 * as UI hints. Returns a new schema of the same type.
 *
 * @example
 * ```ts
 * import { field } from '@sparkle-studio/core'
 * import { z } from 'zod'
 *
 * const condition = field(z.string().min(1), { title: 'Condition', widget: 'sql-expression', placeholder: 'amount > 0' })
 * ```
 */
export function field<T extends z.ZodType>(schema: T, hints: FieldHints): T {
  const meta: Record<string, unknown> = {}
  if (hints.title !== undefined) meta['title'] = hints.title
  if (hints.description !== undefined) meta['description'] = hints.description
  if (hints.examples !== undefined) meta['examples'] = [...hints.examples]
  if (hints.secret) meta['writeOnly'] = true
  const annotated = (Object.keys(meta).length > 0 ? schema.meta(meta) : schema.meta({})) as T
  const ui: { -readonly [K in keyof UiHints]: UiHints[K] } = {}
  if (hints.widget !== undefined) ui.widget = hints.widget
  if (hints.group !== undefined) ui.group = hints.group
  if (hints.order !== undefined) ui.order = hints.order
  if (hints.placeholder !== undefined) ui.placeholder = hints.placeholder
  if (hints.secret !== undefined) ui.secret = hints.secret
  if (hints.params !== undefined) ui.params = hints.params
  // field(field(schema, a), b): the hints of `a` that `b` does not override stay (a re-titled sqlExpression is SQL).
  fieldHints.add(annotated, { ...fieldHints.get(schema), ...ui })
  return annotated
}

/** Secret names: upper-case letters, digits and `_`, starting with a letter. */
export const SECRET_NAME_PATTERN: RegExp = /^[A-Z][A-Z0-9_]{0,127}$/

/**
 * A config field that holds a secret reference `{ "$secret": "NAME" }`: the value is resolved when a run is
 * submitted and never stored in git, logs or API responses. A form shows it as one password input labelled
 * "Secret name" under the field's title; the `placeholder` hint goes to that input.
 *
 * @example
 * ```ts
 * import { secretRef } from '@sparkle-studio/core'
 *
 * const password = secretRef({ title: 'Password' })
 * ```
 */
export function secretRef(hints: Omit<FieldHints, 'secret'> = {}) {
  return field(
    z.strictObject({
      $secret: z
        .string()
        .regex(SECRET_NAME_PATTERN, 'secret names are upper-case letters, digits and _')
        .meta({ title: 'Secret name' }),
    }),
    { widget: 'secret', ...hints, secret: true },
  )
}
