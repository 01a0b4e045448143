/**
 * Maps a verified client certificate to a principal: Kafka's `ssl.principal.mapping.rules` (KIP-371) in
 * a structured form. Each rule names the certificate field it reads, a regular expression that must
 * match the whole value, and a template for the user name; the first rule that yields a name wins.
 *
 * Only call this with a certificate the TLS layer verified against the configured CA: the mapping
 * trusts every field it reads.
 */
import type tls from 'node:tls';
import { userPrincipal, type Principal } from '../types.js';

export interface PrincipalMappingRule {
  /**
   * `subject`: the subject DN as an RFC 4514 string, most specific first, as Kafka prints it
   * (`CN=alice,OU=eng,O=acme`; special characters in values hex-escaped, see subjectDistinguishedName);
   * `san-*`: each subject alternative name of that type, in certificate order.
   */
  readonly source: 'subject' | 'san-dns' | 'san-email' | 'san-uri';
  /** A regular expression (JavaScript syntax, `u` flag) that must match the whole value, as in Kafka. */
  readonly match: string;
  /**
   * The user name: `$1`…`$99` insert capture groups (`$0` the whole value), `$$` a literal `$`. The
   * principal is `User:<name>`.
   */
  readonly principal: string;
  readonly case?: 'lower' | 'upper';
}

export type PrincipalSource = PrincipalMappingRule['source'];
const SOURCES: readonly PrincipalSource[] = ['subject', 'san-dns', 'san-email', 'san-uri'];

// Node's names for SAN types in `subjectaltname`.
const SAN_PREFIX = { 'san-dns': 'DNS', 'san-email': 'email', 'san-uri': 'URI' } as const;

type TemplatePart = string | { readonly group: number };

interface CompiledRule {
  readonly source: PrincipalSource;
  readonly pattern: RegExp;
  readonly template: readonly TemplatePart[];
  readonly case: PrincipalMappingRule['case'];
}

/** Rules checked once at config load; map certificates with `mapCertificatePrincipal`. */
export class CompiledPrincipalMappingRules {
  readonly #rules: readonly CompiledRule[];

  constructor(rules: readonly PrincipalMappingRule[]) {
    this.#rules = rules.map((rule, index) => compileRule(rule, index));
  }

  get size(): number {
    return this.#rules.length;
  }

  map(cert: tls.PeerCertificate): Principal | undefined {
    if (this.#rules.length === 0) return defaultPrincipal(cert);
    let sans: readonly SubjectAltName[] | undefined;
    for (const rule of this.#rules) {
      let values: readonly string[];
      if (rule.source === 'subject') {
        values = [subjectDistinguishedName(cert)];
      } else {
        sans ??= subjectAltNames(cert);
        const prefix = SAN_PREFIX[rule.source];
        values = sans.filter((san) => san.type === prefix).map((san) => san.value);
      }
      for (const value of values) {
        const name = applyRule(rule, value);
        if (name !== undefined) return userPrincipal(name);
      }
    }
    return undefined;
  }
}

/**
 * Checks the rules and prepares them: throws an Error naming the rule (`principalMapping[2]`) whose
 * regular expression does not compile or whose template is malformed or refers to a missing group.
 */
export function compilePrincipalMappingRules(rules: readonly PrincipalMappingRule[]): CompiledPrincipalMappingRules {
  return new CompiledPrincipalMappingRules(rules);
}

/**
 * The principal for a verified client certificate, or undefined when no rule yields a non-empty name
 * (the caller then refuses the client, or treats it as unauthenticated). Without rules the principal is
 * `User:<CN>`, and undefined for a subject with no CN or more than one.
 */
export function mapCertificatePrincipal(
  cert: tls.PeerCertificate,
  rules: readonly PrincipalMappingRule[] | CompiledPrincipalMappingRules,
): Principal | undefined {
  const compiled = rules instanceof CompiledPrincipalMappingRules ? rules : compilePrincipalMappingRules(rules);
  return compiled.map(cert);
}

function compileRule(rule: PrincipalMappingRule, index: number): CompiledRule {
  const where = `principalMapping[${index}]`;
  // Checked at run time too: rules come from a config file.
  const source: string = rule.source;
  const letterCase: string | undefined = rule.case;
  if (!(SOURCES as readonly string[]).includes(source)) {
    throw new Error(`${where}: unknown source ${JSON.stringify(source)}; expected one of ${SOURCES.join(', ')}`);
  }
  if (letterCase !== undefined && letterCase !== 'lower' && letterCase !== 'upper') {
    throw new Error(`${where}: case must be 'lower' or 'upper'`);
  }
  // Backtracking-heavy expressions are the operator's own: they come from the config file and run only
  // over certificates the configured CA issued, never over unauthenticated input.
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${rule.match})$`, 'u');
  } catch (err) {
    throw new Error(`${where}: invalid regular expression ${JSON.stringify(rule.match)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // An alternative that matches the empty string makes exec() report every group of the pattern.
  const groups = (new RegExp(`(?:${rule.match})|`, 'u').exec('')?.length ?? 1) - 1;
  return { source: rule.source, pattern, template: parseTemplate(rule.principal, groups, where), case: rule.case };
}

function parseTemplate(template: string, groups: number, where: string): TemplatePart[] {
  if (template.length === 0) throw new Error(`${where}: principal template is empty`);
  const parts: TemplatePart[] = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const char = template.charAt(i);
    if (char !== '$') {
      literal += char;
      continue;
    }
    const reference = /^(\$|\d{1,2})/.exec(template.slice(i + 1))?.[1];
    if (reference === undefined) throw new Error(`${where}: '$' at ${i} in the principal template must be followed by a group number or '$'`);
    i += reference.length;
    if (reference === '$') {
      literal += '$';
      continue;
    }
    const group = Number(reference);
    if (group > groups) throw new Error(`${where}: the principal template uses $${group} but the expression has ${groups} group(s)`);
    if (literal.length > 0) parts.push(literal);
    literal = '';
    parts.push({ group });
  }
  if (literal.length > 0) parts.push(literal);
  return parts;
}

