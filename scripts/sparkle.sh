#!/usr/bin/env bash
# The implementation behind ./sparkle. Every step is idempotent: a second run reuses what is installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"

# Pinned versions. Change them here only.
NODE_VERSION="24.21.0"          # official Node binary, from the npm registry's node-<os>-<arch> package
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$ROOT/package.json")"
PYSPARK_VERSION="4.3.0"         # newest pyspark on PyPI; runs on Java 17 (checked: spark-submit local[*])
SCHEMATHESIS_VERSION="4.32.5"   # newest schemathesis on PyPI: the API fuzzer the OpenAPI tests run (tests only)
MOTO_VERSION="5.2.5"            # newest moto on PyPI: its server mode is the S3 stand-in of the artifact storage tests
OPENLINEAGE_VERSION="1.54.0"    # newest openlineage-python on PyPI: the official client checks the lineage events in tests
# PySpark's own Spark Connect client, the anchor of bench/src/spark-connect.bench.ts (bench only): pyspark[connect] at
# PYSPARK_VERSION, every dependency pinned to what pip resolved (pandas < 3: pyspark 4.3.0 warns it does not fully
# support pandas 3).
CONNECT_BENCH_PACKAGES="pyspark[connect]==$PYSPARK_VERSION py4j==0.10.9.9 pandas==2.3.3 pyarrow==26.0.1 numpy==2.4.6"
CONNECT_BENCH_PACKAGES+=" grpcio==1.85.3 grpcio-status==1.85.3 googleapis-common-protos==1.76.0 protobuf==7.36.2"
CONNECT_BENCH_PACKAGES+=" zstandard==0.25.0 python-dateutil==4.0.0 pytz==2026.6 tzdata==2026.6 typing-extensions==4.16.0"
MIN_NODE_MAJOR=22
MIN_JAVA_MAJOR=17

say() { printf '\033[1;36m[sparkle]\033[0m %s\n' "$*" >&2; }
die() {
  # One line: the cause, then the fix.
  printf '\033[1;31m[sparkle] error:\033[0m %s\n' "$*" >&2
  exit 1
}

platform_package() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported OS $(uname -s): install Node >= $MIN_NODE_MAJOR yourself and put it on PATH" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported CPU $(uname -m): install Node >= $MIN_NODE_MAJOR yourself and put it on PATH" ;;
  esac
  echo "node-$os-$arch"
}

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  mkdir -p "$TOOLS/bin"
  local sys_node
  sys_node="$(command -v node || true)"
  if [[ -x "$TOOLS/node/bin/node" ]] && [[ "$(cat "$TOOLS/node/VERSION" 2>/dev/null)" == "$NODE_VERSION" ]]; then
    :
  elif [[ -n "$sys_node" && "$sys_node" != "$TOOLS/bin/node" ]] && (($(node_major "$sys_node") >= MIN_NODE_MAJOR)); then
    ln -sf "$sys_node" "$TOOLS/bin/node"
    return
  else
    local pkg
    pkg="$(platform_package)"
    command -v npm >/dev/null || die "no npm found to fetch Node $NODE_VERSION: install Node >= $MIN_NODE_MAJOR (with npm) and re-run"
    say "installing Node $NODE_VERSION ($pkg from the npm registry) into .tools/node"
    rm -rf "$TOOLS/node" "$TOOLS/node-pkg"
    mkdir -p "$TOOLS/node-pkg"
    npm install --no-save --no-package-lock --loglevel=error --prefix "$TOOLS/node-pkg" "$pkg@$NODE_VERSION" >/dev/null
    mv "$TOOLS/node-pkg/node_modules/$pkg" "$TOOLS/node"
    rm -rf "$TOOLS/node-pkg"
    echo "$NODE_VERSION" >"$TOOLS/node/VERSION"
  fi
  ln -sf "$TOOLS/node/bin/node" "$TOOLS/bin/node"
}

