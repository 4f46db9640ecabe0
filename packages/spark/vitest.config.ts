import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: {
    name: 'spark',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Spark test files start JVMs (drivers, a standalone cluster, the preview driver): one file at a time keeps two
    // cores from being shared by several JVM start-ups, which only makes every file slower.
    fileParallelism: false,
  },
})
