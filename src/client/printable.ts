/**
 * Text from a broker (topic, group, user and client names, error messages) as a terminal may show it:
 * control characters, format characters (bidi overrides, zero-width spaces), line and paragraph
 * separators, surrogates and other invisible code points become visible escapes (`\n`, `\x1b`,
 * `\u202e`), so that a name cannot start a new line, move the cursor or reorder what is shown around
 * it. Everything else, other non-ASCII text included, is kept as it is.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}
