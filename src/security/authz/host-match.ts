import { BlockList, isIP } from 'node:net';

/**
 * The host part of an ACL binding: `*`, one IP address, or (a Parapet extension over Kafka, whose
 * authorizer compares host strings) a CIDR range such as `10.0.0.0/8` or `fd00::/8`. Addresses are
 * compared as addresses, not strings, so `::1` and `0:0:0:0:0:0:0:1` are the same host, and an
 * IPv4-mapped IPv6 client (`::ffff:10.1.2.3`, what a dual-stack listener reports for an IPv4 peer)
 * matches IPv4 rules: otherwise a DENY on `10.0.0.0/8` could be sidestepped by the socket's family.
 */

export const WILDCARD_HOST = '*';

/** A client address the authorizer can compare: parsed once per request. */
export interface ClientAddress {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
}

export interface HostPattern {
  /** The text as the binding holds it. */
  readonly text: string;
  /** True for `*`, which matches every client, even one whose address could not be parsed. */
  readonly any: boolean;
  matches(client: ClientAddress): boolean;
}

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
// No sign, no leading zero: `10.0.0.0/08` is more likely a typo than a prefix length.
const PREFIX_LENGTH = /^(?:0|[1-9]\d{0,2})$/;

/**
 * Parses what the connection reports as the client's address: the listener writes it as Java's
 * `InetAddress.toString()` does (`/127.0.0.1`), and link-local IPv6 peers carry a zone (`fe80::1%eth0`).
 * Returns null when nothing usable remains.
 */
export function parseClientAddress(host: string): ClientAddress | null {
  let text = host.startsWith('/') ? host.slice(1) : host;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const version = isIP(text);
  if (version === 4) return { address: text, family: 'ipv4' };
  if (version !== 6) return null;
  const mapped = MAPPED_IPV4.exec(text)?.[1];
  if (mapped !== undefined && isIP(mapped) === 4) return { address: mapped, family: 'ipv4' };
  return { address: text, family: 'ipv6' };
}

const ANY_HOST: HostPattern = Object.freeze({ text: WILDCARD_HOST, any: true, matches: () => true });

/** Parses a binding's host; undefined when it is none of `*`, an IP address or a CIDR range. */
export function parseHostPattern(text: string): HostPattern | undefined {
  if (text === WILDCARD_HOST) return ANY_HOST;
  const list = new BlockList();
  const slash = text.indexOf('/');
  if (slash < 0) {
    const version = isIP(text);
    if (version === 0) return undefined;
    list.addAddress(text, version === 4 ? 'ipv4' : 'ipv6');
  } else {
    const network = text.slice(0, slash);
    const bits = text.slice(slash + 1);
    const version = isIP(network);
    if (version === 0 || !PREFIX_LENGTH.test(bits)) return undefined;
    const prefix = Number(bits);
    if (prefix > (version === 4 ? 32 : 128)) return undefined;
    list.addSubnet(network, prefix, version === 4 ? 'ipv4' : 'ipv6');
  }
  return Object.freeze({ text, any: false, matches: (client: ClientAddress) => list.check(client.address, client.family) });
}

export function isValidAclHost(text: string): boolean {
  return parseHostPattern(text) !== undefined;
}
