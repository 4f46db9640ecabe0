// Spark SQL's lexer (SqlBaseLexer of Spark 4.3, with its UpperCaseCharStream), reduced to what decides where tokens
// begin and end: strings and their prefixes, quoted identifiers, comments and hints, identifiers and numbers (which can
// swallow a following `r` or `--`), and symbols. A fragment is only as safe as this lexer is faithful: the property
// test in spark-parser.test.ts compares it with Spark's own parser.

/** What a token of Spark SQL is, as far as the fragment checks need to know. */
export type SparkTokenKind =
  /** Spaces, tabs, line breaks and the other characters Spark skips. */
  | 'whitespace'
  /** `-- …` up to and including its line break (a backslash before the line break continues it). */
  | 'line-comment'
  /** `/* … *\/`, nested ones included. */
  | 'block-comment'
  /** A string literal: `'…'` and `"…"` (backslash escapes, doubled quotes), raw `r'…'` and `R"…"` (no escapes). */
  | 'string'
  /** A backquoted identifier `` `…` `` (doubled backquotes). */
  | 'quoted-identifier'
  /** An identifier, keyword or number (`amount`, `SELECT`, `1.5E3`, `s3://bucket/key`). */
  | 'word'
  /** Punctuation and operators: `(`, `)`, `,`, `;`, `.`, `=`, …, the hint start `/*+` and the hint end `*\/`. */
  | 'symbol'
  /** A `{{ name }}` run parameter placeholder (only when lexing a template). */
  | 'placeholder'

/** One token of Spark SQL: its kind and where it lies in the text (`start` inclusive, `end` exclusive). */
export interface SparkToken {
  readonly kind: SparkTokenKind
  readonly start: number
  readonly end: number
  readonly text: string
}

/** Why a text is not made of Spark SQL tokens. */
export interface SparkLexProblem {
  /** `unterminated_quote`, `unterminated_comment` or `unrecognized_character`. */
  readonly code: 'unterminated_quote' | 'unterminated_comment' | 'unrecognized_character'
  /** A human-readable sentence with a fix. */
  readonly message: string
  /** Where the problem starts in the text. */
  readonly at: number
}

/** The tokens of a text, up to the first problem if there is one. */
export interface SparkLexResult {
  readonly tokens: readonly SparkToken[]
  readonly problem?: SparkLexProblem
}

/** Options of {@link lexSparkSql}. */
export interface LexSparkSqlOptions {
  /**
   * Read `{{ name }}` outside strings and comments as a placeholder token (a template); otherwise `{` is a character
   * Spark does not know.
   * @default false
   */
  readonly placeholders?: boolean | undefined
}

// SqlBaseLexer's WS rule.
const WHITESPACE = new Set([
  0x20, 0x09, 0x0a, 0x0c, 0x0d, 0x0b, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
  0x2008, 0x2009, 0x200a, 0x2028, 0x202f, 0x205f, 0x3000,
])
// Characters that start a symbol token; `@` is AT_SIGN in Spark 4.3 (AT_VERSION when a `v` follows). Not `$`, `{`, `}`, `#`, `\`: Spark does not know
// them outside strings (`$` starts a dollar-quoted string).
const SYMBOLS = '(),.;[]!=<>+-*/%~&|^:?@'
const URI_CHARS = '_/-.?=&#%'
const PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/y

function isAsciiDigit(cp: number): boolean {
  return cp >= 0x30 && cp <= 0x39
}

/**
 * A letter as Spark's lexer sees it ([\p{L}] after Java's upper-casing). When JavaScript and Java disagree, the text is
 * still safe: a character called a letter here that Spark does not know fails Spark's parse, and one not called a
 * letter here is refused by the checker.
 */
function isLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)
  const ch = String.fromCodePoint(cp)
  return /\p{L}/u.test(ch) || /\p{L}/u.test(ch.toUpperCase())
}

function isWordChar(cp: number): boolean {
  return isLetter(cp) || isAsciiDigit(cp) || cp === 0x5f
}

/** The character Spark's case-insensitive stream compares: ASCII upper case (Java maps `ı` to I and `ſ` to S). */
function upperAt(text: string, i: number): string {
  const cp = text.codePointAt(i)
  if (cp === undefined) return ''
  if (cp === 0x131) return 'I'
  if (cp === 0x17f) return 'S'
  return cp < 0x80 ? String.fromCharCode(cp).toUpperCase() : String.fromCodePoint(cp)
}

function codePointSize(cp: number): number {
  return cp > 0xffff ? 2 : 1
}

function digitsEnd(text: string, i: number): number {
  let j = i
  while (isAsciiDigit(text.charCodeAt(j))) j++
  return j
}

