import { defineProject } from 'vitest/config'

// The source condition: the document is generated from core's sources and the example server runs from its sources,
// so this suite needs no build. The files run one after the other: the schemathesis run starts Spark.
export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: {
    name: 'openapi',
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
  },
})
