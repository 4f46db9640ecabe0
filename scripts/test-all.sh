#!/usr/bin/env bash
# Every check CI runs, in order; called by `./sparkle test` after set-up (Node, pnpm, deps, Java, Spark, PostgreSQL).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n\033[1;36m[sparkle test]\033[0m %s\n' "$*" >&2; }

step "lint and format (biome)"
pnpm biome ci .

step "build (tsdown)"
pnpm -r --filter "./packages/*" run build >/dev/null

step "typecheck (packages from source; examples and guides against the build)"
pnpm -r --parallel run typecheck

step "package checks (publint, arethetypeswrong)"
pnpm -r --filter "./packages/*" run check:package >/dev/null
echo "publint and attw: all packages pass"

step "docs site (guides and API reference in one typedoc build: warnings are errors, no broken links)"
pnpm run docs

step "tests (vitest: real Spark, PostgreSQL and git)"
rm -f .vitest-reports/results.json
status=0
pnpm vitest run "$@" || status=$?
node scripts/test-summary.mjs .vitest-reports/results.json || status=1
exit "$status"
