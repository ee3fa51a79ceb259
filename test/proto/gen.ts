/**
 * Seeded generators of valid UPDATE messages and synthetic tables (reused by the round-trip
 * tests, the fuzzer and bench/codec.ts). Everything derives from one xorshift32 seed, so a
 * failure is reproduced from the printed seed.
 */
import { AsPathSegmentType, AttrFlag, Origin } from '../../proto/constants.js';
import type { AsPathSegmentTypeCode, OriginCode } from '../../proto/constants.js';
import { ATTRIBUTES } from '../../proto/attributes.js';
import type { MutableAttrs } from '../../proto/attributes.js';
import type { PackGroup } from '../../proto/packer.js';
import { formatIpv6, prefix4, prefix6 } from '../../proto/prefix.js';
import type { Prefix4, Prefix6 } from '../../proto/prefix.js';
import { Family } from '../../proto/types.js';
import type { AsPathSegment, CodecContext, MpReach, MpUnreach, PathAttributes, UnknownAttribute, UpdateMessage } from '../../proto/types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** xorshift32 (Marsaglia 2003): tiny, fast, reproducible; seed 0 is mapped to 1. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** A realistic IPv4 length mix: mostly /24, then /22-/23, /16-/21, a few others. */
export function genPrefixLen4(rng: Rng): number {
  const r = rng.int(100);
  if (r < 58) return 24;
  if (r < 78) return rng.range(22, 23);
  if (r < 95) return rng.range(16, 21);
  if (r < 98) return rng.range(8, 15);
  return rng.range(25, 32);
}

export function genPrefix4(rng: Rng, len = rng.range(0, 32)): Prefix4 {
  return prefix4(rng.u32(), len);
}

export function genPrefix6(rng: Rng, len = rng.range(0, 128)): Prefix6 {
  return prefix6(rng.bytes(16), len);
}

function genAsns(rng: Rng, n: number, four: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(four && rng.chance(0.3) ? rng.range(65536, 0xffffffff) : rng.range(1, 65535));
  return out;
}

export function genAsPath(rng: Rng, four: boolean, confed = true): AsPathSegment[] {
  const segs: AsPathSegment[] = [];
  const n = rng.range(0, 4);
  for (let i = 0; i < n; i++) {
    const type = (confed ? rng.range(1, 4) : rng.pick([AsPathSegmentType.Set, AsPathSegmentType.Sequence])) as AsPathSegmentTypeCode;
    segs.push({ type, asns: genAsns(rng, rng.range(1, rng.chance(0.05) ? 255 : 6), four) });
  }
  return segs;
}

const KNOWN_OR_MP = new Set<number>([14, 15]);

/** Random, valid path attributes (everything the codec knows, each present at random). */
export function genAttributes(rng: Rng, ctx: CodecContext, withNextHop: boolean): MutableAttrs {
  const a: MutableAttrs = {};
  a.origin = rng.range(Origin.Igp, Origin.Incomplete) as OriginCode;
  a.asPath = genAsPath(rng, ctx.fourOctetAs);
  if (withNextHop) a.nextHop = rng.u32();
  if (rng.chance(0.5)) a.med = rng.u32();
  if (rng.chance(0.5)) a.localPref = rng.u32();
  if (rng.chance(0.2)) a.atomicAggregate = true;
  if (rng.chance(0.2)) a.aggregator = { asn: ctx.fourOctetAs ? rng.u32() : rng.range(0, 65535), address: rng.u32() };
  if (rng.chance(0.4)) a.communities = Array.from({ length: rng.range(1, 20) }, () => rng.u32());
  if (rng.chance(0.2)) a.originatorId = rng.u32();
  if (rng.chance(0.2)) a.clusterList = Array.from({ length: rng.range(1, 5) }, () => rng.u32());
  if (rng.chance(0.2)) a.extendedCommunities = Array.from({ length: rng.range(1, 5) }, () => rng.bytes(8));
  if (rng.chance(0.2)) a.as4Path = genAsPath(rng, true, false);
  if (rng.chance(0.1)) a.as4Aggregator = { asn: rng.u32(), address: rng.u32() };
  if (rng.chance(0.2)) {
    a.largeCommunities = Array.from({ length: rng.range(1, 6) }, () => [rng.u32(), rng.u32(), rng.u32()] as const);
  }
  if (rng.chance(0.15)) {
    const types = new Set<number>();
    const n = rng.range(1, 3);
    while (types.size < n) {
      const t = rng.range(19, 254);
      if (ATTRIBUTES[t] === undefined && !KNOWN_OR_MP.has(t)) types.add(t);
    }
    a.unknown = [...types]
      .sort((x, y) => x - y)
      .map((t): UnknownAttribute => ({
        flags: AttrFlag.Optional | AttrFlag.Transitive | AttrFlag.Partial,
        typeCode: t,
        value: rng.bytes(rng.chance(0.1) ? rng.range(256, 600) : rng.range(0, 40)),
      }));
  }
  return a;
}

