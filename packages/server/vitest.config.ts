import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: {
    name: 'server',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Files start servers with Spark drivers: one file at a time on two cores.
    fileParallelism: false,
  },
})
