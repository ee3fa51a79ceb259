/**
 * Compact route storage: typed arrays instead of per-route objects (a Map entry plus a route
 * object costs ~150 bytes in V8; a candidate here costs ~25 bytes plus its index slot).
 *
 * - `PrefixTable`: prefix -> dense prefix id (open addressing, linear probing over (hash, id)
 *   pairs, tombstones, incremental growth), and the per-prefix Loc-RIB columns: head of the
 *   candidate list, best slot, flags.
 * - `Candidates`: one slot per received path (Adj-RIB-In entry == Loc-RIB candidate): prefix id,
 *   peer index, path id, post-policy set id, pre-policy set id, next-in-prefix-list, flags. Free
 *   slots chain through `next`.
 * There is no per-peer index: a peer's entry for a prefix is found by walking the prefix's
 * candidate list (one entry per peer and path id, so a handful), and the rare whole-peer
 * operations (session down, graceful restart, route refresh) scan the candidate columns.
 */
import type { Prefix } from '../proto/prefix.js';

/**
 * Hash of an IPv4 prefix given as (address as int32, length): murmur3's 32-bit finalizer over the
 * address mixed with the length. The low bits must depend on the high address bits: real tables
 * are mostly /24s (low 8 bits zero), and a single multiply left every /24 with the same low bits,
 * so linear probing ran 7.5 slots on average (1.5 with full avalanche), each run a cache miss more.
 */
