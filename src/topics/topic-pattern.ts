/**
 * Which topics a policy covers (masking policies, topic policies): a literal name (`payments`), a prefix (`orders-*`: a single
 * `*` at the end) or a glob (`*-pii`, `eu-?-customers`: `*` any run of characters, `?` one). Matched
 * without regular expressions, in time linear in the name for literals and prefixes and at most
 * name × pattern steps for globs, both bounded by Kafka's 249-character topic names.
 */
export type TopicPattern =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'prefix'; readonly text: string; readonly prefix: string }
  | { readonly kind: 'glob'; readonly text: string };

/** The characters of a topic name (Kafka's rule) and the two wildcards. */
export const TOPIC_PATTERN = /^[a-zA-Z0-9._*?-]{1,249}$/;

export function parseTopicPattern(text: string): TopicPattern | { readonly error: string } {
  if (!TOPIC_PATTERN.test(text)) return { error: `topic ${JSON.stringify(text.slice(0, 64))}: a topic name, a prefix ending in * or a glob (letters, digits, . _ - and the wildcards * and ?), at most 249 characters` };
  const star = text.indexOf('*');
  if (star === -1 && !text.includes('?')) return { kind: 'literal', text };
  if (star === text.length - 1 && !text.includes('?')) return { kind: 'prefix', text, prefix: text.slice(0, -1) };
  return { kind: 'glob', text };
}

export function topicMatches(pattern: TopicPattern, topic: string): boolean {
  if (pattern.kind === 'literal') return topic === pattern.text;
  if (pattern.kind === 'prefix') return topic.startsWith(pattern.prefix);
  return globMatches(pattern.text, topic);
}

/**
 * The classic wildcard match: on a mismatch after a `*`, the star absorbs one more character and the
 * match resumes there. Never backtracks further than the last star, hence O(name × pattern).
 */
function globMatches(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = glob[g];
    if (c === '*') {
      star = g++;
      resume = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      g++;
      n++;
    } else if (star !== -1) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}
