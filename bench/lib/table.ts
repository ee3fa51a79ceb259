/**
 * Seeded synthetic routing tables for the benchmark feeder: N distinct IPv4 (and IPv6) prefixes
 * with a realistic length mix, spread over K attribute sets (AS paths of 1-5 ASNs starting with
 * the feeder's AS, MED on some, communities on some), packed once into UPDATE frames.
 *
 * Prefixes avoid what daemons drop as martians (0/8, 10/8 used by the lab links, 127/8, 224/4 and
 * up; IPv6 stays inside 2000::/3), so every receiver accepts every route.
 */
import { Buffer } from 'node:buffer';
import { AsPathSegmentType, Origin } from '../../proto/constants.js';
import type { MutableAttrs } from '../../proto/attributes.js';
import { encodeEndOfRib, packUpdates } from '../../proto/packer.js';
import type { PackGroup } from '../../proto/packer.js';
import { prefix4, prefix6 } from '../../proto/prefix.js';
import type { Prefix, Prefix4, Prefix6 } from '../../proto/prefix.js';
import { Family } from '../../proto/types.js';
import type { CodecContext } from '../../proto/types.js';
import { Rng, genPrefixLen4 } from '../../test/proto/gen.js';

export interface TableOptions {
  readonly seed: number;
  /** Distinct IPv4 prefixes. */
  readonly v4: number;
  /** Distinct IPv6 prefixes. */
  readonly v6?: number;
  /** Distinct attribute sets (K); each family gets its own K sets. */
  readonly attrSets: number;
  /** The feeder's AS: first ASN of every AS path (eBGP: FRR enforces first-as). */
  readonly firstAs: number;
  /** ASNs never generated in paths (the receivers' own AS, so no loop check drops a route). */
  readonly avoidAs?: readonly number[];
}

export interface FamilyTable<P extends Prefix> {
  readonly family: Family;
  /** Announcement groups; the next hop is set by `encodeTable` (attrs carry none). */
  readonly groups: readonly PackGroup[];
  readonly prefixes: readonly P[];
}

export interface Table {
  readonly v4: FamilyTable<Prefix4>;
  readonly v6: FamilyTable<Prefix6>;
}

/** A realistic IPv6 length mix: mostly /48, then /32-/47, /29, a few /49-/64. */
export function genPrefixLen6(rng: Rng): number {
  const r = rng.int(100);
  if (r < 45) return 48;
  if (r < 60) return 32;
  if (r < 85) return rng.range(33, 47);
  if (r < 90) return 29;
  return rng.range(49, 64);
}

/** First octets daemons accept as unicast and the lab does not use: 1-223 minus 10 and 127. */
function firstOctet(rng: Rng): number {
  for (;;) {
    const o = rng.range(1, 223);
    if (o !== 10 && o !== 127) return o;
  }
}

