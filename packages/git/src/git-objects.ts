/** One entry of a git tree object. */
export interface TreeEntry {
  /** Octal mode as git writes it: `100644` file, `100755` executable, `40000` folder, `120000` link, `160000` submodule. */
  readonly mode: string
  /** The entry's name inside its folder. */
  readonly name: string
  /** Object id (hex). */
  readonly oid: string
}

/** True when a tree entry is a folder. */
export function isTreeEntry(entry: TreeEntry): boolean {
  return entry.mode === '40000' || entry.mode === '040000'
}

/** True when a tree entry is a regular file. */
export function isBlobEntry(entry: TreeEntry): boolean {
  return entry.mode === '100644' || entry.mode === '100755'
}

/**
 * Parses the binary body of a tree object: entries `<mode> <name>\0<raw id>`, the raw id being `idBytes` long (20 for
 * SHA-1, 32 for SHA-256).
 */
export function parseTree(data: Buffer, idBytes: number): TreeEntry[] {
  const entries: TreeEntry[] = []
  let i = 0
  while (i < data.length) {
    const space = data.indexOf(0x20, i)
    const nul = data.indexOf(0, space)
    if (space < 0 || nul < 0 || nul + 1 + idBytes > data.length) throw new Error('malformed tree object')
    entries.push({
      mode: data.toString('latin1', i, space),
      name: data.toString('utf8', space + 1, nul),
      oid: data.toString('hex', nul + 1, nul + 1 + idBytes),
    })
    i = nul + 1 + idBytes
  }
  return entries
}

/** A person and time as recorded in a commit. */
export interface GitSignature {
  /** Display name. */
  readonly name: string
  /** E-mail address. */
  readonly email: string
  /** ISO 8601 time with the author's UTC offset (see {@link isoDate}), e.g. `2026-11-02T09:30:00+01:00`. */
  readonly date: string
}

/** The parts of a commit object the store uses. */
export interface CommitObject {
  /** The commit's id. */
  readonly oid: string
  /** Its root tree. */
  readonly tree: string
  /** Parent commit ids, first parent first. */
  readonly parents: readonly string[]
  /** Who wrote the change. */
  readonly author: GitSignature
  /** Who made the commit. */
  readonly committer: GitSignature
  /** Author time in git's internal format (`<seconds> <offset>`), to keep it when a commit is replayed. */
  readonly authorTime: string
  /** Committer time in seconds since the epoch, for ordering history walks. */
  readonly committedAt: number
  /** The full commit message. */
  readonly message: string
}

/**
 * A git time (`<seconds>`, `<offset>` as `+hhmm`) in ISO 8601 with the offset, `Z` for UTC, e.g.
 * `2026-11-02T09:30:00+01:00`. Every date this package reports goes through it (git's own `%aI` spells UTC `Z` or
 * `+00:00` depending on its version), so a commit's date is the same string in a list, a history and a write's result.
 */
export function isoDate(seconds: number, tz: string): string {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(tz)
  const sign = m?.[1] === '-' ? -1 : 1
  const offsetMinutes = m ? sign * (Number(m[2]) * 60 + Number(m[3])) : 0
  const local = new Date((seconds + offsetMinutes * 60) * 1000).toISOString().slice(0, 19)
  if (offsetMinutes === 0) return `${local}Z`
  const abs = Math.abs(offsetMinutes)
  return `${local}${sign < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

/** The ISO 8601 form of git's raw time `<seconds> <offset>` (as `--date=raw` and commit objects write it). */
export function isoFromRaw(raw: string): string {
  const [seconds = '0', tz = '+0000'] = raw.trim().split(' ')
  return isoDate(Number(seconds), tz)
}

function parseSignature(value: string): { signature: GitSignature; seconds: number; raw: string } {
  const m = /^(.*?) ?<([^>]*)> (\d+) ([+-]\d{4})$/.exec(value)
  if (!m) return { signature: { name: value, email: '', date: new Date(0).toISOString() }, seconds: 0, raw: '0 +0000' }
  const seconds = Number(m[3])
  return {
    signature: { name: m[1] ?? '', email: m[2] ?? '', date: isoDate(seconds, m[4] ?? '+0000') },
    seconds,
    raw: `${seconds} ${m[4] ?? '+0000'}`,
  }
}

/** Parses the body of a commit object (headers, a blank line, the message). */
export function parseCommit(oid: string, data: Buffer): CommitObject {
  const text = data.toString('utf8')
  const split = text.indexOf('\n\n')
  const head = split < 0 ? text : text.slice(0, split)
  const message = split < 0 ? '' : text.slice(split + 2)
  let tree = ''
  const parents: string[] = []
  let author = parseSignature('')
  let committer = parseSignature('')
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue
    const space = line.indexOf(' ')
    const key = line.slice(0, space)
    const value = line.slice(space + 1)
    if (key === 'tree') tree = value
    else if (key === 'parent') parents.push(value)
    else if (key === 'author') author = parseSignature(value)
    else if (key === 'committer') committer = parseSignature(value)
  }
  return {
    oid,
    tree,
    parents,
    author: author.signature,
    committer: committer.signature,
    authorTime: author.raw,
    committedAt: committer.seconds,
    message,
  }
}
