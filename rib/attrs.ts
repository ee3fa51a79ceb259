/**
 * Interned path-attribute sets (OpenBGPD `path_getcache`, BIRD `rta_lookup`).
 *
 * One frozen `AttrSet` per distinct (attributes, next hop): the next hop IS part of the interned
 * identity, as in BIRD's `rta`. Rationale: in a Calico cluster and in a typical full table, the
 * next hop is per peer, so splitting it out would save nothing while every route would need a
 * second reference; keeping it in means the Adj-RIB-Out buckets (`{attrs, nextHop, prefixes}`)
 * fall out of grouping by set id with no extra key.
 *
 * Identity is the canonical encoding (attributes in type-code order, 32-bit values, lists
 * length-prefixed) — not the wire bytes, because the wire encoding depends on the session (2- vs
 * 4-octet AS, extended length) and the same set must intern equal from every peer. The table does
 * not store that encoding as a string key: it stores a 32-bit hash of it per set id and confirms a
 * hit by structural equality. Measured: a string key plus its Map entry cost ~100 bytes per set,
 * i.e. ~20 bytes per route at 1M routes / 200k sets; `canonicalKey()` still gives the string for
 * debugging and tests.
 * Decision-process inputs (local pref, AS path length, MED...) are precomputed once per set so
 * the per-prefix comparison reads numbers only.
 *
 * Refcounts live in an Int32Array beside the sets so the sets themselves can be frozen. Ids are
 * small dense integers reused after free: the compact route tables store ids, not objects.
 */
import type { Address, AsPathSegment, PathAttributes } from '../proto/types.js';
import { AsPathSegmentType, AttrFlag } from '../proto/constants.js';

/** RFC 4271 §9.1.1: a route without LOCAL_PREF (eBGP-learned) gets the configured default (BIRD: 100). */
export const DEFAULT_LOCAL_PREF = 100;

export interface AttrSet {
  /** Dense id, reused after the last `unref`; what the route tables store. */
  readonly id: number;
  /** 32-bit hash of the canonical encoding. */
  readonly hash: number;
  /** Frozen; never carries `nextHop` (see `nextHop` below, which is authoritative). */
  readonly attrs: PathAttributes;
  /** IPv4 as u32, IPv6 as RFC 5952 text. Part of the interned identity. */
  readonly nextHop: Address;
  /** RFC 2545 §3 link-local second next hop, when present. */
  readonly linkLocal?: string;
  // --- precomputed decision inputs (RFC 4271 §9.1) ---
  readonly localPref: number;
  /** RFC 4271 §9.1.2.2 a): AS_SET counts 1, confederation segments 0 (RFC 5065 §5.3). */
  readonly asPathLength: number;
  readonly origin: number;
  /** -1 when MED is absent (the decision options decide what that means). */
  readonly med: number;
  /** First AS of the leftmost AS_SEQUENCE, 0 when none (locally originated / internal). */
  readonly neighborAs: number;
  /** -1 when absent. */
  readonly originatorId: number;
  readonly clusterListLength: number;
}

export interface AttrStoreCounts {
  /** Distinct live sets. */
  readonly sets: number;
  /** Sum of refcounts (one per route entry holding a set). */
  readonly refs: number;
}

function neighborAsOf(segments: readonly AsPathSegment[] | undefined): number {
  if (segments === undefined) return 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    // RFC 5065 §5.3: confederation segments are skipped when finding the neighbouring AS.
    if (s.type === AsPathSegmentType.ConfedSequence || s.type === AsPathSegmentType.ConfedSet) continue;
    if (s.type === AsPathSegmentType.Sequence && s.asns.length > 0) return s.asns[0]!;
    return 0;
  }
  return 0;
}

const u32 = (v: number): string => String.fromCharCode(v >>> 16, v & 0xffff);

function pushPath(parts: string[], tag: string, path: readonly AsPathSegment[]): void {
  parts.push(tag, String.fromCharCode(path.length));
  for (const s of path) {
    parts.push(String.fromCharCode(s.type, s.asns.length));
    for (const a of s.asns) parts.push(u32(a));
  }
}

/**
 * The canonical key: attribute type code order (RFC 4271 §5 ordering is irrelevant to identity),
 * each value length-prefixed so no two distinct sets collide. Flags are not part of the key
 * except for unknown attributes (whose Partial bit must be propagated, RFC 4271 §5).
 */
