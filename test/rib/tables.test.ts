// rib/tables.ts internals (PrefixTable growth, tombstones, id reuse; candidate lists and peer
// scans) and the RIB-level behaviour that rests on them.
import t from 'tap';
import { C_FREE, C_GONE, Candidates, PrefixTable } from '../../rib/tables.js';
import { Rib } from '../../rib/rib.js';
import { kernelRouteFor } from '../../rib/kernel-intent.js';
import { AttrStore } from '../../rib/attrs.js';
import { exportAttrs } from '../../rib/policy.js';
import type { KernelChange } from '../../rib/kernel-types.js';
import type { Prefix } from '../../proto/prefix.js';
import { prefix4 } from '../../proto/prefix.js';
import { announce, ibgpAttrs, ip, peer, pfx, seq, withdraw } from './helpers.js';

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
}

/** Distinct IPv4 prefixes, including addresses >= 2^31 and /0, /32. */
function prefixes(n: number, seed = 1): number[] {
  const r = lcg(seed);
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < n) {
    const p = prefix4(r(), [0, 8, 16, 22, 24, 24, 32][r() % 7]!);
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

t.test('PrefixTable: incremental growth keeps every key findable, ids dense and stable', async (t) => {
  const pt = new PrefixTable(16);
  const ps = prefixes(50_000);
  const ids = new Map<number, number>();
  let sawGrowing = false;
  let lastIndex = pt.indexSize;
  for (const p of ps) {
    const id = pt.ensure(p);
    ids.set(p, id);
    if (pt.growing) {
      sawGrowing = true;
      // Mid-growth: a key from before and the one just added are both found.
      if (pt.find(ps[0]!) !== ids.get(ps[0]!) || pt.find(p) !== id) t.fail(`lookup during growth at ${ids.size}`);
    }
    lastIndex = pt.indexSize;
  }
  t.ok(sawGrowing, 'growth happened incrementally');
  t.ok(lastIndex >= 65536, 'index grew');
  t.equal(pt.size, ps.length);
  t.same([...ids.values()].sort((a, b) => a - b), ps.map((_, i) => i), 'ids are dense 0..n-1');
  let bad = 0;
  for (const p of ps) if (pt.find(p) !== ids.get(p) || pt.prefixOf(ids.get(p)!) !== p || pt.ensure(p) !== ids.get(p)) bad++;
  t.equal(bad, 0, 'every prefix maps to its id and back; ensure of a present key returns it');
  t.equal(pt.size, ps.length, 'no duplicates from ensure');
  for (const p of prefixes(1000, 99)) if (!ids.has(p)) t.equal(pt.find(p), -1);
});

t.test('PrefixTable: release, tombstones and id reuse, including while growing', async (t) => {
  const pt = new PrefixTable(16);
  const ps = prefixes(20_000, 7);
  const ids = ps.map((p) => pt.ensure(p));
  // Release every other prefix (some of them while a growth is in flight, from the inserts above).
  const released = new Set<number>();
  for (let i = 0; i < ps.length; i += 2) {
    pt.release(ids[i]!);
    released.add(ids[i]!);
  }
  t.equal(pt.size, ps.length / 2);
  let bad = 0;
  for (let i = 0; i < ps.length; i++) {
    const want = i % 2 === 0 ? -1 : ids[i]!;
    if (pt.find(ps[i]!) !== want) bad++;
    if (pt.isLive(ids[i]!) !== (i % 2 === 1)) bad++;
  }
  t.equal(bad, 0, 'released keys gone, others intact');
  t.throws(() => pt.prefixOf(ids[0]!), /free/);
  // New prefixes reuse the freed ids (no id growth).
  const high = pt.high;
  const fresh = prefixes(5_000, 8).filter((p) => pt.find(p) < 0);
  const freshIds = fresh.map((p) => pt.ensure(p));
  t.equal(pt.high, high, 'freed ids reused before new ones');
  t.ok(freshIds.every((id) => released.has(id)));
  for (let i = 0; i < fresh.length; i++) if (pt.find(fresh[i]!) !== freshIds[i] || pt.prefixOf(freshIds[i]!) !== fresh[i]) bad++;
  t.equal(bad, 0, 'reused ids map to their new prefixes');
  // Churn: release and re-add the same keys many times; tombstones must not exhaust the index.
  const index = pt.indexSize;
  const churn = prefixes(3_000, 9).filter((p) => pt.find(p) < 0);
  for (let round = 0; round < 40; round++) {
    const cids = churn.map((p) => pt.ensure(p));
    for (const id of cids) pt.release(id);
  }
  t.ok(pt.indexSize <= index * 2, `tombstones cleaned by same-size rebuilds (index ${index} -> ${pt.indexSize})`);
  for (let i = 1; i < ps.length; i += 2) if (pt.find(ps[i]!) !== ids[i]) bad++;
  t.equal(bad, 0, 'survivors intact after churn');
  // Mass withdrawal then reload.
  for (let i = 1; i < ps.length; i += 2) pt.release(ids[i]!);
  for (const id of freshIds) pt.release(id);
  t.equal(pt.size, 0);
  const again = ps.map((p) => pt.ensure(p));
  t.equal(pt.size, ps.length);
  t.ok(pt.high <= ps.length + 5_000, 'ids reused after mass withdrawal');
  for (let i = 0; i < ps.length; i++) if (pt.find(ps[i]!) !== again[i]) bad++;
  t.equal(bad, 0);
  pt.settle();
  t.notOk(pt.growing);
});

t.test('PrefixTable: IPv6 keys beside IPv4 ones', async (t) => {
  const pt = new PrefixTable(4);
  const a = pfx('fd00:1::/64');
  const b = pfx('10.0.0.0/8');
  const ia = pt.ensure(a);
  const ib = pt.ensure(b);
  t.not(ia, ib);
  t.equal(pt.find(a), ia);
  t.equal(pt.prefixOf(ia), a);
  t.ok(pt.isV4(ib));
  t.notOk(pt.isV4(ia));
  pt.release(ia);
  t.equal(pt.find(a), -1);
  t.equal(pt.ensure(pfx('fd00:2::/64')), ia, 'v6 id reused');
  t.equal(pt.find(pfx('0.0.0.0/0')), -1);
  const z = pt.ensure(pfx('0.0.0.0/0'));
  t.equal(pt.prefixOf(z), pfx('0.0.0.0/0'));
  const top = pfx('255.255.255.255/32');
  t.equal(pt.prefixOf(pt.ensure(top)), top);
});

t.test('Candidates: findInList skips withdrawn history; forEachOfPeer skips free and gone slots', async (t) => {
  const c = new Candidates(4);
  const link = (slots: number[]): number => {
    for (let i = 0; i < slots.length; i++) c.next[slots[i]!] = i + 1 < slots.length ? slots[i + 1]! : -1;
    return slots[0]!;
  };
  const mk = (peerIdx: number, pathId: number): number => {
    const s = c.alloc();
    c.peer[s] = peerIdx;
    c.flags[s] = 0;
    c.setPathId(s, pathId);
    return s;
  };
  const a = mk(1, 0);
  const b = mk(2, 0);
  const gone = mk(3, 0);
  c.flags[gone] = C_GONE;
  const d = mk(3, 0);
  const head = link([a, b, gone, d]);
  t.equal(c.findInList(head, 2, 0), b);
  t.equal(c.findInList(head, 3, 0), d, 'the live entry, not the withdrawn one');
  t.equal(c.findInList(head, 4, 0), -1);
  t.equal(c.findInList(head, 1, 7), -1, 'no path id column: only path id 0 exists');
  const e = mk(1, 7); // allocates the path id column
  const head2 = link([e, a, b, gone, d]);
  t.equal(c.findInList(head2, 1, 7), e);
  t.equal(c.findInList(head2, 1, 0), a);
  const seen: number[] = [];
  c.forEachOfPeer(3, (s) => seen.push(s));
  t.same(seen, [d]);
  c.free(d);
  t.equal(c.flags[d], C_FREE);
  seen.length = 0;
  c.forEachOfPeer(3, (s) => seen.push(s));
  t.same(seen, [], 'freed slots are not the peer\'s any more');
  t.equal(c.alloc(), d, 'free list reuse');
});

t.test('RIB at scale: growth mid-stream, per-peer counts, peer down, id reuse, references', async (t) => {
  const rib = new Rib({
    asn: 64512, routerId: ip('10.0.0.254'), nodeAddress: { address: ip('10.0.0.254'), length: 24 }, pools: [],
    exportPolicy: { pools: [], extraExport: [], exportOutsidePools: true }, kernel: { tunnelDevice: 'tunl0' },
  });
  const a = peer('10.0.0.1', { maxPrefix: { limit: 1_000_000, action: 'warn' } });
  const b = peer('10.0.0.2');
  const e = peer('10.0.0.9', { asn: 65009 });
  for (const p of [a, b, e]) rib.handle({ type: 'peerUp', peer: p }, 0);
  const ps = prefixes(30_000, 3);
  const drainAll = (): { kernel: KernelChange[]; adv: number; wd: number } => {
    const kernel: KernelChange[] = [];
    let adv = 0;
    let wd = 0;
    for (;;) {
      const o = rib.drain(4096);
      kernel.push(...o.kernel);
      for (const u of o.updates) {
        wd += u.withdrawn.length;
        for (const g of u.groups) adv += g.prefixes.length;
      }
      if (!o.more) return { kernel, adv, wd };
    }
  };
  for (let i = 0; i < ps.length; i += 10) rib.handle({ type: 'update', peer: a.id, message: announce(ps.slice(i, i + 10), ibgpAttrs('10.0.0.1', { asPath: [seq(65001, i)] })) }, 0);
  const first = drainAll();
  t.equal(first.kernel.length, ps.length);
  t.equal(first.adv, ps.length, 'every prefix advertised to the eBGP peer');
  t.equal(rib.stats().prefixes, ps.length);
  // b announces half of them: a second candidate per prefix, best unchanged or moved by router id.
  const half = ps.slice(0, ps.length / 2);
  for (let i = 0; i < half.length; i += 10) rib.handle({ type: 'update', peer: b.id, message: announce(half.slice(i, i + 10), ibgpAttrs('10.0.0.2', { asPath: [seq(65001, i)] })) }, 0);
  drainAll();
  t.equal(rib.stats().candidates, ps.length + half.length);
  t.equal(rib.adjRibIn(b.id).size, half.length, 'adjRibIn from the peer scan');
  // a withdraws all: the shared half falls back to b, the rest disappears.
  for (let i = 0; i < ps.length; i += 100) rib.handle({ type: 'update', peer: a.id, message: withdraw(ps.slice(i, i + 100)) }, 0);
  const w = drainAll();
  t.equal(w.kernel.filter((k) => k.route === null).length, ps.length - half.length);
  t.equal(w.wd, ps.length - half.length, 'withdrawn towards the eBGP peer');
  t.equal(rib.stats().prefixes, half.length);
  t.same(rib.explain(half[0]!).map((x) => x.peer), [b.id]);
  // Re-announce from a after the table shrank: ids are reused, lookups stay right.
  for (let i = 0; i < ps.length; i += 10) rib.handle({ type: 'update', peer: a.id, message: announce(ps.slice(i, i + 10), ibgpAttrs('10.0.0.1')) }, 0);
  drainAll();
  t.equal(rib.stats().prefixes, ps.length);
  t.equal(rib.adjRibOut(e.id).size, ps.length);
  // Session loss of b, then a: everything goes, every reference is released.
  rib.handle({ type: 'peerDown', peer: b.id, graceful: false }, 0);
  drainAll();
  t.equal(rib.stats().candidates, ps.length);
  rib.handle({ type: 'peerDown', peer: a.id, graceful: false }, 0);
  const gone = drainAll();
  t.equal(gone.kernel.filter((k) => k.route === null).length, ps.length);
  t.same(rib.stats(), { prefixes: 0, candidates: 0, attrSets: 0, attrRefs: 0, queued: 0, bestV4: 0, bestV6: 0 });
  t.equal(rib.kernelSnapshot().length, 0);
});

t.test('kernel intent: shared next-hop arrays equal kernelRouteFor, per pool mode', async (t) => {
  const pools = [
    { cidr: pfx('172.18.0.0/16'), ipipMode: 'Always' as const, vxlanMode: 'Never' as const, disableBgpExport: false },
    { cidr: pfx('172.19.0.0/16'), ipipMode: 'CrossSubnet' as const, vxlanMode: 'Never' as const, disableBgpExport: false },
    { cidr: pfx('172.20.0.0/16'), ipipMode: 'Never' as const, vxlanMode: 'Always' as const, disableBgpExport: false },
  ];
  const cfg = { pools, tunnelDevice: 'tunl0', nodeAddress: { address: ip('10.0.0.254'), length: 24 } };
  const rib = new Rib({
    asn: 64512, routerId: ip('10.0.0.254'), nodeAddress: cfg.nodeAddress, pools,
    exportPolicy: { pools, extraExport: [], exportOutsidePools: true }, kernel: { tunnelDevice: 'tunl0' },
  });
  const a = peer('10.0.0.1');
  const far = peer('192.168.0.1');
  rib.handle({ type: 'peerUp', peer: a }, 0);
  rib.handle({ type: 'peerUp', peer: far }, 0);
  const ps: Prefix[] = ['172.18.1.0/26', '172.18.2.0/26', '172.19.1.0/26', '172.20.1.0/26', '10.9.0.0/16'].map(pfx);
  rib.handle({ type: 'update', peer: a.id, message: announce(ps, ibgpAttrs('10.0.0.1')) }, 0);
  rib.handle({ type: 'update', peer: far.id, message: announce([pfx('172.19.2.0/26')], ibgpAttrs('192.168.0.1')) }, 0);
  const kernel: KernelChange[] = [];
  for (let o = rib.drain(100); ; o = rib.drain(100)) {
    kernel.push(...o.kernel);
    if (!o.more) break;
  }
  for (const k of kernel) {
    const nh = k.prefix === pfx('172.19.2.0/26') ? ip('192.168.0.1') : ip('10.0.0.1');
    t.same(k.route, kernelRouteFor(k.prefix, { kind: 'remote', nextHops: [nh] }, cfg), `prefix ${String(k.prefix)}`);
  }
  t.equal(kernel.length, 5, 'the VXLAN pool route is not programmed');
  const r1 = kernel.find((k) => k.prefix === ps[0])!.route;
  const r2 = kernel.find((k) => k.prefix === ps[1])!.route;
  t.ok(r1 !== null && r2 !== null && r1.kind === 'unicast' && r2.kind === 'unicast' && r1.nextHops === r2.nextHops, 'one next-hop array for the same (pool, next hop)');
  t.ok(r1 !== null && r1.kind === 'unicast' && Object.isFrozen(r1.nextHops) && Object.isFrozen(r1.nextHops[0]), 'shared next hops are frozen');
  t.same(rib.kernelSnapshot().length, 5);
  // Pools change: the cache is dropped (CrossSubnet becomes Always for 172.19/16).
  const pools2 = pools.map((p) => (p.ipipMode === 'CrossSubnet' ? { ...p, ipipMode: 'Always' as const } : p));
  rib.handle({ type: 'policyChanged', pools: pools2 }, 0);
  const snap = rib.kernelSnapshot();
  const cfg2 = { ...cfg, pools: pools2 };
  for (const r of snap) {
    const nh = r.prefix === pfx('172.19.2.0/26') ? ip('192.168.0.1') : ip('10.0.0.1');
    t.same(r, kernelRouteFor(r.prefix, { kind: 'remote', nextHops: [nh] }, cfg2));
  }
});

t.test('exportAttrs: interned input (frozen lists) in, exact attributes out', async (t) => {
  const st = new AttrStore();
  const set = st.intern({ origin: 0, asPath: [seq(65001, 65002), { type: 1, asns: [7, 8] }], med: 5, localPref: 200, communities: [0xfde80001, 1], originatorId: 9, clusterList: [3], largeCommunities: [[1, 2, 3]] }, ip('10.0.0.1'));
  t.ok(Object.isFrozen(set.attrs.asPath) && Object.isFrozen(set.attrs.asPath![0]!.asns) && Object.isFrozen(set.attrs.largeCommunities![0]), 'interned lists are frozen');
  // Except the two lists of 32-bit values (rib/attrs.ts freezeOnce): freezing would box them.
  t.notOk(Object.isFrozen(set.attrs.communities) || Object.isFrozen(set.attrs.clusterList), 'COMMUNITIES and CLUSTER_LIST kept as unboxed number arrays');
  const e = exportAttrs(set, { kind: 'ibgp', routerId: 5 }, { kind: 'ebgp', localAsn: 64512, selfNextHop: ip('10.0.0.254'), nextHopMode: 'auto' }, false, undefined);
  t.same(e.attrs, { origin: 0, asPath: [seq(64512, 65001, 65002), { type: 1, asns: [7, 8] }], communities: [0xfde80001, 1], largeCommunities: [[1, 2, 3]] });
  t.same(Object.keys(e.attrs).sort(), ['asPath', 'communities', 'largeCommunities', 'origin'], 'no undefined-valued keys left behind');
  t.same(set.attrs.asPath, [seq(65001, 65002), { type: 1, asns: [7, 8] }], 'input untouched');
  const i = exportAttrs(set, { kind: 'ibgp', routerId: 5 }, { kind: 'ibgp', localAsn: 64512, selfNextHop: 1, nextHopMode: 'auto' }, true, 77);
  t.same(i.attrs.clusterList, [77, 3]);
  t.equal(i.attrs.originatorId, 9);
  t.equal(i.attrs.med, 5);
  t.equal(i.attrs.localPref, 200);
  const out = st.intern(e.attrs, e.nextHop);
  t.equal(st.intern(e.attrs, e.nextHop), out, 'interns to one set');
  t.equal(out.asPathLength, 4);
  t.equal(out.neighborAs, 64512);
});
