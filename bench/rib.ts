/**
 * RIB benchmark: 1M IPv4 prefixes with ~100k attribute sets from several eBGP peers through
 * Adj-RIB-In, Loc-RIB and one Adj-RIB-Out (an eBGP peer, so every set is rewritten and interned
 * again on the way out). Run: node --expose-gc dist/bench/rib.js [prefixes] [attrSets] [peers]
 *
 * Reports ingest prefixes/s, heap bytes per route (heapUsed delta after gc / prefixes), time to
 * withdraw everything, and the longest synchronous chunk (event-loop block) with
 * perf_hooks.monitorEventLoopDelay as a cross-check.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { Rib } from '../rib/rib.js';
import type { PeerConfig } from '../rib/messages.js';
import type { PathAttributes, UpdateMessage } from '../proto/types.js';
import { Family } from '../proto/types.js';
import { prefix4 } from '../proto/prefix.js';

const N = Number(process.argv[2] ?? 1_000_000);
const SETS = Number(process.argv[3] ?? 100_000);
const PEERS = Number(process.argv[4] ?? 4);
const CHUNK = 16_384; // prefixes per event-loop turn (handle + drain)

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(0x5eed);
const ri = (n: number): number => Math.floor(rnd() * n);

// Realistic IPv4 table length mix (roughly a 2025 DFZ: ~60% /24).
const LEN_MIX: [number, number][] = [
  [24, 0.6], [23, 0.08], [22, 0.1], [21, 0.05], [20, 0.05], [19, 0.04], [18, 0.02], [17, 0.02], [16, 0.025], [15, 0.005], [14, 0.004], [13, 0.003], [12, 0.002], [11, 0.001], [10, 0.001], [8, 0.001],
];
function randomLength(): number {
  let x = rnd();
  for (const [l, w] of LEN_MIX) {
    if (x < w) return l;
    x -= w;
  }
  return 24;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
}

// --- data (generated before the heap baseline) ---
const prefixes = new Float64Array(N);
{
  const seen = new Set<number>();
  let i = 0;
  while (i < N) {
    const p = prefix4(((1 + ri(223)) * 16777216 + ri(16777216)) >>> 0, randomLength());
    if (seen.has(p)) continue;
    seen.add(p);
    prefixes[i++] = p;
  }
}
// Attribute set descriptors: AS path 1..8 ASNs, optional MED, 0..4 communities. Set s belongs to peer s % PEERS.
const asPathStart = new Int32Array(SETS + 1);
const asns: number[] = [];
const med = new Int32Array(SETS);
const commCount = new Uint8Array(SETS);
for (let s = 0; s < SETS; s++) {
  asPathStart[s] = asns.length;
  const len = 1 + ri(8);
  for (let k = 0; k < len; k++) asns.push(k === 0 ? 65000 + (s % PEERS) : 1 + ri(400000));
  med[s] = rnd() < 0.3 ? ri(1000) : -1;
  commCount[s] = ri(5);
}
asPathStart[SETS] = asns.length;
const asnArr = Int32Array.from(asns);

// Each update: one set, ~N/SETS prefixes (like real UPDATEs, grouped by attributes).
function attrsFor(s: number, peer: number): PathAttributes {
  const path: number[] = [];
  for (let k = asPathStart[s]!; k < asPathStart[s + 1]!; k++) path.push(asnArr[k]!);
  const a: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {
    origin: 0,
    asPath: [{ type: 2, asns: path }],
    nextHop: (0x0a000001 + peer) >>> 0,
  };
  if (med[s]! >= 0) a.med = med[s]!;
  if (commCount[s]! > 0) {
    const cs: number[] = [];
    for (let k = 0; k < commCount[s]!; k++) cs.push(((65000 + k) * 65536 + (s & 0xffff)) >>> 0);
    a.communities = cs;
  }
  return a;
}

function peerCfg(i: number, asn: number): PeerConfig {
  return {
    id: `10.0.0.${i + 1}`, address: (0x0a000001 + i) >>> 0, asn, localAsn: 64512, routerId: (0x0a000001 + i) >>> 0,
    localAddress: 0x0a0000fe, families: [Family.Ipv4Unicast], rrClient: false, nextHopMode: 'auto',
    addPathReceive: [], addPathSend: [], addPathSendMode: 'multipath', enhancedRouteRefresh: false,
    softReconfigIn: false, allowOwnAs: 0
  };
}

async function main(): Promise<void> {
  const perUpdate = Math.max(1, Math.round(N / SETS));
  gc();
  // Typed-array backing stores live outside the V8 heap: count them too (arrayBuffers).
  const mem = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = mem();
  const rib = new Rib({
    asn: 64512, routerId: 0x0a0000fe, nodeAddress: { address: 0x0a0000fe, length: 24 }, pools: [],
    exportPolicy: { pools: [], extraExport: [], exportOutsidePools: true }, kernel: { tunnelDevice: 'tunl0' },
  });
  // Sources are iBGP (mesh nodes relaying external routes): RFC 4271 §9.2 keeps their own
  // Adj-RIB-Outs empty, so exactly one Adj-RIB-Out (the eBGP peer) is measured.
  for (let i = 0; i < PEERS; i++) rib.handle({ type: 'peerUp', peer: peerCfg(i, 64512) }, 0);
  rib.handle({ type: 'peerUp', peer: peerCfg(100, 65100) }, 0); // the Adj-RIB-Out under test

  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let maxBlock = 0;
  let handleMs = 0;
  let drainMs = 0;
  let sent = 0;
  let kernelChanges = 0;
  let outPrefixes = 0;
  const t0 = performance.now();
  let next = 0;
  let set = 0;
  while (next < N || rib.stats().queued > 0) {
    const c0 = performance.now();
    const stop = Math.min(N, next + CHUNK);
    while (next < stop) {
      const n = Math.min(perUpdate, N - next);
      const s = set++ % SETS;
      const peer = s % PEERS;
      const nlri: number[] = new Array<number>(n);
      for (let k = 0; k < n; k++) nlri[k] = prefixes[next + k]!;
      next += n;
      const msg: UpdateMessage = { type: 'update', withdrawn: [], attrs: attrsFor(s, peer), nlri };
      rib.handle({ type: 'update', peer: `10.0.0.${peer + 1}`, message: msg }, 0);
    }
    const d0 = performance.now();
    handleMs += d0 - c0;
    const out = rib.drain(CHUNK);
    drainMs += performance.now() - d0;
    kernelChanges += out.kernel.length;
    for (const u of out.updates) for (const g of u.groups) outPrefixes += g.prefixes.length;
    maxBlock = Math.max(maxBlock, performance.now() - c0);
    sent = next;
    await tick();
  }
  // Finish the initial-table walk of the out peer (it came up before the routes, so nothing left).
  for (let out = rib.drain(CHUNK); out.more; out = rib.drain(CHUNK)) await tick();
  const ingestMs = performance.now() - t0;
  const stats = rib.stats();
  gc();
  const heap = mem() - base;
  const attrCounts = rib.attrs.counts();

  // Withdraw everything, per peer, in UPDATE-sized batches.
  const w0 = performance.now();
  let wi = 0;
  set = 0;
  let withdrawnOut = 0;
  while (wi < N || rib.stats().queued > 0) {
    const c0 = performance.now();
    const stop = Math.min(N, wi + CHUNK);
    while (wi < stop) {
      const n = Math.min(perUpdate, N - wi);
      const peer = set++ % SETS % PEERS;
      const withdrawn: number[] = new Array<number>(n);
      for (let k = 0; k < n; k++) withdrawn[k] = prefixes[wi + k]!;
      wi += n;
      rib.handle({ type: 'update', peer: `10.0.0.${peer + 1}`, message: { type: 'update', withdrawn, attrs: null, nlri: [] } }, 0);
    }
    const out = rib.drain(CHUNK);
    for (const u of out.updates) withdrawnOut += u.withdrawn.length;
    maxBlock = Math.max(maxBlock, performance.now() - c0);
    await tick();
  }
  const withdrawMs = performance.now() - w0;
  h.disable();
  const after = rib.stats();
  const result = {
    prefixes: sent,
    attrSetsIn: SETS,
    peers: PEERS,
    ingestMs: Math.round(ingestMs),
    ingestHandleMs: Math.round(handleMs),
    ingestDrainMs: Math.round(drainMs),
    ingestPrefixesPerSec: Math.round(sent / (ingestMs / 1000)),
    heapBytesPerRoute: Math.round(heap / sent),
    heapMB: Math.round(heap / 1e6),
    locRibPrefixes: stats.prefixes,
    internedSets: attrCounts.sets,
    attrRefs: attrCounts.refs,
    kernelChanges,
    adjRibOutPrefixes: outPrefixes,
    withdrawAllMs: Math.round(withdrawMs),
    withdrawnToPeer: withdrawnOut,
    afterWithdraw: after,
    maxBlockMs: Math.round(maxBlock * 10) / 10,
    eventLoopDelayMaxMs: Math.round(h.max / 1e5) / 10,
    targets: {
      ingest: sent / (ingestMs / 1000) >= 1e6,
      memory: heap / sent <= 200,
      withdraw: withdrawMs < 1000,
      block: maxBlock <= 50,
    },
  };
  console.log(JSON.stringify(result, null, 2));
}

await main();