export function canonicalKey(a: PathAttributes, nextHop: Address, linkLocal?: string): string {
  const parts: string[] = [];
  parts.push(typeof nextHop === 'number' ? `n${u32(nextHop)}` : `N${nextHop}\u0000`);
  if (linkLocal !== undefined) parts.push(`L${linkLocal}\u0000`);
  if (a.origin !== undefined) parts.push(`\u0001${String.fromCharCode(a.origin)}`);
  if (a.asPath !== undefined) pushPath(parts, '\u0002', a.asPath);
  if (a.med !== undefined) parts.push(`\u0004${u32(a.med)}`);
  if (a.localPref !== undefined) parts.push(`\u0005${u32(a.localPref)}`);
  if (a.atomicAggregate === true) parts.push('\u0006');
  if (a.aggregator !== undefined) parts.push(`\u0007${u32(a.aggregator.asn)}${u32(a.aggregator.address)}`);
  if (a.communities !== undefined) {
    parts.push('\u0008', u32(a.communities.length));
    for (const c of a.communities) parts.push(u32(c));
  }
  if (a.originatorId !== undefined) parts.push(`\u0009${u32(a.originatorId)}`);
  if (a.clusterList !== undefined) {
    parts.push('\u000a', u32(a.clusterList.length));
    for (const c of a.clusterList) parts.push(u32(c));
  }
  if (a.extendedCommunities !== undefined) {
    parts.push('\u0010', u32(a.extendedCommunities.length));
    for (const e of a.extendedCommunities) parts.push(String.fromCharCode(...e));
  }
  if (a.as4Path !== undefined) pushPath(parts, '\u0011', a.as4Path);
  if (a.as4Aggregator !== undefined) parts.push(`\u0012${u32(a.as4Aggregator.asn)}${u32(a.as4Aggregator.address)}`);
  if (a.largeCommunities !== undefined) {
    parts.push('\u0020', u32(a.largeCommunities.length));
    for (const [g, l1, l2] of a.largeCommunities) parts.push(u32(g), u32(l1), u32(l2));
  }
  if (a.unknown !== undefined) {
    const sorted = [...a.unknown].sort((x, y) => x.typeCode - y.typeCode);
    for (const u of sorted) parts.push(`\u00ff${String.fromCharCode(u.typeCode, u.flags & ~AttrFlag.ExtendedLength, u.value.length)}`, String.fromCharCode(...u.value));
  }
  return parts.join('');
}

// Freezing by shape, not by reflection (`Object.values` over every ASN was a visible cost at
// 100k+ sets/s). Like a generic deep freeze, it stops at anything already frozen and leaves
// typed arrays (extended communities, unknown attribute values) alone. COMMUNITIES and
// CLUSTER_LIST stay unfrozen on purpose: their 32-bit values are mostly above 2^31, so V8 keeps
// them as unboxed doubles, and freezing converts such an array to tagged elements with a 16-byte
// heap number per value (measured: 3-4 bytes per route and ~4% of bench:rib ingest). They are
// `readonly number[]` in every type that reaches them and are never handed out as mutable.
function freezeOnce(v: object | undefined): void {
  if (v !== undefined && !Object.isFrozen(v)) Object.freeze(v);
}

function freezePath(path: readonly AsPathSegment[] | undefined): void {
  if (path === undefined || Object.isFrozen(path)) return;
  for (const seg of path) {
    freezeOnce(seg.asns);
    freezeOnce(seg);
  }
  Object.freeze(path);
}

function freezeEach(l: readonly object[] | undefined): void {
  if (l === undefined || Object.isFrozen(l)) return;
  for (const x of l) freezeOnce(x);
  Object.freeze(l);
}

// --- hashing and equality over the canonical form ------------------------------------------

function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v | 0), 0x01000193);
  return h ^ (h >>> 13);
}

// Index loops throughout: interned lists are frozen, and for-of over a frozen array allocates.
function hashPath(h: number, tag: number, path: readonly AsPathSegment[]): number {
  h = mix(h, tag * 256 + path.length);
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    const asns = s.asns;
    h = mix(h, s.type * 65536 + asns.length);
    for (let k = 0; k < asns.length; k++) h = mix(h, asns[k]!);
  }
  return h;
}

function hashList(h: number, tag: number, l: readonly number[]): number {
  h = mix(h, tag * 65536 + l.length);
  for (let i = 0; i < l.length; i++) h = mix(h, l[i]!);
  return h;
}