// Names that would corrupt an audit line or an ACL listing are no match, like empty ones.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/u;

function applyRule(rule: CompiledRule, value: string): string | undefined {
  const match = rule.pattern.exec(value);
  if (match === null) return undefined;
  let name = rule.template.map((part) => (typeof part === 'string' ? part : (match[part.group] ?? ''))).join('');
  if (rule.case === 'lower') name = name.toLowerCase();
  else if (rule.case === 'upper') name = name.toUpperCase();
  return acceptableName(name);
}

function acceptableName(name: string): string | undefined {
  return name.length === 0 || CONTROL_CHARACTERS.test(name) ? undefined : name;
}

function defaultPrincipal(cert: tls.PeerCertificate): Principal | undefined {
  const commonNames = subjectAttributes(cert).filter(([type]) => type === 'CN');
  // Two CNs leave the identity ambiguous: refuse rather than pick one.
  if (commonNames.length !== 1) return undefined;
  const name = acceptableName(commonNames[0]?.[1] ?? '');
  return name === undefined ? undefined : userPrincipal(name);
}

/**
 * The subject's attributes, most specific first. Node gives the subject as an object whose keys are in
 * the certificate's (most significant first) order of first appearance, a repeated attribute as an
 * array in certificate order; reversing both gives the RFC 4514 order (`CN=alice,OU=ops,OU=eng,O=acme`)
 * for every usual subject, where repeated attributes sit together.
 */
function subjectAttributes(cert: tls.PeerCertificate): (readonly [string, string])[] {
  // Typed as always present, but absent on a socket whose peer sent no certificate.
  const subject = cert.subject as Partial<Record<string, unknown>> | undefined;
  if (subject === undefined) return [];
  const attributes: (readonly [string, string])[] = [];
  for (const type of Object.keys(subject).reverse()) {
    const value = subject[type];
    const values = Array.isArray(value) ? [...(value as unknown[])].reverse() : [value];
    for (const item of values) if (typeof item === 'string') attributes.push([type, item]);
  }
  return attributes;
}

/**
 * The subject as an RFC 4514 string. Special characters in values are escaped as hex pairs (`\2C`,
 * RFC 4514 §2.4 allows either form), so a literal `,` or `+` in the string is always a separator: a
 * rule like `CN=([^,]+),OU=eng,O=acme` can't be satisfied by a CN of `mallory,OU=eng`.
 */
export function subjectDistinguishedName(cert: tls.PeerCertificate): string {
  return subjectAttributes(cert)
    .map(([type, value]) => `${type}=${escapeDnValue(value)}`)
    .join(',');
}

function escapeDnValue(value: string): string {
  // The specials anywhere, a leading space or '#', a trailing space, NUL. All are ASCII, so walking
  // UTF-16 code units leaves other characters whole.
  let escaped = '';
  for (let index = 0; index < value.length; index++) {
    const char = value.charAt(index);
    const special =
      '"+,;<>\\\u0000'.includes(char) || (index === 0 && (char === ' ' || char === '#')) || (index === value.length - 1 && char === ' ');
    escaped += special ? `\\${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : char;
  }
  return escaped;
}

interface SubjectAltName {
  readonly type: string;
  readonly value: string;
}

/**
 * Parses Node's `subjectaltname` (`DNS:a.example, email:"x\u002cy@example", URI:spiffe://…`). Node
 * writes a value holding a comma, quote or other unsafe character as a JSON string, so a value can't
 * pose as another entry. Anything else unexpected yields no names: the rules then don't match.
 */
export function subjectAltNames(cert: tls.PeerCertificate): SubjectAltName[] {
  const text = cert.subjectaltname ?? '';
  const names: SubjectAltName[] = [];
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) return [];
    const type = text.slice(at, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return [];
      end += 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        return [];
      }
    } else {
      const separator = text.indexOf(', ', colon + 1);
      end = separator < 0 ? text.length : separator;
      value = text.slice(colon + 1, end);
    }
    names.push({ type, value });
    if (end === text.length) break;
    if (!text.startsWith(', ', end)) return [];
    at = end + 2;
  }
  return names;
}
