function escapeProperty(text: string, isKey: boolean): string {
  let out = ''
  for (const [i, ch] of [...text].entries()) {
    if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\f') out += '\\f'
    else if ((isKey || i === 0) && (ch === ' ' || ch === '=' || ch === ':' || ch === '#' || ch === '!'))
      out += `\\${ch}`
    else out += ch
  }
  return out
}

/**
 * Renders Spark configuration as a Java properties file (read by spark-submit's `--properties-file` as UTF-8).
 * Values go through a file, not the command line, so that resolved secrets never show in the process list.
 */
export function toPropertiesFile(conf: Readonly<Record<string, string>>): string {
  return Object.entries(conf)
    .map(([k, v]) => `${escapeProperty(k, true)}=${escapeProperty(v, false)}\n`)
    .join('')
}
