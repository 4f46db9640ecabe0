import { z } from 'zod'
import { defineComponent } from '../component.ts'
import { field, secretRef } from '../field.ts'

/** Settings of a database reached over JDBC, shared by ingestors and sinks. */
export const jdbcConnection = defineComponent({
  type: 'connection',
  name: 'jdbc',
  version: 1,
  title: 'JDBC connection',
  description:
    'A database that JDBC ingestors and sinks reference by this node id. The password is a secret reference.',
  category: 'Connections',
  icon: 'plug',
  tags: ['connection', 'jdbc', 'database', 'credentials'],
  inputs: [],
  outputs: [],
  config: z.strictObject({
    url: field(
      z
        .string()
        .regex(/^jdbc:[a-z0-9]+:/, 'a JDBC URL starts with jdbc:<driver>:')
        .max(2000),
      {
        title: 'JDBC URL',
        placeholder: 'jdbc:postgresql://db.internal:5432/analytics',
      },
    ),
    user: field(z.string().min(1).max(256).optional(), { title: 'User' }),
    password: secretRef({
      title: 'Password',
      description: 'The name of the secret that holds the password; the value is looked up when a run starts.',
      placeholder: 'ANALYTICS_DB_PASSWORD',
    }).optional(),
    driver: field(z.string().min(1).max(256).optional(), {
      title: 'Driver class',
      placeholder: 'org.postgresql.Driver',
      group: 'Advanced',
    }),
    options: field(z.record(z.string().min(1).max(200), z.string().max(10_000)).default({}), {
      title: 'Extra options',
      group: 'Advanced',
      widget: 'key-value',
    }),
  }),
  examples: [
    {
      title: 'PostgreSQL',
      config: {
        url: 'jdbc:postgresql://localhost:5432/analytics',
        user: 'etl',
        password: { $secret: 'ANALYTICS_DB_PASSWORD' },
      },
    },
  ],
  compile: () => ({ kind: 'none' }),
})
