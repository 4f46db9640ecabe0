// A project outside the workspace that installs the packed packages with npm, as an outsider does.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { promisify } from 'node:util'

/** The workspace root. */
export const WORKSPACE = resolve(import.meta.dirname, '../../..')

/** The published packages, in dependency order. */
export const PACKAGES = ['core', 'git', 'spark', 'runs', 'server', 'client'] as const

/** Versions the consumer installs beside the packages (zod: the version core depends on, see installConsumer). */
const EXPRESS = '5.3.0'
const ESBUILD = '0.28.2'

/** The virtualenv with pyspark that `./sparkle setup` makes: for these tests, a reader's `pip install pyspark`. */
export const SPARK_VENV = join(WORKSPACE, '.tools', 'spark-venv')

const execFileAsync = promisify(execFile)

/** The environment of a child process as an outsider's shell has it: without the npm and pnpm settings of this run. */
export function outsiderEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_|^NODE_OPTIONS$|^VITEST/i.test(key)) env[key] = value
  }
  return { ...env, ...extra }
}

/** The zod version `@sparkle-studio/core` depends on: a custom component's schemas must use the same zod. */
export function coreZod(): string {
  const core = JSON.parse(readFileSync(join(WORKSPACE, 'packages', 'core', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>
  }
  const zod = core.dependencies['zod']
  if (!zod) throw new Error('@sparkle-studio/core does not depend on zod')
  return zod
}

/** The pyspark folder inside the virtualenv (what `SPARK_HOME` is set to in the one run that uses it). */
export function pysparkHome(): string {
  const lib = join(SPARK_VENV, 'lib')
  const python = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python3')) : undefined
  const home = python && join(lib, python, 'site-packages', 'pyspark')
  if (!home || !existsSync(join(home, 'bin', 'spark-submit'))) {
    throw new Error(`no pyspark in ${SPARK_VENV}: run ./sparkle setup (it pip-installs pyspark there)`)
  }
  return home
}

/**
 * The environment of a consumer's process that uses Spark, as a reader who ran `pip install pyspark` in a virtualenv
 * has it: the virtualenv active (`VIRTUAL_ENV`, its `bin` first on `PATH`) and neither `SPARK_HOME` nor
 * `SPARKLE_PYTHON` set; or, with `'SPARK_HOME'`, `SPARK_HOME` set to pyspark's folder and the virtualenv's `python3`
 * first on `PATH` (not activated).
 */
export function sparkEnv(
  how: 'virtualenv' | 'SPARK_HOME',
  extra: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  const bin = join(SPARK_VENV, 'bin')
  if (!existsSync(join(bin, 'python3'))) {
    throw new Error(`no virtualenv at ${SPARK_VENV}: run ./sparkle setup (it pip-installs pyspark there)`)
  }
  const env = outsiderEnv()
  delete env['SPARK_HOME']
  delete env['SPARKLE_PYTHON']
  delete env['VIRTUAL_ENV']
  delete env['PYTHONHOME']
  const path = (env['PATH'] ?? '').split(':').filter((p) => p !== '' && p !== bin)
  env['PATH'] = [bin, ...path].join(':')
  if (how === 'virtualenv') env['VIRTUAL_ENV'] = SPARK_VENV
  else env['SPARK_HOME'] = pysparkHome()
  return { ...env, ...extra }
}

/** The environment of a consumer's process on a machine without Spark: no SPARK_HOME, no pyspark on any Python. */
export function noSparkEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env = outsiderEnv()
  for (const key of ['SPARK_HOME', 'SPARKLE_PYTHON', 'VIRTUAL_ENV', 'PYTHONHOME']) delete env[key]
  const bin = join(SPARK_VENV, 'bin')
  env['PATH'] = (env['PATH'] ?? '')
    .split(':')
    .filter((p) => p !== '' && p !== bin)
    .join(':')
  return { ...env, ...extra }
}

/** Runs a command to completion; rejects with the command, its exit code and its output. */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv },
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? outsiderEnv(),
      maxBuffer: 64 * 1024 * 1024,
    })
    return stdout
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; message: string }
    throw new Error(
      `\`${cmd} ${args.join(' ')}\` in ${opts.cwd} failed (${String(e.code ?? e.message)}):\n${e.stderr ?? ''}${e.stdout ?? ''}`,
      { cause: error },
    )
  }
}

/** Fails, saying how to build, when a package has no `dist`: CI builds before the tests. */
export function assertBuilt(): void {
  const missing = PACKAGES.filter((p) => !existsSync(join(WORKSPACE, 'packages', p, 'dist', 'index.js')))
  if (missing.length > 0) {
    throw new Error(
      `${missing.map((p) => `packages/${p}/dist`).join(', ')} missing: build the packages first ` +
        '(`pnpm build`, i.e. pnpm -r --filter "./packages/*" run build); these tests pack what the build wrote',
    )
  }
}

/** `pnpm pack` of every package into `dir` (pnpm rewrites `workspace:*` to the version); the tarball paths by name. */
export async function packAll(dir: string): Promise<Record<string, string>> {
  const tarballs: Record<string, string> = {}
  for (const p of PACKAGES) {
    const out = await run('pnpm', ['pack', '--pack-destination', dir, '--json'], {
      cwd: join(WORKSPACE, 'packages', p),
      env: process.env,
    })
    const { name, filename } = JSON.parse(out) as { name: string; filename: string }
    tarballs[name] = filename
  }
  return tarballs
}