ensure_pnpm() {
  local pkg="$TOOLS/pnpm/node_modules/pnpm"
  if [[ ! -f "$pkg/package.json" ]] || [[ "$(cat "$TOOLS/pnpm/VERSION" 2>/dev/null)" != "$PNPM_VERSION" ]]; then
    say "installing pnpm $PNPM_VERSION (npm package) into .tools/pnpm"
    rm -rf "$TOOLS/pnpm"
    mkdir -p "$TOOLS/pnpm"
    npm install --no-save --no-package-lock --ignore-scripts --loglevel=error --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >/dev/null
    echo "$PNPM_VERSION" >"$TOOLS/pnpm/VERSION"
  fi
  local entry
  entry="$pkg/$("$TOOLS/bin/node" -p "const b=require('$pkg/package.json').bin; typeof b==='string'?b:b.pnpm")"
  cat >"$TOOLS/bin/pnpm" <<SH
#!/usr/bin/env bash
exec "$TOOLS/bin/node" "$entry" "\$@"
SH
  chmod +x "$TOOLS/bin/pnpm"
}

use_tools() {
  export PATH="$TOOLS/bin:$ROOT/node_modules/.bin:$PATH"
  export COREPACK_ENABLE_STRICT=0
}

ensure_deps() {
  local stamp="$ROOT/node_modules/.sparkle-install-stamp"
  if [[ -f "$stamp" && "$stamp" -nt "$ROOT/pnpm-lock.yaml" ]] && [[ "$(cat "$stamp")" == "$(node -v)" ]]; then
    return
  fi
  say "installing dependencies (pnpm install --frozen-lockfile)"
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=append-only) >&2
  node -v >"$stamp"
}

ensure_java() {
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  if ! command -v "$java" >/dev/null 2>&1; then
    die "Java not found (Spark needs Java $MIN_JAVA_MAJOR+): install a JDK 17 or 21 (e.g. 'apt-get install openjdk-17-jdk-headless') or set JAVA_HOME"
  fi
  local version major
  version="$("$java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${version%%.*}"
  [[ "$major" == "1" ]] && major="$(echo "$version" | cut -d. -f2)"
  if [[ -z "$major" ]] || ((major < MIN_JAVA_MAJOR)); then
    die "Java ${version:-unknown} is too old (Spark 4 needs Java $MIN_JAVA_MAJOR+): install a JDK 17 or 21 and set JAVA_HOME to it"
  fi
}

ensure_spark() {
  if [[ -n "${SPARK_HOME:-}" ]]; then
    [[ -x "$SPARK_HOME/bin/spark-submit" ]] ||
      die "SPARK_HOME=$SPARK_HOME is not a Spark installation (no executable bin/spark-submit): point it at a Spark 4 distribution, or unset it to let setup install pyspark $PYSPARK_VERSION"
    export SPARKLE_PYTHON="${SPARKLE_PYTHON:-$(command -v python3 || true)}"
    return
  fi
  local venv="$TOOLS/spark-venv"
  if [[ "$(cat "$venv/PYSPARK_VERSION" 2>/dev/null)" != "$PYSPARK_VERSION" ]]; then
    command -v python3 >/dev/null || die "python3 not found (needed to install pyspark): install Python 3.10+ with venv, or set SPARK_HOME to a Spark 4 distribution"
    say "installing pyspark $PYSPARK_VERSION from PyPI into .tools/spark-venv (about 450 MB, once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install the venv module (e.g. 'apt-get install python3-venv') or set SPARK_HOME"
    local progress=on
    [[ -n "${CI:-}" ]] && progress=off
    "$venv/bin/pip" install --disable-pip-version-check --progress-bar "$progress" "pyspark==$PYSPARK_VERSION" >&2 ||
      die "pip could not install pyspark $PYSPARK_VERSION: check that PyPI is reachable, or set SPARK_HOME to a Spark 4 distribution"
    echo "$PYSPARK_VERSION" >"$venv/PYSPARK_VERSION"
  fi
  export SPARK_HOME="$venv/lib/$(ls "$venv/lib" | head -n1)/site-packages/pyspark"
  export SPARKLE_PYTHON="$venv/bin/python"
  [[ -x "$SPARK_HOME/bin/spark-submit" ]] || die "the pyspark install in .tools/spark-venv is broken: delete .tools/spark-venv and re-run"
}

