/**
 * Text for Java's client configuration: `.properties` values and the JAAS login line that Kafka's Java
 * client takes in `sasl.jaas.config`.
 */

/**
 * A value as `java.util.Properties.load` reads it back unchanged. The result is pure ASCII: Kafka's
 * tools load their config files through an InputStream, which Properties decodes as ISO-8859-1, so
 * every other character is written as a `\uXXXX` escape (UTF-16 units; a surrogate pair stays a pair).
 * A backslash starts an escape and is doubled; a leading space would be skipped as the separator's
 * whitespace, so it is escaped; control characters get their escapes so no line ever breaks.
 */
export function javaPropertiesValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const ch = value.charAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === ' ' && i === 0) out += '\\ ';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\f') out += '\\f';
    else if (unit < 0x20 || unit > 0x7e) out += `\\u${unit.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/**
 * A double-quoted JAAS option value. Kafka parses `sasl.jaas.config` with java.io.StreamTokenizer
 * (org.apache.kafka.common.security.JaasConfig), whose quoted strings end at the closing quote or a
 * line break and treat a backslash as an escape: `\\` and `\"` stand for themselves. Line breaks cannot
 * be carried at all, so they are refused by the callers before this is reached.
 */
export function jaasQuoted(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('a JAAS option value cannot hold a line break');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