/** The directories above `dir` that hold a `node_modules` Node would search from `dir`. */
function outerNodeModules(dir: string): string[] {
  const found: string[] = []
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'))
    if (dirname(d) === d) return found
  }
}

const inside = (child: string, parent: string) => {
  const rel = relative(parent, child)
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..'
}

/** Fails unless the project at `app` is outside the workspace with no `node_modules` above it. */
function assertOutside(app: string): void {
  if (inside(app, realpathSync(WORKSPACE))) throw new Error(`${app} is inside the workspace ${WORKSPACE}`)
  const outer = outerNodeModules(app)
  if (outer.length > 0)
    throw new Error(`node_modules above the consumer project would be searched: ${outer.join(', ')}`)
}

/** Fails unless each named package resolves to a packed 0.1.0 inside `app`'s node_modules, with no nested copies. */
function assertInstalledFromTarballs(app: string, names: readonly string[]): void {
  const require = createRequire(join(app, 'package.json'))
  for (const name of names) {
    const manifest = realpathSync(require.resolve(`${name}/package.json`))
    if (!inside(manifest, join(app, 'node_modules')))
      throw new Error(`${name} resolves outside the consumer: ${manifest}`)
    const { version, dependencies = {} } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      version: string
      dependencies?: Record<string, string>
    }
    const unpacked = Object.entries(dependencies).filter(([, range]) => range.startsWith('workspace:'))
    if (version !== '0.1.0' || unpacked.length > 0) {
      throw new Error(`${name}@${version} installed with dependencies ${JSON.stringify(dependencies)}`)
    }
    const nested = join(dirname(manifest), 'node_modules', '@sparkle-studio')
    if (existsSync(nested)) throw new Error(`${name} has its own copy of the packages in ${nested}: overrides missed`)
  }
}

const fileSpecs = (tarballs: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]))

/**
 * Writes the consumer's package.json (the tarballs by `file:` path, with `overrides` so that the packages' own
 * `0.1.0` dependencies on each other resolve to the tarballs too; express, esbuild and the zod that core uses from the
 * registry) and runs `npm install`. Fails if anything could resolve from the workspace. The tests use this project for
 * their tools (esbuild, pg); each guide gets its own project (installGuideProject).
 */
export async function installConsumer(appDir: string, tarballs: Readonly<Record<string, string>>): Promise<void> {
  const app = realpathSync(appDir)
  assertOutside(app)
  const files = fileSpecs(tarballs)
  const pkg = {
    name: 'sparkle-consumer',
    private: true,
    type: 'module',
    dependencies: { ...files, express: EXPRESS, esbuild: ESBUILD, zod: coreZod() },
    overrides: files,
  }
  await writeFile(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app })
  assertInstalledFromTarballs(app, Object.keys(tarballs))
}

/**
 * A reader's project for one guide: a package.json with `"type": "module"`, then `npm install` with exactly the
 * guide's install arguments, where each `@sparkle-studio/*` name stands for its tarball (the packages are not on a
 * registry here; `overrides` send their dependencies on each other to the tarballs too) and every other argument goes
 * to the registry as written. What the guide forgets to install is then missing when its code runs.
 */
export async function installGuideProject(
  projectDir: string,
  installArgs: readonly string[],
  tarballs: Readonly<Record<string, string>>,
): Promise<void> {
  const app = realpathSync(projectDir)
  assertOutside(app)
  // Relative `file:` specs, as npm writes the direct dependencies it installs: an override must equal those.
  const relativeSpecs = Object.fromEntries(
    Object.entries(tarballs).map(([name, file]) => [name, `file:${relative(app, file)}`]),
  )
  const pkg = { name: 'sparkle-guide', private: true, type: 'module', overrides: relativeSpecs }
  await writeFile(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  const args = installArgs.map((arg) => {
    if (!arg.startsWith('@sparkle-studio/')) return arg
    const tarball = tarballs[arg]
    if (!tarball) throw new Error(`the guide installs ${arg}, which is not one of the packed packages`)
    return tarball
  })
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...args], { cwd: app })
  assertInstalledFromTarballs(
    app,
    installArgs.filter((a) => a.startsWith('@sparkle-studio/')),
  )
}

/**
 * Runs `node <file>` (Node runs TypeScript by stripping its types, as a reader's `node script.ts` does) in the consumer
 * project; resolves with its stdout and stderr, rejects with both when it exits non-zero.
 */
export async function runNode(
  file: string,
  opts: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly args?: readonly string[] },
): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [file, ...(opts.args ?? [])], {
      cwd: opts.cwd,
      env: opts.env,
      maxBuffer: 64 * 1024 * 1024,
    })
    return { stdout, stderr }
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; message: string }
    throw new Error(
      `\`node ${file}\` in ${opts.cwd} failed (${String(e.code ?? e.message)}):\n${e.stderr ?? ''}\n${e.stdout ?? ''}`,
      { cause: error },
    )
  }
}
