import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: {
    name: 'runs',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Some files start Spark drivers and worker processes: one file at a time on two cores.
    fileParallelism: false,
  },
})
