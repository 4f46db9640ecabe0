import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: { name: 'scripts', include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
})
