/**
 * Word splitting and quoting for `iptables-restore` / `iptables-save` / `ipset` text (pure).
 *
 * The restore parsers split on blanks and honour double quotes. For iptables, a backslash inside
 * quotes escapes the next character, and `iptables-save` quotes comments and prefixes that way
 * (`--comment "a \"b\" c"`). ipset quotes comments but knows no escapes. Single quotes carry no
 * meaning for either.
 */

/** Thrown for text that cannot be split into words (an unterminated quote). */
export class TokenizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizeError';
  }
}

/**
 * Splits one line into words, removing quotes. With `escapes` (iptables, the default) a backslash
 * inside quotes escapes the next character; ipset has no escapes (its comments cannot hold `"`).
 */
export function splitWords(line: string, opts: { readonly escapes?: boolean } = {}): string[] {
  const escapes = opts.escapes ?? true;
  // Most lines (every ipset member, most rules) hold no quote: split them the cheap way.
  if (!line.includes('"')) return line.split(/[ \t]+/).filter((w) => w !== '');
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (escapes && ch === '\\' && i + 1 < line.length) {
        cur += line[++i]!;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cur += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoted = true;
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quoted) throw new TokenizeError(`unterminated quote in ${JSON.stringify(line)}`);
  if (inWord) words.push(cur);
  return words;
}

/** Throws when a word cannot be carried on one restore line (line breaks, NUL). */
export function assertWordFits(word: string, where: string): void {
  if (/[\n\r\0]/.test(word)) throw new TypeError(`${where}: ${JSON.stringify(word)} contains a line break or NUL, which a restore input cannot carry`);
}

/** Always quotes (`"..."` with `"`, `\` and `'` escaped by a backslash). */
export function quoteAlways(word: string): string {
  return `"${word.replace(/[\\"']/g, (c) => `\\${c}`)}"`;
}

/**
 * A string option value (`--comment`, `--log-prefix`, `--nflog-prefix`) exactly as iptables-save
 * prints it (xtables_save_string, iptables 1.8, nft and legacy): bare when it is non-empty and made
 * of `A-Z a-z 0-9 _ -` only, else in double quotes with `"`, `\` and `'` escaped by a backslash.
 * Checked against iptables-save 1.8.9: `abc`, `"a.b"`, `"x y"`, `"it\'s"`.
 */
export function quoteSaveString(word: string): string {
  return /^[A-Za-z0-9_-]+$/.test(word) ? word : quoteAlways(word);
}

/** Quotes a word only when it needs it (empty, blanks, quotes or backslashes). */
export function quoteIfNeeded(word: string): string {
  return word === '' || /[\s"\\]/.test(word) ? quoteAlways(word) : word;
}
