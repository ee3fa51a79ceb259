/**
 * Compact route storage: typed arrays instead of per-route objects (a Map entry plus a route
 * object costs ~150 bytes in V8; a candidate here costs ~25 bytes plus its index slot).
 *
 * - `PrefixTable`: prefix -> dense prefix id (open addressing, linear probing, backward-shift
 *   delete), and the per-prefix Loc-RIB columns: head of the candidate list, best slot, flags.
 * - `Candidates`: one slot per received path (Adj-RIB-In entry == Loc-RIB candidate): prefix id,
 *   peer index, path id, post-policy set id, pre-policy set id, next-in-prefix-list, flags. Free
 *   slots chain through `next`.
 * - `PeerIndex`: per peer, (prefix id, path id) -> slot, storing only slot+1 (keys are read back
 *   from `Candidates`).
 */
import type { Prefix } from '../proto/prefix.js';

function hashNum(p: number): number {
  // ToUint32 is modulo 2^32, so `>>> 0` is the low word of any exact integer below 2^53.
  const lo = p >>> 0;
  const hi = (p / 4294967296) | 0;
  const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  return h ^ (h >>> 15);
}

function hashPair(a: number, b: number): number {
  const h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
  return h ^ (h >>> 15);
}

function grow32(a: Int32Array, n: number, fill = 0): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** Per-prefix flag: queued for the decision process. */
export const P_QUEUED = 1;

export class PrefixTable {
  /** IPv4 prefix per id (NaN for IPv6 ids and free ids). */
  private keys: Float64Array;
  private readonly v6 = new Map<string, number>();
  private readonly v6ById = new Map<number, string>();
  private slots: Int32Array;
  private mask: number;
  private used4 = 0;
  /** Ids [0, high) have been handed out at least once. */
  high = 0;
  private freeIds: Int32Array;
  private nFree = 0;
  head: Int32Array;
  best: Int32Array;
  flags: Uint8Array;

  constructor(initial = 1024) {
    this.keys = new Float64Array(initial).fill(NaN);
    this.head = new Int32Array(initial).fill(-1);
    this.best = new Int32Array(initial).fill(-1);
    this.flags = new Uint8Array(initial);
    this.freeIds = new Int32Array(64);
    this.slots = new Int32Array(initial * 2);
    this.mask = this.slots.length - 1;
  }

  get capacity(): number {
    return this.keys.length;
  }

  get size(): number {
    return this.high - this.nFree;
  }

  find(p: Prefix): number {
    if (typeof p !== 'number') return this.v6.get(p) ?? -1;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashNum(p) & mask;
    for (;;) {
      const v = slots[i]!;
      if (v === 0) return -1;
      if (this.keys[v - 1] === p) return v - 1;
      i = (i + 1) & mask;
    }
  }

  ensure(p: Prefix): number {
    if (typeof p !== 'number') {
      const got = this.v6.get(p);
      if (got !== undefined) return got;
      const id = this.allocId();
      this.v6.set(p, id);
      this.v6ById.set(id, p);
      return id;
    }
    const mask = this.mask;
    let i = hashNum(p) & mask;
    for (;;) {
      const v = this.slots[i]!;
      if (v === 0) break;
      if (this.keys[v - 1] === p) return v - 1;
      i = (i + 1) & mask;
    }
    const id = this.allocId();
    this.keys[id] = p;
    this.slots[i] = id + 1;
    if (++this.used4 * 10 > this.slots.length * 7) this.rehash(this.slots.length * 2);
    return id;
  }

  prefixOf(id: number): Prefix {
    const k = this.keys[id]!;
    if (k === k) return k; // not NaN
    const s = this.v6ById.get(id);
    if (s === undefined) throw new Error(`PrefixTable: id ${id} is free`);
    return s;
  }

  isLive(id: number): boolean {
    const k = this.keys[id];
    return k !== undefined && (k === k || this.v6ById.has(id));
  }

  release(id: number): void {
    const k = this.keys[id]!;
    if (k === k) {
      this.deleteSlot(k, id);
      this.keys[id] = NaN;
      this.used4--;
    } else {
      const s = this.v6ById.get(id);
      if (s === undefined) throw new Error(`PrefixTable.release: id ${id} is free`);
      this.v6ById.delete(id);
      this.v6.delete(s);
    }
    this.head[id] = -1;
    this.best[id] = -1;
    this.flags[id] = 0;
    if (this.nFree === this.freeIds.length) this.freeIds = grow32(this.freeIds, this.freeIds.length * 2);
    this.freeIds[this.nFree++] = id;
  }