/** RFC 4271 §9.1.2.2 a) path length (as proto's `asPathLength`, without an iterator). */
function pathLength(segments: readonly AsPathSegment[] | undefined): number {
  if (segments === undefined) return 0;
  let n = 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.type === AsPathSegmentType.Sequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.Set) n += 1;
  }
  return n;
}

function hashBytes(h: number, b: Uint8Array): number {
  h = mix(h, b.length);
  for (let i = 0; i < b.length; i++) h = mix(h, b[i]!);
  return h;
}

function hashString(h: number, s: string): number {
  h = mix(h, s.length);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

export function hashAttrs(a: PathAttributes, nextHop: Address, linkLocal?: string): number {
  let h = 0x811c9dc5 | 0;
  h = typeof nextHop === 'number' ? mix(mix(h, 3), nextHop) : hashString(mix(h, 4), nextHop);
  if (linkLocal !== undefined) h = hashString(mix(h, 5), linkLocal);
  if (a.origin !== undefined) h = mix(h, 0x100 + a.origin);
  if (a.asPath !== undefined) h = hashPath(h, 2, a.asPath);
  if (a.med !== undefined) h = mix(mix(h, 4), a.med);
  if (a.localPref !== undefined) h = mix(mix(h, 5), a.localPref);
  if (a.atomicAggregate === true) h = mix(h, 6);
  if (a.aggregator !== undefined) h = mix(mix(mix(h, 7), a.aggregator.asn), a.aggregator.address);
  if (a.communities !== undefined) h = hashList(h, 8, a.communities);
  if (a.originatorId !== undefined) h = mix(mix(h, 9), a.originatorId);
  if (a.clusterList !== undefined) h = hashList(h, 10, a.clusterList);
  if (a.extendedCommunities !== undefined) {
    h = mix(h, 16 * 65536 + a.extendedCommunities.length);
    for (const e of a.extendedCommunities) h = hashBytes(h, e);
  }
  if (a.as4Path !== undefined) h = hashPath(h, 17, a.as4Path);
  if (a.as4Aggregator !== undefined) h = mix(mix(mix(h, 18), a.as4Aggregator.asn), a.as4Aggregator.address);
  if (a.largeCommunities !== undefined) {
    h = mix(h, 32 * 65536 + a.largeCommunities.length);
    for (const [g, l1, l2] of a.largeCommunities) h = mix(mix(mix(h, g), l1), l2);
  }
  if (a.unknown !== undefined) {
    // Order-insensitive: the canonical form sorts by type code.
    let u = 0;
    for (const x of a.unknown) u += hashBytes(mix(mix(0, x.typeCode), x.flags & ~AttrFlag.ExtendedLength), x.value) | 0;
    h = mix(mix(h, 0xff), u);
  }
  // murmur3 fmix32: the table probes the low bits, which `mix` alone leaves weakly mixed.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function eqList(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function eqPath(a: readonly AsPathSegment[] | undefined, b: readonly AsPathSegment[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.type !== b[i]!.type || !eqList(a[i]!.asns, b[i]!.asns)) return false;
  return true;
}

function eqAggr(a: PathAttributes['aggregator'], b: PathAttributes['aggregator']): boolean {
  return a === b || (a !== undefined && b !== undefined && a.asn === b.asn && a.address === b.address);
}

/** Structural equality of the canonical forms (what equal `canonicalKey`s mean). */
export function attrsEqual(a: PathAttributes, b: PathAttributes): boolean {
  if (a === b) return true;
  if (a.origin !== b.origin || a.med !== b.med || a.localPref !== b.localPref || a.originatorId !== b.originatorId) return false;
  if ((a.atomicAggregate === true) !== (b.atomicAggregate === true)) return false;
  if (!eqPath(a.asPath, b.asPath) || !eqList(a.communities, b.communities) || !eqList(a.clusterList, b.clusterList)) return false;
  if (!eqAggr(a.aggregator, b.aggregator) || !eqAggr(a.as4Aggregator, b.as4Aggregator) || !eqPath(a.as4Path, b.as4Path)) return false;
  const ea = a.extendedCommunities;
  const eb = b.extendedCommunities;
  if (ea !== eb) {
    if (ea === undefined || eb === undefined || ea.length !== eb.length) return false;
    for (let i = 0; i < ea.length; i++) if (!eqBytes(ea[i]!, eb[i]!)) return false;
  }
  const la = a.largeCommunities;
  const lb = b.largeCommunities;
  if (la !== lb) {
    if (la === undefined || lb === undefined || la.length !== lb.length) return false;
    for (let i = 0; i < la.length; i++) if (!eqList(la[i], lb[i])) return false;
  }
  const ua = a.unknown;
  const ub = b.unknown;
  if (ua !== ub) {
    if (ua === undefined || ub === undefined || ua.length !== ub.length) return false;
    const sa = [...ua].sort((x, y) => x.typeCode - y.typeCode);
    const sb = [...ub].sort((x, y) => x.typeCode - y.typeCode);
    for (let i = 0; i < sa.length; i++) {
      const x = sa[i]!;
      const y = sb[i]!;
      if (x.typeCode !== y.typeCode || (x.flags & ~AttrFlag.ExtendedLength) !== (y.flags & ~AttrFlag.ExtendedLength) || !eqBytes(x.value, y.value)) return false;
    }
  }
  return true;
}

/** The stored copy: only defined fields, in one fixed order (one hidden class per shape), frozen. */
function storedCopy(a: PathAttributes): PathAttributes {
  const o: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  if (a.origin !== undefined) o.origin = a.origin;
  if (a.asPath !== undefined) o.asPath = a.asPath;
  if (a.med !== undefined) o.med = a.med;
  if (a.localPref !== undefined) o.localPref = a.localPref;
  if (a.atomicAggregate !== undefined) o.atomicAggregate = a.atomicAggregate;
  if (a.aggregator !== undefined) o.aggregator = a.aggregator;
  if (a.communities !== undefined) o.communities = a.communities;
  if (a.originatorId !== undefined) o.originatorId = a.originatorId;
  if (a.clusterList !== undefined) o.clusterList = a.clusterList;
  if (a.extendedCommunities !== undefined) o.extendedCommunities = a.extendedCommunities;
  if (a.as4Path !== undefined) o.as4Path = a.as4Path;
  if (a.as4Aggregator !== undefined) o.as4Aggregator = a.as4Aggregator;
  if (a.largeCommunities !== undefined) o.largeCommunities = a.largeCommunities;
  if (a.unknown !== undefined) o.unknown = a.unknown;
  freezePath(o.asPath);
  freezeOnce(o.aggregator);
  freezeOnce(o.extendedCommunities);
  freezePath(o.as4Path);
  freezeOnce(o.as4Aggregator);
  freezeEach(o.largeCommunities);
  freezeEach(o.unknown);
  return Object.freeze(o);
}

export class AttrStore {
  private sets: (AttrSet | undefined)[] = [];
  private refcounts = new Int32Array(1024);
  /** Bumped each time an id is (re)used: lets caches keyed by id detect reuse without references. */
  private gens = new Uint32Array(1024);
  /** `hash` per id: probes and backward shifts read this dense column, not the set objects. */
  private hashes = new Int32Array(1024);
  /** Open addressing over set ids (id + 1), probed by `hash`. */
  private table = new Int32Array(2048);
  private mask = 2047;
  private live = 0;
  private readonly freeIds: number[] = [];
  private totalRefs = 0;

  /** Find or create the set and take one reference. Copies `attrs` only on a miss. */
  intern(attrs: PathAttributes, nextHop: Address, linkLocal?: string): AttrSet {
    const h = hashAttrs(attrs, nextHop, linkLocal);
    let set = this.find(h, attrs, nextHop, linkLocal);
    if (set === undefined) set = this.create(h, attrs, nextHop, linkLocal);
    this.refcounts[set.id]!++;
    this.totalRefs++;
    return set;
  }

  lookup(attrs: PathAttributes, nextHop: Address, linkLocal?: string): AttrSet | undefined {
    return this.find(hashAttrs(attrs, nextHop, linkLocal), attrs, nextHop, linkLocal);
  }

  ref(set: AttrSet): void {
    this.refcounts[set.id]!++;
    this.totalRefs++;
  }

  refId(id: number): void {
    this.refcounts[id]!++;
    this.totalRefs++;
  }

  unref(set: AttrSet): void {
    this.unrefId(set.id);
  }

  unrefId(id: number): void {
    const n = --this.refcounts[id]!;
    this.totalRefs--;
    if (n > 0) return;
    const set = this.sets[id];
    // A broken own invariant, not a peer error (style.md §7.8): fail loudly.
    if (n < 0 || set === undefined) throw new Error(`AttrStore.unref: set ${id} has no references`);
    this.remove(set);
    this.sets[id] = undefined;
    this.freeIds.push(id);
    this.live--;
  }

  get(id: number): AttrSet {
    const s = this.sets[id];
    if (s === undefined) throw new Error(`AttrStore.get: no set ${id}`);
    return s;
  }

  /** The generation of an id (changes whenever the id is given to a new set). */
  gen(id: number): number {
    return this.gens[id]!;
  }

  /** Capacity of the id space (for id-indexed side tables). */
  get idCapacity(): number {
    return this.refcounts.length;
  }

  /** True if `set` is still the live set with its id (ids are reused after free). */
  isLive(set: AttrSet): boolean {
    return this.sets[set.id] === set;
  }

  isLiveId(id: number): boolean {
    return this.sets[id] !== undefined;
  }

  refsOf(set: AttrSet): number {
    return this.sets[set.id] === set ? this.refcounts[set.id]! : 0;
  }

  counts(): AttrStoreCounts {
    return { sets: this.live, refs: this.totalRefs };
  }

  private find(h: number, attrs: PathAttributes, nextHop: Address, linkLocal: string | undefined): AttrSet | undefined {
    const t = this.table;
    const mask = this.mask;
    const hashes = this.hashes;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = t[i]!;
      if (v === 0) return undefined;
      if (hashes[v - 1] !== h) continue;
      const s = this.sets[v - 1]!;
      if (s.nextHop === nextHop && s.linkLocal === linkLocal && attrsEqual(s.attrs, attrs)) return s;
    }
  }

  private insert(id: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = this.hashes[id]! & mask;
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = id + 1;
  }

  private remove(set: AttrSet): void {
    const t = this.table;
    const mask = this.mask;
    let i = set.hash & mask;
    while (t[i] !== set.id + 1) i = (i + 1) & mask;
    // Backward-shift deletion (no tombstones).
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = t[j]!;
      if (v === 0) break;
      const k = this.hashes[v - 1]! & mask;
      if (j > i ? k <= i || k > j : k <= i && k > j) {
        t[i] = v;
        i = j;
      }
    }
    t[i] = 0;
  }

  private create(hash: number, attrs: PathAttributes, nextHop: Address, linkLocal: string | undefined): AttrSet {
    // Copy-on-miss: only defined fields, NEXT_HOP dropped (the set's nextHop is the one truth);
    // nested arrays are frozen in place (the decoder hands over owned arrays, never subarray views
    // of a socket chunk).
    const stored = storedCopy(attrs);
    const id = this.freeIds.pop() ?? this.sets.length;
    if (id >= this.refcounts.length) {
      const n = this.refcounts.length * 2;
      const r = new Int32Array(n);
      r.set(this.refcounts);
      this.refcounts = r;
      const g = new Uint32Array(n);
      g.set(this.gens);
      this.gens = g;
      const h = new Int32Array(n);
      h.set(this.hashes);
      this.hashes = h;
    }
    const base = {
      id,
      hash,
      attrs: stored,
      nextHop,
      localPref: attrs.localPref ?? DEFAULT_LOCAL_PREF,
      asPathLength: pathLength(attrs.asPath),
      origin: attrs.origin ?? 2,
      med: attrs.med ?? -1,
      neighborAs: neighborAsOf(attrs.asPath),
      originatorId: attrs.originatorId ?? -1,
      clusterListLength: attrs.clusterList?.length ?? 0,
    };
    const set: AttrSet = Object.freeze(linkLocal === undefined ? base : { ...base, linkLocal });
    if (id === this.sets.length) this.sets.push(set);
    else this.sets[id] = set;
    this.refcounts[id] = 0;
    this.gens[id] = (this.gens[id]! + 1) >>> 0;
    this.hashes[id] = hash;
    if ((this.live + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    this.insert(id);
    this.live++;
    return set;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size);
    this.mask = size - 1;
    const sets = this.sets;
    for (let id = 0; id < sets.length; id++) if (sets[id] !== undefined) this.insert(id);
  }
}

/** Does the AS path contain `asn` (in any segment type)? RFC 4271 §9.1.2 loop detection. */
export function asPathCount(segments: readonly AsPathSegment[] | undefined, asn: number): number {
  if (segments === undefined) return 0;
  let n = 0;
  for (let i = 0; i < segments.length; i++) {
    const asns = segments[i]!.asns;
    for (let k = 0; k < asns.length; k++) if (asns[k] === asn) n++;
  }
  return n;
}
