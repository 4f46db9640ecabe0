// A project outside the workspace that installs the packed packages with npm, as an outsider does.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { promisify } from 'node:util'

/** The workspace root. */
export const WORKSPACE = resolve(import.meta.dirname, '../../..')

/** The published packages, in dependency order. */
export const PACKAGES = ['core', 'git', 'spark', 'runs', 'server', 'client'] as const

/** Versions the consumer installs beside the packages. */
const EXPRESS = '5.3.0'
const ESBUILD = '0.28.2'

const execFileAsync = promisify(execFile)

/** The environment of a child process as an outsider's shell has it: without the npm and pnpm settings of this run. */
export function outsiderEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_|^NODE_OPTIONS$|^VITEST/i.test(key)) env[key] = value
  }
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

/**
 * Writes the consumer's package.json (the tarballs by `file:` path, with `overrides` so that the packages' own
 * `0.1.0` dependencies on each other resolve to the tarballs too, express and esbuild from the registry) and runs
 * `npm install`. Fails if anything could resolve from the workspace.
 */
export async function installConsumer(appDir: string, tarballs: Readonly<Record<string, string>>): Promise<void> {
  const app = realpathSync(appDir)
  if (inside(app, realpathSync(WORKSPACE))) throw new Error(`${app} is inside the workspace ${WORKSPACE}`)
  const outer = outerNodeModules(app)
  if (outer.length > 0)
    throw new Error(`node_modules above the consumer project would be searched: ${outer.join(', ')}`)

  const files = Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]))
  const pkg = {
    name: 'sparkle-consumer',
    private: true,
    type: 'module',
    dependencies: { ...files, express: EXPRESS, esbuild: ESBUILD },
    overrides: files,
  }
  await writeFile(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app })

  const require = createRequire(join(app, 'package.json'))
  for (const name of Object.keys(tarballs)) {
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
