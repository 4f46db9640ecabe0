// How secret values travel to a driver: only the ones its plan references, never through its environment, the command
// line or JVM system properties; the runner keeps them in memory and redacts them from what it writes.
import type { ExecutionPlan, OptionValue } from '@sparkle-studio/core'

/** The prefix of the environment variables that held secret values before drivers stopped getting them that way. */
export const SECRET_ENV_PREFIX = 'SPARKLE_SECRET_'

/** What a secret value is replaced with in logs, events and messages. */
export const REDACTED = '***'

/** Names of the secrets a plan references (`{ "$secret": NAME }` in read and write options), sorted. */
export function referencedSecrets(plan: ExecutionPlan): string[] {
  const names = new Set<string>()
  const collect = (options: Readonly<Record<string, OptionValue>> | undefined) => {
    for (const value of Object.values(options ?? {})) {
      if (typeof value === 'object' && value !== null && typeof value.$secret === 'string') names.add(value.$secret)
    }
  }
  for (const step of plan.steps) {
    if (step.kind === 'read') collect(step.source.options)
    else if (step.kind === 'write') collect(step.target.options)
  }
  return [...names].sort()
}

/** The values of the secrets `plan` references, out of `secrets` (a referenced secret that is unknown is left out). */
export function secretsForPlan(plan: ExecutionPlan, secrets: Readonly<Record<string, string>>): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const name of referencedSecrets(plan)) {
    if (Object.hasOwn(secrets, name)) picked[name] = secrets[name] as string
  }
  return picked
}

/**
 * Splits an environment for a driver: `SPARKLE_SECRET_<NAME>` entries become secrets by name (handed over only when a
 * plan references them), everything else stays environment.
 */
export function splitSecretEnv(env: Readonly<Record<string, string>> | undefined): {
  readonly env: Record<string, string>
  readonly secrets: Record<string, string>
} {
  const rest: Record<string, string> = {}
  const secrets: Record<string, string> = {}
  for (const [key, value] of Object.entries(env ?? {})) {
    if (key.startsWith(SECRET_ENV_PREFIX)) secrets[key.slice(SECRET_ENV_PREFIX.length)] = value
    else rest[key] = value
  }
  return { env: rest, secrets }
}

/** `text` with every non-empty value of `secrets` replaced by {@link REDACTED} (longer values first). */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const values = [...new Set(secrets)].filter((v) => v.length > 0).sort((a, b) => b.length - a.length)
  let out = text
  for (const value of values) if (out.includes(value)) out = out.split(value).join(REDACTED)
  return out
}