export function genPrefixes4(rng: Rng, n: number): Prefix4[] {
  const seen = new Set<number>();
  const out: Prefix4[] = [];
  while (out.length < n) {
    const addr = ((firstOctet(rng) << 24) | (rng.u32() & 0xffffff)) >>> 0;
    const p = prefix4(addr, genPrefixLen4(rng));
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

export function genPrefixes6(rng: Rng, n: number): Prefix6[] {
  const seen = new Set<string>();
  const out: Prefix6[] = [];
  const bytes = new Uint8Array(16);
  while (out.length < n) {
    for (let i = 0; i < 8; i++) bytes[i] = rng.u32() & 0xff;
    bytes[0] = 0x20 | (bytes[0]! & 0x1f); // 2000::/3
    const p = prefix6(bytes, genPrefixLen6(rng));
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

function genAsn(rng: Rng, avoid: ReadonlySet<number>): number {
  for (;;) {
    const a = rng.chance(0.2) ? rng.range(131072, 4199999999) : rng.range(1, 64511);
    if (!avoid.has(a)) return a;
  }
}

/** K attribute sets: AS path of 1-5 ASNs (first = firstAs), MED on 30%, 1-6 communities on 40%. */
export function genAttrSets(rng: Rng, k: number, firstAs: number, avoidAs: readonly number[] = []): MutableAttrs[] {
  const avoid = new Set([...avoidAs, firstAs]);
  const out: MutableAttrs[] = [];
  for (let i = 0; i < k; i++) {
    const asns = [firstAs];
    const extra = rng.range(0, 4);
    for (let j = 0; j < extra; j++) asns.push(genAsn(rng, avoid));
    const a: MutableAttrs = {
      origin: rng.chance(0.9) ? Origin.Igp : Origin.Incomplete,
      asPath: [{ type: AsPathSegmentType.Sequence, asns }],
    };
    if (rng.chance(0.3)) a.med = rng.int(1000);
    if (rng.chance(0.4)) a.communities = Array.from({ length: rng.range(1, 6) }, () => ((rng.range(1, 65534) << 16) | rng.int(65536)) >>> 0);
    out.push(a);
  }
  return out;
}

/** Spread prefixes over K sets, skewed: a few big groups, many small ones (as in a real table). */
function groupPrefixes<P extends Prefix>(rng: Rng, prefixes: readonly P[], sets: readonly MutableAttrs[]): PackGroup[] {
  const k = sets.length;
  const buckets: P[][] = Array.from({ length: k }, () => []);
  for (const p of prefixes) {
    const g = rng.chance(0.2) ? rng.int(Math.max(1, k >>> 6)) : rng.int(k);
    buckets[g]!.push(p);
  }
  const groups: PackGroup[] = [];
  for (let g = 0; g < k; g++) if (buckets[g]!.length > 0) groups.push({ attrs: sets[g]!, prefixes: buckets[g]! });
  return groups;
}

export function genTable(o: TableOptions): Table {
  const rng = new Rng(o.seed);
  const k = Math.max(1, o.attrSets);
  const p4 = genPrefixes4(rng, o.v4);
  const g4 = groupPrefixes(rng, p4, genAttrSets(rng, Math.min(k, Math.max(1, o.v4)), o.firstAs, o.avoidAs));
  const n6 = o.v6 ?? 0;
  const p6 = genPrefixes6(rng, n6);
  const g6 = n6 === 0 ? [] : groupPrefixes(rng, p6, genAttrSets(rng, Math.min(k, n6), o.firstAs, o.avoidAs));
  return {
    v4: { family: Family.Ipv4Unicast, groups: g4, prefixes: p4 },
    v6: { family: Family.Ipv6Unicast, groups: g6, prefixes: p6 },
  };
}

/** Pre-encoded UPDATE frames of one family, concatenated into a few large buffers. */
export interface Encoded {
  readonly chunks: readonly Buffer[];
  readonly messages: number;
  readonly bytes: number;
  readonly prefixes: number;
}

const CHUNK = 1 << 20;

/** Concatenate frames into ~1 MiB chunks (whole frames each). */
export function chunkFrames(frames: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let size = 0;
  for (const f of frames) {
    cur.push(f);
    size += f.length;
    if (size >= CHUNK) {
      out.push(Buffer.concat(cur, size));
      cur = [];
      size = 0;
    }
  }
  if (cur.length > 0) out.push(Buffer.concat(cur, size));
  return out;
}

/**
 * Announcements of a family table with `nextHop` (IPv4 number; IPv6 text for MP_REACH), then
 * End-of-RIB when `endOfRib`.
 */
export function encodeAnnouncements(t: FamilyTable<Prefix>, nextHop: number | string, ctx: CodecContext, endOfRib = true): Encoded {
  const frames: Buffer[] = [];
  const groups = t.groups.map((g) => ({ ...g, nextHop }));
  packUpdates(t.family, [], groups, ctx, (b) => frames.push(b));
  const messages = frames.length;
  if (endOfRib) frames.push(encodeEndOfRib(t.family, ctx));
  const chunks = chunkFrames(frames);
  return { chunks, messages, bytes: chunks.reduce((n, c) => n + c.length, 0), prefixes: t.prefixes.length };
}

/** Withdrawals of every prefix of a family table. */
export function encodeWithdrawals(t: FamilyTable<Prefix>, ctx: CodecContext): Encoded {
  const frames: Buffer[] = [];
  packUpdates(t.family, t.prefixes, [], ctx, (b) => frames.push(b));
  const chunks = chunkFrames(frames);
  return { chunks, messages: frames.length, bytes: chunks.reduce((n, c) => n + c.length, 0), prefixes: t.prefixes.length };
}

/** The i-th /26 of a base address (mesh blocks, kernel routes): base + i * 64. */
export function nthSlash26(base: number, i: number): Prefix4 {
  return prefix4((base + i * 64) >>> 0, 26);
}

/** One group: `prefixes` with a one-ASN path (the feeder's), for mesh blocks and kernel routes. */
export function simpleGroup(prefixes: readonly Prefix[], firstAs: number | null): PackGroup {
  // firstAs null: an iBGP session (empty AS path, LOCAL_PREF as RFC 4271 §5.1.5 wants).
  const attrs: MutableAttrs = {
    origin: Origin.Igp,
    asPath: firstAs === null ? [] : [{ type: AsPathSegmentType.Sequence, asns: [firstAs] }],
  };
  if (firstAs === null) attrs.localPref = 100;
  return { attrs, prefixes };
}
