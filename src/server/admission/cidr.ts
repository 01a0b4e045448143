import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses and CIDR blocks as 128-bit numbers: an IPv4 address is its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d), so `10.0.0.0/8` also matches the `::ffff:10.1.2.3` a dual-stack listener reports
 * for an IPv4 client, and one table holds both families.
 */

/** A parsed CIDR block: the network's first address and the prefix length, both in the 128-bit space. */
export interface Cidr {
  /** As written in the configuration (for messages). */
  readonly text: string;
  readonly network: bigint;
  /** Prefix length in the 128-bit space (an IPv4 /8 is /104 here). */
  readonly prefix: number;
}

const IPV4_MAPPED = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

/** The address as a 128-bit number; undefined for anything that is not an IPv4 or IPv6 address. */
export function parseIp(text: string): bigint | undefined {
  // A zone index (fe80::1%eth0) names an interface, not part of the address.
  const address = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (isIPv4(address)) return IPV4_MAPPED | ipv4Bits(address);
  if (!isIPv6(address)) return undefined;
  // An embedded IPv4 tail (::ffff:1.2.3.4) is written as its two 16-bit groups.
  const lastColon = address.lastIndexOf(':');
  const last = address.slice(lastColon + 1);
  let head = address;
  if (isIPv4(last)) {
    const v4 = ipv4Bits(last);
    head = `${address.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => BigInt(`0x${g}`)));
  const double = head.indexOf('::');
  const left = double < 0 ? head : head.slice(0, double);
  const right = double < 0 ? undefined : head.slice(double + 2);
  const leftGroups = groups(left);
  const rightGroups = right === undefined ? [] : groups(right);
  const missing = 8 - leftGroups.length - rightGroups.length;
  const all = [...leftGroups, ...Array.from({ length: right === undefined ? 0 : missing }, () => 0n), ...rightGroups];
  if (all.length !== 8) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function ipv4Bits(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Throws an Error saying what
 * is wrong, for the config file's validation; host bits set below the prefix (10.1.2.3/8) are refused,
 * as they usually mean a typo in the prefix length.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIp(addressText);
  if (address === undefined) throw new Error(`${text}: not an IPv4 or IPv6 address or CIDR block`);
  const v4 = isIPv4(addressText);
  const width = v4 ? 32 : 128;
  let length = width;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > width) throw new Error(`${text}: the prefix length must be 0 to ${width}`);
    length = Number(lengthText);
  }
  const prefix = v4 ? 96 + length : length;
  const network = address & maskOf(prefix);
  if (network !== address) throw new Error(`${text}: has bits set after the /${length} prefix (did you mean ${formatNetwork(addressText, network, v4)}/${length}?)`);
  return { text, network, prefix };
}

function maskOf(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
}

function formatNetwork(original: string, network: bigint, v4: boolean): string {
  if (!v4) return `${original.split(':').slice(0, 2).join(':')}…`;
  return [24n, 16n, 8n, 0n].map((shift) => String((network >> shift) & 0xffn)).join('.');
}

export function cidrContains(cidr: Cidr, address: bigint): boolean {
  return (address & maskOf(cidr.prefix)) === cidr.network;
}

/**
 * A list of blocks, each with a value; `match` returns the value of the most specific block (longest
 * prefix) containing the address, as routing tables do. Lists are short (written by an operator), so
 * a scan of the blocks sorted longest first is enough.
 */
export class CidrTable<T> {
  readonly #entries: readonly { readonly cidr: Cidr; readonly value: T }[];

  constructor(entries: readonly { readonly cidr: Cidr; readonly value: T }[]) {
    this.#entries = [...entries].sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  }

  get size(): number {
    return this.#entries.length;
  }

  match(address: bigint): { readonly cidr: Cidr; readonly value: T } | undefined {
    return this.#entries.find((e) => cidrContains(e.cidr, address));
  }
}