/** isValidDecimal(): a decimal token may not be followed by a letter A-Z, a digit or `_`. */
function validDecimalEnd(text: string, end: number): boolean {
  return !/^[A-Z0-9_]$/.test(upperAt(text, end))
}

/** The end of `E [+-]? DIGIT+` at `i`, or -1. */
function exponentEnd(text: string, i: number): number {
  if (upperAt(text, i) !== 'E') return -1
  let j = i + 1
  if (text[j] === '+' || text[j] === '-') j++
  return isAsciiDigit(text.charCodeAt(j)) ? digitsEnd(text, j) : -1
}

/** The longest numeric literal at `i` (a digit, or `.` before a digit), honouring isValidDecimal(); -1 when none. */
function numberEnd(text: string, i: number): number {
  let best = -1
  const take = (end: number, checked: boolean) => {
    if (end > best && (!checked || validDecimalEnd(text, end))) best = end
  }
  const suffixes = (at: number, checked: boolean) => {
    const u = upperAt(text, at)
    if (u === 'F' || u === 'D') take(at + 1, checked)
    if (u === 'B' && upperAt(text, at + 1) === 'D') take(at + 2, checked)
  }
  // DECIMAL_DIGITS [EXPONENT] [F|D|BD], each form with isValidDecimal().
  const decimal = (fractionStart: number) => {
    const f = digitsEnd(text, fractionStart)
    take(f, true)
    suffixes(f, true)
    const e = exponentEnd(text, f)
    if (e > 0) {
      take(e, true)
      suffixes(e, true)
    }
  }
  if (isAsciiDigit(text.charCodeAt(i))) {
    // DIGIT+ [L|S|Y] lie within an identifier's run; DIGIT+ EXPONENT [F|D|BD] and DIGIT+ (F|D|BD) have no predicate.
    const d = digitsEnd(text, i)
    take(d, false)
    suffixes(d, false)
    const e = exponentEnd(text, d)
    if (e > 0) {
      take(e, false)
      suffixes(e, false)
    }
    if (text[d] === '.') decimal(d + 1)
  } else if (text[i] === '.' && isAsciiDigit(text.charCodeAt(i + 1))) {
    decimal(i + 1)
  }
  return best
}

/** The end of the identifier, keyword or number at `i` (longest match), or -1 when none starts there. */
function wordEnd(text: string, i: number): number {
  let best = numberEnd(text, i)
  const first = text.codePointAt(i) ?? 0
  if (!isWordChar(first)) return best
  // IDENTIFIER: (UNICODE_LETTER | DIGIT | '_')+
  let j = i
  for (let cp = text.codePointAt(j); cp !== undefined && isWordChar(cp); cp = text.codePointAt(j))
    j += codePointSize(cp)
  best = Math.max(best, j)
  // IDENTIFIER: UNICODE_LETTER+ '://' (UNICODE_LETTER | DIGIT | '_' | '/' | '-' | '.' | '?' | '=' | '&' | '#' | '%')+
  let k = i
  for (let cp = text.codePointAt(k); cp !== undefined && isLetter(cp); cp = text.codePointAt(k)) k += codePointSize(cp)
  if (k > i && text.startsWith('://', k)) {
    let m = k + 3
    for (let cp = text.codePointAt(m); cp !== undefined; cp = text.codePointAt(m)) {
      if (!(isLetter(cp) || isAsciiDigit(cp) || URI_CHARS.includes(String.fromCodePoint(cp)))) break
      m += codePointSize(cp)
    }
    if (m > k + 3) best = Math.max(best, m)
  }
  return best
}

/**
 * Splits a text into Spark SQL tokens the way Spark 4.3's lexer does (case-insensitive, longest match): string
 * literals with their escapes and prefixes, backquoted identifiers, `--` comments with their line continuations, nested
 * block comments, hints, identifiers and numbers. Stops at the first problem: an unterminated string or comment, or a
 * character Spark does not know outside strings and comments (`$`, `{`, `#`, `\`, control characters, …).
 *
 * @example
 * ```ts
 * import { lexSparkSql } from '@sparkle-studio/core'
 *
 * lexSparkSql("r'\\' || x").tokens.map((t) => t.kind) // => ['string', 'whitespace', 'symbol', 'symbol', 'whitespace', 'word']
 * ```
 */
