export type { CommitSummary } from './commit-summary.ts'
export { GitPipelineStore } from './git-pipeline-store.ts'
export type { GitOutput, GitProcessListener, RunGitOptions } from './git-process.ts'
export { gitEnv, runGit } from './git-process.ts'
export type { GitHubProviderOptions } from './github-provider.ts'
export { GitHubProvider } from './github-provider.ts'
export type { GitLabProviderOptions } from './gitlab-provider.ts'
export { GitLabProvider } from './gitlab-provider.ts'
export type { PipelineHistoryEntry } from './history.ts'
export type { GitIdentity } from './identity.ts'
export { DEFAULT_COMMITTER } from './identity.ts'
export type { MigrateAllOptions, MigrateAllReport, MigrateAllResult, MigratedPipeline } from './migrate-types.ts'
export type { NameRule } from './names.ts'
export { assertBranchName, assertPipelineName, PIPELINE_FILE, PIPELINES_DIR, pipelinePath } from './names.ts'
export type {
  EdgeChange,
  EdgeSnapshot,
  NodeMove,
  NodeSummary,
  NodeTextChange,
  NodeValueChange,
  PipelineChanges,
  ValueChange,
} from './pipeline-diff.ts'
export { diffPipelineDocuments } from './pipeline-diff.ts'
export type {
  PipelineDocumentLike,
  PipelineEdgeLike,
  PipelineNodeLike,
  ValidatePipeline,
  ValidationOutcome,
} from './pipeline-document.ts'
export { checkPipelineShape } from './pipeline-document.ts'
export type { PullRequestInput, PullRequestProvider, PullRequestRef } from './pull-request-provider.ts'
export type { CloneRepositoryOptions, InitRepositoryOptions } from './repository-setup.ts'
export { cloneRepository, initRepository } from './repository-setup.ts'
export { stringifyPipeline } from './stable-json.ts'
export type { BranchInfo, BranchStatus, PullOptions, PullResult, PushOptions, PushResult } from './sync.ts'
export type {
  ExportResult,
  GitPipelineStoreOptions,
  GitWriteEvent,
  GitWriteListener,
  GitWriteOperation,
  GitWriteOutcome,
  HistoryOptions,
  ListOptions,
  PipelineDiff,
  PipelineList,
  PipelineProblem,
  PipelineSummary,
  ReadOptions,
  StoredPipeline,
} from './types.ts'
export type { CommitResult, PipelineChange, WriteOptions, WriteResult } from './write-types.ts'