  private allocId(): number {
    if (this.nFree > 0) return this.freeIds[--this.nFree]!;
    if (this.high === this.keys.length) this.growIds();
    return this.high++;
  }

  private growIds(): void {
    // 1.5x: the id columns are most of the per-prefix cost, so keep the slack small.
    const n = Math.ceil(this.keys.length * 1.5);
    const k = new Float64Array(n).fill(NaN);
    k.set(this.keys);
    this.keys = k;
    this.head = grow32(this.head, n, -1);
    this.best = grow32(this.best, n, -1);
    const f = new Uint8Array(n);
    f.set(this.flags);
    this.flags = f;
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let id = 0; id < this.high; id++) {
      const k = this.keys[id]!;
      if (k !== k) continue;
      let i = hashNum(k) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private deleteSlot(k: number, id: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = hashNum(k) & mask;
    while (slots[i] !== id + 1) {
      if (slots[i] === 0) throw new Error('PrefixTable: key not in index');
      i = (i + 1) & mask;
    }
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = slots[j]!;
      if (v === 0) break;
      const h = hashNum(this.keys[v - 1]!) & mask;
      if (j > i ? h <= i || h > j : h <= i && h > j) {
        slots[i] = v;
        i = j;
      }
    }
    slots[i] = 0;
  }
}

/** Candidate flags. */
export const C_GONE = 1; // withdrawn; kept until the decision has seen it (old best for the change stream)
export const C_MP = 2; // in the current best/multipath set (the best has it too)
export const C_STALE_GR = 4; // RFC 4724 helper: from a restarting peer, not yet refreshed
export const C_STALE_RR = 8; // RFC 7313: between BoRR and EoRR, not yet refreshed

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

  constructor(initial = 1024) {
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
    this.flags[s] = 0;
    this.attr[s] = -1;
    if (this.attrIn.length > 0) this.attrIn[s] = -1;
    this.next[s] = this.freeHead;
    this.freeHead = s;
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

/** One peer's Adj-RIB-In index: (prefix id, path id) -> candidate slot. */
export class PeerIndex {
  slots: Int32Array;
  private mask: number;
  size = 0;
  count4 = 0;
  count6 = 0;

  constructor(private readonly c: Candidates, initial = 16) {
    this.slots = new Int32Array(initial);
    this.mask = initial - 1;
  }

  find(prefixId: number, pathId: number): number {
    const c = this.c;
    const mask = this.mask;
    let i = hashPair(prefixId, pathId) & mask;
    for (;;) {
      const v = this.slots[i]!;
      if (v === 0) return -1;
      if (c.prefix[v - 1] === prefixId && c.getPathId(v - 1) === pathId) return v - 1;
      i = (i + 1) & mask;
    }
  }

  /** Insert a slot whose (prefix, pathId) is not present. */
  insert(slot: number, v4: boolean): void {
    if ((this.size + 1) * 4 > this.slots.length * 3) this.rehash(this.slots.length * 2);
    const mask = this.mask;
    let i = hashPair(this.c.prefix[slot]!, this.c.getPathId(slot)) & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = slot + 1;
    this.size++;
    if (v4) this.count4++;
    else this.count6++;
  }

  /** Point the entry for `oldSlot`'s key at `newSlot` (same key). */
  replace(oldSlot: number, newSlot: number): void {
    const mask = this.mask;
    let i = hashPair(this.c.prefix[oldSlot]!, this.c.getPathId(oldSlot)) & mask;
    while (this.slots[i] !== oldSlot + 1) i = (i + 1) & mask;
    this.slots[i] = newSlot + 1;
  }

  remove(slot: number, v4: boolean): void {
    const c = this.c;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashPair(c.prefix[slot]!, c.getPathId(slot)) & mask;
    while (slots[i] !== slot + 1) {
      if (slots[i] === 0) throw new Error('PeerIndex.remove: slot not indexed');
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = slots[j]!;
      if (v === 0) break;
      const h = hashPair(c.prefix[v - 1]!, c.getPathId(v - 1)) & mask;
      if (j > i ? h <= i || h > j : h <= i && h > j) {
        slots[i] = v;
        i = j;
      }
    }
    slots[i] = 0;
    this.size--;
    if (v4) this.count4--;
    else this.count6--;
  }

  /** Every slot, in table order. */
  forEach(fn: (slot: number) => void): void {
    const s = this.slots;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      if (v !== 0) fn(v - 1);
    }
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    const mask = this.mask;
    for (let k = 0; k < old.length; k++) {
      const v = old[k]!;
      if (v === 0) continue;
      let i = hashPair(this.c.prefix[v - 1]!, this.c.getPathId(v - 1)) & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = v;
    }
  }
}
