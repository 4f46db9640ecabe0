import { defineProject } from 'vitest/config'

// No source condition: these tests load the packed packages from a project outside the workspace. The packages are
// packed and installed once (globalSetup); the files run one after the other, since most start Spark.
export default defineProject({
  test: {
    name: 'consumer',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