function hash4(addr: number, len: number): number {
  let h = addr ^ Math.imul(len, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function grow32(a: Int32Array, n: number, fill = 0): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** Per-prefix flag: queued for the decision process. */
export const P_QUEUED = 1;

/** `plen` marker of an IPv6 id (the prefix lives in the string maps). */
const PLEN_V6 = 0xfe;
/** `plen` marker of a free id. */
const PLEN_FREE = 0xff;
/** Index slot id field: 0 empty, -1 deleted (tombstone, or migrated out of the old index), else id + 1. */
const DELETED = -1;
/**
 * Old-index slots migrated per insert while growing. While both indexes exist a new key costs a
 * probe in each (two cache misses instead of one), so the window is kept short: 32 slots (a few
 * sequential cache lines) per insert ends it after 1/32 of the old size, about 4% of the inserts
 * between two growths.
 */
const MIGRATE_STEP = 32;

/**
 * prefix -> dense prefix id, and the per-prefix Loc-RIB columns.
 *
 * IPv4 keys are kept as two columns per id (address as int32, length as a byte) and hashed from
 * those, so no lookup, insert or delete touches a heap number; a prefix number is built only at
 * the edges (`prefixOf`). The index is open addressing with linear probing over interleaved
 * (32-bit hash, id + 1) pairs: a probe reads one cache line and compares full hashes, so the key
 * columns are read only for the real match (each such read is a cache miss at 1M prefixes).
 * Deletes leave a tombstone (a backward shift would rehash every following entry); inserts reuse
 * tombstones.
 *
 * Growth is incremental: when live entries plus tombstones pass 70% of the index, a new index
 * (twice the size, or the same size when mostly tombstones) is started and the old one is drained
 * into it MIGRATE_STEP slots per insert, in slot order, from the stored hashes: sequential reads
 * and two sequential write streams, no key reads. Meanwhile every entry is in exactly one index
 * (migrated slots become tombstones) and lookups consult both. No single call rehashes a million
 * entries. The id columns grow by 1.5x copies (memcpy speed).
 */
export class PrefixTable {
  /** IPv4 address (int32) per id. */
  private addr: Int32Array;
  /** IPv4 length per id; PLEN_V6 for IPv6 ids, PLEN_FREE for free ids. */
  private plen: Uint8Array;
  private readonly v6 = new Map<string, number>();
  private readonly v6ById = new Map<number, string>();
  /** Slot i: [2i] hash, [2i + 1] id field. */
  private slots: Int32Array;
  private mask: number;
  /** Live entries in `slots` (not counting those still in `old`). */
  private used4 = 0;
  /** Tombstones in `slots`. */
  private tombs4 = 0;
  /** The previous index while it is being drained into `slots`; null when not growing. */
  private old: Int32Array | null = null;
  private oldMask = 0;
  private oldCursor = 0;
  /** Ids [0, high) have been handed out at least once. */
  high = 0;
  private freeIds: Int32Array;
  private nFree = 0;
  head: Int32Array;
  best: Int32Array;
  flags: Uint8Array;

  constructor(initial = 1024) {
    this.addr = new Int32Array(initial);
    this.plen = new Uint8Array(initial).fill(PLEN_FREE);
    this.head = new Int32Array(initial).fill(-1);
    this.best = new Int32Array(initial).fill(-1);
    this.flags = new Uint8Array(initial);
    this.freeIds = new Int32Array(64);
    let n = 16;
    while (n < initial * 2) n *= 2;
    this.slots = new Int32Array(n * 2);
    this.mask = n - 1;
  }

  get capacity(): number {
    return this.plen.length;
  }

  get size(): number {
    return this.high - this.nFree;
  }

  /** True while an incremental index growth is in progress (tests). */
  get growing(): boolean {
    return this.old !== null;
  }

  /** Index slots (tests). */
  get indexSize(): number {
    return this.mask + 1;
  }

  find(p: Prefix): number {
    if (typeof p !== 'number') return this.v6.get(p) ?? -1;
    const q = Math.floor(p / 64); // exact: p < 2^38 (and no float modulo on the hot path)
    return this.find4(q | 0, p - q * 64);
  }

  /** Id of the IPv4 prefix (address as int32, length), or -1. */
  find4(a: number, len: number): number {
    const h = hash4(a, len);
    const id = this.probe(this.slots, this.mask, h, a, len);
    if (id >= 0 || this.old === null) return id;
    return this.probe(this.old, this.oldMask, h, a, len);
  }

  private probe(slots: Int32Array, mask: number, h: number, a: number, len: number): number {
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[2 * i + 1]!;
      if (v === 0) return -1;
      if (v > 0 && slots[2 * i] === h) {
        const id = v - 1;
        if (this.addr[id] === a && this.plen[id] === len) return id;
      }
    }
  }

  ensure(p: Prefix): number {
    if (typeof p !== 'number') {
      const got = this.v6.get(p);
      if (got !== undefined) return got;
      const id = this.allocId();
      this.plen[id] = PLEN_V6;
      this.v6.set(p, id);
      this.v6ById.set(id, p);
      return id;
    }
    const q = Math.floor(p / 64);
    return this.ensure4(q | 0, p - q * 64);
  }

  /**
   * Load the index slot of each IPv4 prefix of a batch (one UPDATE's NLRI or withdrawn routes)
   * before the batch is processed. At 1M prefixes the index is tens of MB and each prefix's slot
   * is a cache and TLB miss (~250 ns on a VM with nested paging) that nothing else overlaps when
   * the lookups are spread through the per-route work; in this tight loop the loads are
   * independent, so the CPU keeps several in flight and the lookups that follow hit the cache.
   */
  prefetch4(prefixes: readonly Prefix[]): void {
    const slots = this.slots;
    const mask = this.mask;
    const old = this.old;
    const oldMask = this.oldMask;
    let acc = 0;
    for (let k = 0; k < prefixes.length; k++) {
      const p = prefixes[k]!;
      if (typeof p !== 'number') continue;
      const q = Math.floor(p / 64);
      const h = hash4(q | 0, p - q * 64);
      acc ^= slots[2 * (h & mask) + 1]!;
      if (old !== null) acc ^= old[2 * (h & oldMask) + 1]!;
    }
    // Keep the loads observable so they are not optimised away.
    this.prefetchSink = acc;
  }

  /** Written by prefetch4 only (see there); public so the write is not an unused private. */
  prefetchSink = 0;

  /** Find or add the IPv4 prefix (address as int32, length). */
  ensure4(a: number, len: number): number {
    const h = hash4(a, len);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    let tomb = -1;
    for (;;) {
      const v = slots[2 * i + 1]!;
      if (v === 0) break;
      if (v > 0) {
        if (slots[2 * i] === h) {
          const id = v - 1;
          if (this.addr[id] === a && this.plen[id] === len) return id;
        }
      } else if (tomb < 0) tomb = i;
      i = (i + 1) & mask;
    }
    if (this.old !== null) {
      const got = this.probe(this.old, this.oldMask, h, a, len);
      if (got >= 0) return got;
    }
    const id = this.allocId();
    this.addr[id] = a;
    this.plen[id] = len;
    if (tomb >= 0) {
      i = tomb;
      this.tombs4--;
    }
    slots[2 * i] = h;
    slots[2 * i + 1] = id + 1;
    this.used4++;
    if (this.old !== null) this.migrate(MIGRATE_STEP);
    else if ((this.used4 + this.tombs4) * 10 > (mask + 1) * 7) this.startGrowth();
    return id;
  }

  prefixOf(id: number): Prefix {
    const l = this.plen[id]!;
    if (l <= 32) return (this.addr[id]! >>> 0) * 64 + l;
    const s = l === PLEN_V6 ? this.v6ById.get(id) : undefined;
    if (s === undefined) throw new Error(`PrefixTable: id ${id} is free`);
    return s;
  }

  isV4(id: number): boolean {
    return this.plen[id]! <= 32;
  }

  isLive(id: number): boolean {
    const l = this.plen[id];
    return l !== undefined && l !== PLEN_FREE;
  }

  release(id: number): void {
    const l = this.plen[id]!;
    if (l <= 32) {
      this.deleteKey(this.addr[id]!, l, id);
    } else {
      const s = l === PLEN_V6 ? this.v6ById.get(id) : undefined;
      if (s === undefined) throw new Error(`PrefixTable.release: id ${id} is free`);
      this.v6ById.delete(id);
      this.v6.delete(s);
    }
    this.plen[id] = PLEN_FREE;
    this.head[id] = -1;
    this.best[id] = -1;
    this.flags[id] = 0;
    if (this.nFree === this.freeIds.length) this.freeIds = grow32(this.freeIds, this.freeIds.length * 2);
    this.freeIds[this.nFree++] = id;
  }

  private allocId(): number {
    if (this.nFree > 0) return this.freeIds[--this.nFree]!;
    if (this.high === this.plen.length) this.growIds();
    return this.high++;
  }

  private growIds(): void {
    // 1.5x: the id columns are most of the per-prefix cost, so keep the slack small.
    const n = Math.ceil(this.plen.length * 1.5);
    this.addr = grow32(this.addr, n);
    const l = new Uint8Array(n).fill(PLEN_FREE);
    l.set(this.plen);
    this.plen = l;
    this.head = grow32(this.head, n, -1);
    this.best = grow32(this.best, n, -1);
    const f = new Uint8Array(n);
    f.set(this.flags);
    this.flags = f;
  }

  private startGrowth(): void {
    const n = this.mask + 1;
    this.old = this.slots;
    this.oldMask = this.mask;
    this.oldCursor = 0;
    // Mostly tombstones (after mass withdrawal): rebuild at the same size.
    const size = this.used4 * 10 > n * 3 ? n * 2 : n;
    this.slots = new Int32Array(size * 2);
    this.mask = size - 1;
    this.used4 = 0;
    this.tombs4 = 0;
    this.migrate(MIGRATE_STEP);
  }

  /** Move up to `n` old-index slots into the new index; drop the old index when done. */
  private migrate(n: number): void {
    const old = this.old!;
    const end = Math.min(this.oldMask + 1, this.oldCursor + n);
    const slots = this.slots;
    const mask = this.mask;
    for (let k = this.oldCursor; k < end; k++) {
      const v = old[2 * k + 1]!;
      if (v <= 0) continue; // empty or DELETED
      const h = old[2 * k]!;
      let i = h & mask;
      for (;;) {
        const w = slots[2 * i + 1]!;
        if (w === 0) break;
        if (w === DELETED) {
          this.tombs4--;
          break;
        }
        i = (i + 1) & mask;
      }
      slots[2 * i] = h;
      slots[2 * i + 1] = v;
      old[2 * k + 1] = DELETED;
      this.used4++;
    }
    this.oldCursor = end;
    if (end === this.oldMask + 1) this.old = null;
  }

  /** Finish any growth at once (tests). */
  settle(): void {
    if (this.old !== null) this.migrate(this.oldMask + 1);
  }

  private deleteKey(a: number, len: number, id: number): void {
    const h = hash4(a, len);
    const v = id + 1;
    if (this.old !== null) {
      // Not migrated yet? Then it is only in the old index, which never takes inserts.
      const old = this.old;
      for (let i = h & this.oldMask; ; i = (i + 1) & this.oldMask) {
        const x = old[2 * i + 1]!;
        if (x === 0) break;
        if (x === v) {
          old[2 * i + 1] = DELETED;
          return;
        }
      }
    }
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[2 * i + 1] !== v) {
      if (slots[2 * i + 1] === 0) throw new Error('PrefixTable: key not in index');
      i = (i + 1) & mask;
    }
    slots[2 * i + 1] = DELETED;
    this.used4--;
    this.tombs4++;
  }
}

