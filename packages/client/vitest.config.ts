import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: { name: 'client', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
})