export function lexSparkSql(text: string, options: LexSparkSqlOptions = {}): SparkLexResult {
  const tokens: SparkToken[] = []
  const n = text.length
  let i = 0
  const push = (kind: SparkTokenKind, end: number) => {
    tokens.push({ kind, start: i, end, text: text.slice(i, end) })
    i = end
  }
  const fail = (problem: SparkLexProblem): SparkLexResult => ({ tokens, problem })
  while (i < n) {
    const cp = text.codePointAt(i) as number
    const ch = text[i] as string
    const next = text[i + 1]
    if (WHITESPACE.has(cp)) {
      let j = i + 1
      while (j < n && WHITESPACE.has(text.charCodeAt(j))) j++
      push('whitespace', j)
    } else if (ch === '-' && next === '-') {
      // SIMPLE_COMMENT: '--' ('\\\n' | ~[\r\n])* '\r'? '\n'?
      let j = i + 2
      while (j < n && text[j] !== '\r' && text[j] !== '\n') j += text[j] === '\\' && text[j + 1] === '\n' ? 2 : 1
      if (j >= n) {
        return fail({
          code: 'unterminated_comment',
          message:
            'has a -- comment that does not end with a line break, so it would swallow what follows it. Fix: end the comment with a line break, or remove it',
          at: i,
        })
      }
      if (text[j] === '\r') j++
      if (text[j] === '\n') j++
      push('line-comment', j)
    } else if (ch === '/' && next === '*') {
      if (text[i + 2] === '+') {
        push('symbol', i + 3)
        continue
      }
      // BRACKETED_COMMENT, nested; '/*+' inside a comment opens nothing.
      let depth = 1
      let j = i + 2
      while (j < n && depth > 0) {
        if (text[j] === '*' && text[j + 1] === '/') {
          depth--
          j += 2
        } else if (text[j] === '/' && text[j + 1] === '*' && text[j + 2] !== '+') {
          depth++
          j += 2
        } else j++
      }
      if (depth > 0) {
        return fail({
          code: 'unterminated_comment',
          message: 'has a /* comment that is not closed (comments nest: each /* needs its */). Fix: close it with */',
          at: i,
        })
      }
      push('block-comment', j)
    } else if (ch === '*' && next === '/') {
      push('symbol', i + 2)
    } else if ((ch === 'r' || ch === 'R') && (next === "'" || next === '"')) {
      // STRING_LITERAL: 'R\'' (~'\'')* '\'' | 'R"' (~'"')* '"' — ends at the first quote, backslashes are plain.
      const close = text.indexOf(next, i + 2)
      if (close === -1) return fail(unterminated(next, i))
      push('string', close + 1)
    } else if (ch === "'" || ch === '"' || ch === '`') {
      // '…' and "…": backslash escapes and doubled quotes; `…`: doubled backquotes only.
      let j = i + 1
      let closed = false
      while (j < n) {
        const c = text[j]
        if (c === '\\' && ch !== '`') j += 2
        else if (c === ch) {
          if (text[j + 1] === ch) j += 2
          else {
            j++
            closed = true
            break
          }
        } else j++
      }
      if (!closed) return fail(unterminated(ch, i))
      push(ch === '`' ? 'quoted-identifier' : 'string', j)
    } else if (ch === '{' && options.placeholders) {
      PLACEHOLDER.lastIndex = i
      const m = PLACEHOLDER.exec(text)
      if (!m) return fail(unrecognized(text, i))
      push('placeholder', i + m[0].length)
    } else {
      const end = wordEnd(text, i)
      if (end > i) push('word', end)
      // AT_VERSION (`@v`, time travel to a table version) is one token in Spark 4.3: `@VALUES` is `@V` then `ALUES`.
      else if (ch === '@' && (text[i + 1] === 'v' || text[i + 1] === 'V')) push('symbol', i + 2)
      else if (SYMBOLS.includes(ch)) push('symbol', i + 1)
      else return fail(unrecognized(text, i))
    }
  }
  return { tokens }
}

function unterminated(quote: string, at: number): SparkLexProblem {
  return {
    code: 'unterminated_quote',
    message: `has an unterminated ${quote} quote. Fix: close it (inside '…' and "…" a backslash escapes the next character; r'…' takes backslashes as they are)`,
    at,
  }
}

function unrecognized(text: string, at: number): SparkLexProblem {
  const cp = text.codePointAt(at) ?? 0
  const shown =
    cp < 0x20 || cp === 0x7f ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `"${String.fromCodePoint(cp)}"`
  return {
    code: 'unrecognized_character',
    message: `has a character Spark SQL does not read outside quotes: ${shown} at position ${at}. Fix: remove it, or put it inside a string literal`,
    at,
  }
}

/** True for tokens Spark skips: whitespace and comments. */
export function isHiddenToken(token: SparkToken): boolean {
  return token.kind === 'whitespace' || token.kind === 'line-comment' || token.kind === 'block-comment'
}
