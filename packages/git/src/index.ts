export type { GitOutput, RunGitOptions } from './git-process.ts'
export { gitEnv, runGit } from './git-process.ts'