function ids(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => (rng.chance(0.5) ? rng.range(1, 10) : rng.u32()));
}

/**
 * A random valid UPDATE for `ctx`, kept well under 4096 octets. The shape is what decodeUpdate
 * returns (path-id arrays exactly when ADD-PATH is on, attrs null only when there are none).
 */
export function genUpdate(rng: Rng, ctx: CodecContext): UpdateMessage {
  const ap4 = ctx.addPath.has(Family.Ipv4Unicast);
  const ap6 = ctx.addPath.has(Family.Ipv6Unicast);
  const withdrawn = rng.chance(0.4) ? Array.from({ length: rng.range(1, 30) }, () => genPrefix4(rng)) : [];
  const nlri = rng.chance(0.6) ? Array.from({ length: rng.range(1, 60) }, () => genPrefix4(rng, genPrefixLen4(rng))) : [];
  const kind = rng.int(4); // 0 none, 1 reach6, 2 unreach6, 3 both
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  if (kind === 1 || kind === 3) {
    const n = rng.range(0, 30);
    const r: Mutable<MpReach> = {
      afi: 2,
      safi: 1,
      nextHop: formatIpv6(rng.bytes(16)),
      nlri: Array.from({ length: n }, () => genPrefix6(rng)),
    };
    if (rng.chance(0.5)) r.linkLocal = formatIpv6(Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...rng.bytes(8)]));
    if (ap6) r.pathIds = ids(rng, n);
    mpReach = r;
  }
  if (kind === 2 || kind === 3) {
    const n = rng.range(0, 30);
    const u: Mutable<MpUnreach> = { afi: 2, safi: 1, withdrawn: Array.from({ length: n }, () => genPrefix6(rng)) };
    if (ap6) u.pathIds = ids(rng, n);
    mpUnreach = u;
  }
  const wantAttrs = nlri.length > 0 || mpReach !== undefined || rng.chance(0.2);
  let attrs: PathAttributes | null = wantAttrs ? genAttributes(rng, ctx, nlri.length > 0 || rng.chance(0.3)) : null;
  if (attrs === null && (mpReach !== undefined || mpUnreach !== undefined)) attrs = {};
  const m: Mutable<UpdateMessage> = { type: 'update', withdrawn, attrs, nlri };
  if (ap4) {
    m.withdrawnPathIds = ids(rng, withdrawn.length);
    m.nlriPathIds = ids(rng, nlri.length);
  }
  if (mpReach !== undefined) m.mpReach = mpReach;
  if (mpUnreach !== undefined) m.mpUnreach = mpUnreach;
  return m;
}

/** A random codec context (each flag on or off). */
export function genContext(rng: Rng): CodecContext {
  const addPath = new Set<number>();
  if (rng.chance(0.3)) addPath.add(Family.Ipv4Unicast);
  if (rng.chance(0.3)) addPath.add(Family.Ipv6Unicast);
  return { fourOctetAs: rng.chance(0.5), extendedMessage: rng.chance(0.3), addPath };
}

export interface SyntheticTable {
  readonly groups: PackGroup[];
  readonly prefixes: number;
}

/**
 * A synthetic IPv4 full table: `prefixCount` distinct prefixes (realistic length mix) over
 * `groupCount` attribute sets (AS paths of 1-5 ASNs, MED on some, communities on some).
 */
export function genFullTable(seed: number, prefixCount: number, groupCount: number, fourOctetAs = true): SyntheticTable {
  const rng = new Rng(seed);
  const seen = new Set<number>();
  const buckets: Prefix4[][] = Array.from({ length: groupCount }, () => []);
  while (seen.size < prefixCount) {
    const p = prefix4(rng.u32(), genPrefixLen4(rng));
    if (seen.has(p)) continue;
    seen.add(p);
    // Skewed: a few big groups, many small ones (as a real table's attribute sharing).
    const g = rng.chance(0.2) ? rng.int(Math.max(1, groupCount >>> 6)) : rng.int(groupCount);
    buckets[g]!.push(p);
  }
  const groups: PackGroup[] = [];
  for (let g = 0; g < groupCount; g++) {
    const prefixes = buckets[g]!;
    if (prefixes.length === 0) continue;
    const attrs: MutableAttrs = {
      origin: rng.chance(0.9) ? Origin.Igp : Origin.Incomplete,
      asPath: [{ type: AsPathSegmentType.Sequence, asns: Array.from({ length: rng.range(1, 5) }, () => (fourOctetAs && rng.chance(0.2) ? rng.range(65536, 4200000000) : rng.range(1, 64511))) }],
      nextHop: 0xc0000201 + rng.int(4),
    };
    if (rng.chance(0.3)) attrs.med = rng.int(1000);
    if (rng.chance(0.4)) attrs.communities = Array.from({ length: rng.range(1, 6) }, () => ((rng.range(1, 65535) << 16) | rng.int(65536)) >>> 0);
    groups.push({ attrs, prefixes });
  }
  return { groups, prefixes: prefixCount };
}