/** Candidate flags. */
export const C_GONE = 1; // withdrawn; kept until the decision has seen it (old best for the change stream)
export const C_MP = 2; // in the current best/multipath set (the best has it too)
export const C_STALE_GR = 4; // RFC 4724 helper: from a restarting peer, not yet refreshed
export const C_STALE_RR = 8; // RFC 7313: between BoRR and EoRR, not yet refreshed
export const C_FREE = 16; // on the free list

export class Candidates {
  prefix: Int32Array;
  peer: Uint16Array;
  /**
   * RFC 7911 path id. Allocated on the first non-zero id: without ADD-PATH receive the column does
   * not exist (4 bytes per route saved); out-of-range typed-array reads are `undefined` -> 0.
   */
  pathId: Uint32Array = new Uint32Array(0);
  /** Post-policy set id, -1 when rejected/ineligible (kept only for soft reconfiguration). */
  attr: Int32Array;
  /** Pre-policy set id (soft reconfiguration inbound); lazily allocated like `pathId`, absent -> -1. */
  attrIn: Int32Array = new Int32Array(0);
  next: Int32Array;
  flags: Uint8Array;
  private freeHead = -1;
  private high = 0;
  live = 0;

  // 1280, not 1024: with one path per prefix, growing at the same counts as PrefixTable (1024 *
  // 1.5^k) would put both 1.5x copies (tens of MB at 1M routes) into the same drain/handle call.
  constructor(initial = 1280) {
    this.prefix = new Int32Array(initial);
    this.peer = new Uint16Array(initial);
    this.attr = new Int32Array(initial);
    this.next = new Int32Array(initial);
    this.flags = new Uint8Array(initial);
  }