ensure_postgres() {
  # Tests use TEST_DATABASE_URL (a server they may create throwaway databases on); the default is this machine's cluster.
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if node "$ROOT/scripts/pg-ping.mjs" "$TEST_DATABASE_URL" 2>/dev/null; then return; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
    say "PostgreSQL is not answering; starting the local cluster with pg_ctlcluster"
    local v
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 || true; done
    for _ in $(seq 1 30); do
      node "$ROOT/scripts/pg-ping.mjs" "$TEST_DATABASE_URL" 2>/dev/null && return
      sleep 1
    done
  fi
  node "$ROOT/scripts/pg-ping.mjs" "$TEST_DATABASE_URL" ||
    die "PostgreSQL unreachable at $(echo "$TEST_DATABASE_URL" | sed -E 's#://[^@/]*@#://***@#'): start it (pg_ctlcluster <version> main start) or set TEST_DATABASE_URL to a server you can create databases on"
}

ensure_schemathesis() {
  # The OpenAPI tests fuzz the live server with schemathesis (a Python CLI): its own venv, pinned, tests only.
  local venv="$TOOLS/schemathesis-venv"
  if [[ "$(cat "$venv/SCHEMATHESIS_VERSION" 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into .tools/schemathesis-venv (tests only, once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install the venv module (e.g. 'apt-get install python3-venv')"
    "$venv/bin/pip" install --disable-pip-version-check --progress-bar off --quiet "schemathesis==$SCHEMATHESIS_VERSION" >&2 ||
      die "pip could not install schemathesis $SCHEMATHESIS_VERSION: check that PyPI is reachable"
    echo "$SCHEMATHESIS_VERSION" >"$venv/SCHEMATHESIS_VERSION"
  fi
  export SPARKLE_SCHEMATHESIS="$venv/bin/schemathesis"
}

ensure_moto() {
  # The S3 artifact storage tests run against moto's server mode (a Python S3 stand-in): its own venv, pinned.
  local venv="$TOOLS/moto-venv"
  if [[ "$(cat "$venv/MOTO_VERSION" 2>/dev/null)" != "$MOTO_VERSION" ]]; then
    command -v python3 >/dev/null || die "python3 not found (the S3 stand-in of the tests needs it): install Python 3.10+ with venv"
    say "installing moto[server] $MOTO_VERSION from PyPI into .tools/moto-venv (the tests' S3 stand-in, once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install the venv module (e.g. 'apt-get install python3-venv')"
    "$venv/bin/pip" install --disable-pip-version-check --progress-bar off --quiet "moto[server]==$MOTO_VERSION" >&2 ||
      die "pip could not install moto[server] $MOTO_VERSION: check that PyPI is reachable"
    echo "$MOTO_VERSION" >"$venv/MOTO_VERSION"
  fi
  export SPARKLE_MOTO_SERVER="$venv/bin/moto_server"
}

ensure_openlineage() {
  # The lineage tests check OpenLineage events with the official Python client (classes generated from the spec): its
  # own venv, pinned, tests only.
  local venv="$TOOLS/openlineage-venv"
  if [[ "$(cat "$venv/OPENLINEAGE_VERSION" 2>/dev/null)" != "$OPENLINEAGE_VERSION" ]]; then
    command -v python3 >/dev/null || die "python3 not found (the OpenLineage checker of the tests needs it): install Python 3.10+ with venv"
    say "installing openlineage-python $OPENLINEAGE_VERSION from PyPI into .tools/openlineage-venv (the tests' lineage checker, once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install the venv module (e.g. 'apt-get install python3-venv')"
    "$venv/bin/pip" install --disable-pip-version-check --progress-bar off --quiet "openlineage-python==$OPENLINEAGE_VERSION" >&2 ||
      die "pip could not install openlineage-python $OPENLINEAGE_VERSION: check that PyPI is reachable"
    echo "$OPENLINEAGE_VERSION" >"$venv/OPENLINEAGE_VERSION"
  fi
  export SPARKLE_OPENLINEAGE_PYTHON="$venv/bin/python"
}

ensure_connect_bench() {
  # The Spark Connect benchmark runs the same queries through PySpark's Connect client: its own venv, pinned, bench only.
  local venv="$TOOLS/connect-bench-venv"
  if [[ "$(cat "$venv/PACKAGES" 2>/dev/null)" != "$CONNECT_BENCH_PACKAGES" ]]; then
    command -v python3 >/dev/null || die "python3 not found (the Spark Connect benchmark's PySpark anchor needs it): install Python 3.10+ with venv"
    say "installing pyspark[connect] $PYSPARK_VERSION from PyPI into .tools/connect-bench-venv (the Spark Connect benchmark's anchor, once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install the venv module (e.g. 'apt-get install python3-venv')"
    # shellcheck disable=SC2086 # the list is split on purpose
    "$venv/bin/pip" install --disable-pip-version-check --progress-bar off --quiet $CONNECT_BENCH_PACKAGES >&2 ||
      die "pip could not install pyspark[connect] $PYSPARK_VERSION: check that PyPI is reachable"
    echo "$CONNECT_BENCH_PACKAGES" >"$venv/PACKAGES"
  fi
  export SPARKLE_CONNECT_BENCH_PYTHON="$venv/bin/python"
}

selects_connect_bench() {
  # True when `./sparkle bench <names...>` runs spark-connect.bench.ts: no name (all), or a name its file contains.
  local a n=0
  for a in "$@"; do
    [[ "$a" == "--" ]] && continue
    n=$((n + 1))
    [[ "spark-connect.bench.ts" == *"$a"* ]] && return 0
  done
  ((n == 0))
}

ensure_build() {
  say "building packages"
  local out
  if ! out="$(cd "$ROOT" && pnpm -r --filter "./packages/*" run build 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "the build failed (output above): fix the error, or run ./sparkle pnpm install if dependencies changed"
  fi
}

setup() {
  ensure_node
  ensure_pnpm
  use_tools
  ensure_deps
  ensure_java
  ensure_spark
}

cmd="${1:-help}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  setup)
    setup
    ensure_build
    say "ready: node $(node -v), pnpm $(pnpm -v), Spark at $SPARK_HOME"
    ;;
  demo)
    setup
    ensure_build
    cd "$ROOT" && exec pnpm --silent --filter @sparkle-studio/example-scripts run demo -- "$@"
    ;;
  test)
    setup
    ensure_postgres
    ensure_schemathesis
    ensure_moto
    ensure_openlineage
    export SPARKLE_REQUIRE_SERVICES=1
    cd "$ROOT" && exec bash "$ROOT/scripts/test-all.sh" "$@"
    ;;
  docs)
    setup
    ensure_build
    cd "$ROOT" && exec pnpm run docs
    ;;
  bench)
    setup
    ensure_postgres
    ensure_moto
    if selects_connect_bench "$@"; then ensure_connect_bench; fi
    ensure_build
    cd "$ROOT" && exec pnpm --silent run bench -- "$@"
    ;;
  env)
    setup >/dev/null
    echo "export PATH=\"$PATH\" SPARK_HOME=\"$SPARK_HOME\" SPARKLE_PYTHON=\"$SPARKLE_PYTHON\""
    ;;
  pnpm)
    ensure_node
    ensure_pnpm
    use_tools
    cd "$ROOT" && exec pnpm "$@"
    ;;
  help | -h | --help)
    sed -n '2,12p' "$ROOT/sparkle" | sed 's/^# \{0,1\}//'
    ;;
  *) die "unknown command '$cmd': run ./sparkle help" ;;
esac
