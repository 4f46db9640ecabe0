import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: {
    name: 'example-server',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