  alloc(): number {
    this.live++;
    if (this.freeHead >= 0) {
      const s = this.freeHead;
      this.freeHead = this.next[s]!;
      return s;
    }
    if (this.high === this.prefix.length) this.grow();
    return this.high++;
  }

  free(s: number): void {
    this.live--;
    this.flags[s] = C_FREE;
    this.attr[s] = -1;
    if (this.attrIn.length > 0) this.attrIn[s] = -1;
    this.next[s] = this.freeHead;
    this.freeHead = s;
  }

  /** Slots ever handed out: [0, high) holds every live slot. */
  get highWater(): number {
    return this.high;
  }

  /**
   * The Adj-RIB-In entry of (`peer`, `pathId`) in the candidate list starting at `head`: the slot
   * not yet withdrawn (C_GONE slots are history kept for the change stream), or -1.
   */
  findInList(head: number, peer: number, pathId: number): number {
    const next = this.next;
    const pr = this.peer;
    const fl = this.flags;
    if (this.pathId.length === 0) {
      if (pathId !== 0) return -1;
      for (let s = head; s >= 0; s = next[s]!) if (pr[s] === peer && (fl[s]! & C_GONE) === 0) return s;
      return -1;
    }
    for (let s = head; s >= 0; s = next[s]!) if (pr[s] === peer && (fl[s]! & C_GONE) === 0 && this.pathId[s] === pathId) return s;
    return -1;
  }

  /** Every Adj-RIB-In entry (live, not withdrawn) of a peer, in slot order. */
  forEachOfPeer(peer: number, fn: (slot: number) => void): void {
    const pr = this.peer;
    const fl = this.flags;
    const n = this.high;
    for (let s = 0; s < n; s++) if (pr[s] === peer && (fl[s]! & (C_GONE | C_FREE)) === 0) fn(s);
  }

  getPathId(s: number): number {
    return this.pathId[s] ?? 0;
  }

  setPathId(s: number, v: number): void {
    if (this.pathId.length === 0) {
      if (v === 0) return;
      this.pathId = new Uint32Array(this.prefix.length);
    }
    this.pathId[s] = v;
  }

  getAttrIn(s: number): number {
    return this.attrIn[s] ?? -1;
  }

  setAttrIn(s: number, v: number): void {
    if (this.attrIn.length === 0) {
      if (v === -1) return;
      this.attrIn = new Int32Array(this.prefix.length).fill(-1);
    }
    this.attrIn[s] = v;
  }

  private grow(): void {
    const n = Math.ceil(this.prefix.length * 1.5);
    this.prefix = grow32(this.prefix, n);
    this.attr = grow32(this.attr, n);
    if (this.attrIn.length > 0) this.attrIn = grow32(this.attrIn, n, -1);
    this.next = grow32(this.next, n);
    const p = new Uint16Array(n);
    p.set(this.peer);
    this.peer = p;
    if (this.pathId.length > 0) {
      const q = new Uint32Array(n);
      q.set(this.pathId);
      this.pathId = q;
    }
    const f = new Uint8Array(n);
    f.set(this.flags);
    this.flags = f;
  }
}
