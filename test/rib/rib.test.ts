import t from 'tap';
import { Rib } from '../../rib/rib.js';
import type { RibOptions } from '../../rib/rib.js';
import type { PeerConfig, RibAction, RibOutput, PeerUpdate } from '../../rib/messages.js';
import type { KernelChange } from '../../rib/kernel-types.js';
import { Family } from '../../proto/types.js';
import { RouteRefreshSubtype } from '../../proto/constants.js';
import { announce, ibgpAttrs, ip, peer, pfx, seq, withdraw } from './helpers.js';

const RR_CLUSTER = ip('244.0.0.1');

function mkRib(over: Partial<RibOptions> = {}): Rib {
  return new Rib({
    asn: 64512, routerId: ip('10.0.0.254'), nodeAddress: { address: ip('10.0.0.254'), length: 24 }, nodeAddressV6: 'fd00::fe',
    pools: [{ cidr: pfx('172.18.0.0/16'), ipipMode: 'Always', vxlanMode: 'Never', disableBgpExport: false }],
    exportPolicy: { pools: [{ cidr: pfx('172.18.0.0/16'), ipipMode: 'Always', vxlanMode: 'Never', disableBgpExport: false }], extraExport: [], exportOutsidePools: true },
    kernel: { tunnelDevice: 'tunl0' },
    ...over,
  });
}

interface Collected {
  updates: PeerUpdate[];
  kernel: KernelChange[];
  actions: RibAction[];
}

function run(rib: Rib, ...outs: RibOutput[]): Collected {
  const c: Collected = { updates: [], kernel: [], actions: [] };
  const add = (o: RibOutput) => {
    c.updates.push(...o.updates);
    c.kernel.push(...o.kernel);
    c.actions.push(...o.actions);
  };
  outs.forEach(add);
  for (let i = 0; i < 1000; i++) {
    const o = rib.drain(100);
    add(o);
    if (!o.more) break;
  }
  return c;
}

const advertised = (rib: Rib, p: string) => [...rib.adjRibOut(p).keys()];

t.test('route reflection through the RIB (RFC 4456 §8) and loop rejection', async (t) => {
  const rib = mkRib({ clusterId: RR_CLUSTER });
  const c1 = peer('10.0.0.1', { rrClient: true });
  const c2 = peer('10.0.0.2', { rrClient: true });
  const n3 = peer('10.0.0.3');
  const n4 = peer('10.0.0.4');
  const e5 = peer('10.0.0.5', { asn: 65005 });
  for (const p of [c1, c2, n3, n4, e5]) rib.handle({ type: 'peerUp', peer: p }, 0);
  const P1 = pfx('172.18.1.0/26');
  const P3 = pfx('172.18.3.0/26');
  const P5 = pfx('172.18.5.0/26');
  run(rib,
    rib.handle({ type: 'update', peer: c1.id, message: announce([P1], ibgpAttrs('10.0.0.1')) }, 0),
    rib.handle({ type: 'update', peer: n3.id, message: announce([P3], ibgpAttrs('10.0.0.3')) }, 0),
    rib.handle({ type: 'update', peer: e5.id, message: announce([P5], { origin: 0, asPath: [seq(65005)], nextHop: ip('10.0.0.5') }) }, 0),
  );
  t.same(advertised(rib, c1.id).sort(), [P3, P5].sort(), 'client gets non-client and eBGP routes, not its own');
  t.same(advertised(rib, c2.id).sort(), [P1, P3, P5].sort(), 'client gets everything');
  t.same(advertised(rib, n3.id).sort(), [P1, P5].sort(), 'non-client gets client routes, not its own');
  t.same(advertised(rib, n4.id).sort(), [P1, P5].sort(), 'non-client does not get non-client routes');
  t.same(advertised(rib, e5.id).sort(), [P1, P3].sort(), 'eBGP gets iBGP routes, never back to source');
  const refl = rib.adjRibOut(c2.id).get(P1)!;
  t.equal(refl.attrs.originatorId, ip('10.0.0.1'));
  t.same(refl.attrs.clusterList, [RR_CLUSTER]);
  t.equal(refl.nextHop, ip('10.0.0.1'), 'next hop unchanged');
  const ext = rib.adjRibOut(c2.id).get(P5)!;
  t.equal(ext.attrs.originatorId, undefined, 'eBGP-learned routes are not reflected, just advertised');
  const toE = rib.adjRibOut(e5.id).get(P1)!;
  t.same(toE.attrs.asPath, [seq(64512)]);
  t.equal(toE.nextHop, ip('10.0.0.254'));

  // Loop rejection table.
  const rows: [string, Partial<Parameters<typeof ibgpAttrs>[1]>, string][] = [
    ['own ORIGINATOR_ID', { originatorId: ip('10.0.0.254') }, c1.id],
    ['own cluster id in CLUSTER_LIST', { clusterList: [ip('1.2.3.4'), RR_CLUSTER] }, c1.id],
    ['own AS in AS_PATH from eBGP', { asPath: [seq(65005, 64512)] }, e5.id],
  ];
  for (const [what, attrs, from] of rows) {
    const P = pfx('172.18.9.0/26');
    run(rib, rib.handle({ type: 'update', peer: from, message: announce([P], { ...ibgpAttrs(from), ...attrs }) }, 0));
    t.same(rib.explain(P), [], `${what}: rejected`);
  }
  const ok = pfx('172.18.10.0/26');
  run(rib, rib.handle({ type: 'update', peer: c1.id, message: announce([ok], { ...ibgpAttrs('10.0.0.1'), clusterList: [ip('1.2.3.4')] }) }, 0));
  t.equal(rib.explain(ok).length, 1, 'foreign cluster id accepted');
  const allow = rib.handle({ type: 'peerUp', peer: { ...e5, allowOwnAs: 1 } }, 0);
  run(rib, allow, rib.handle({ type: 'update', peer: e5.id, message: announce([pfx('172.18.11.0/26')], { origin: 0, asPath: [seq(65005, 64512)], nextHop: ip('10.0.0.5') }) }, 0));
  t.equal(rib.explain(pfx('172.18.11.0/26')).length, 1, 'allowOwnAs (numAllowedLocalASNumbers)');
});

t.test('plain iBGP speaker: iBGP routes not re-advertised to iBGP; local blocks advertised with next-hop self', async (t) => {
  const rib = mkRib({ exportPolicy: { pools: [{ cidr: pfx('172.18.0.0/16'), ipipMode: 'Always', vxlanMode: 'Never', disableBgpExport: false }], extraExport: [], exportOutsidePools: false } });
  const a = peer('10.0.0.1');
  const b = peer('10.0.0.2');
  rib.handle({ type: 'peerUp', peer: a }, 0);
  rib.handle({ type: 'peerUp', peer: b }, 0);
  const block = pfx('172.18.64.0/26');
  const c = run(rib,
    rib.handle({ type: 'originate', prefixes: [block], kind: 'block' }, 0),
    rib.handle({ type: 'update', peer: a.id, message: announce([pfx('172.18.1.0/26'), pfx('192.168.0.0/24')], ibgpAttrs('10.0.0.1')) }, 0),
  );
  t.same(advertised(rib, b.id), [block]);
  const s = rib.adjRibOut(b.id).get(block)!;
  t.same(s.attrs.asPath, []);
  t.equal(s.attrs.origin, 0);
  t.equal(s.nextHop, ip('10.0.0.254'));
  t.same(c.kernel.map((k) => k.route?.kind).sort(), ['blackhole', 'unicast', 'unicast']);
  t.same(c.kernel.find((k) => k.prefix === pfx('172.18.1.0/26'))?.route, { kind: 'unicast', prefix: pfx('172.18.1.0/26'), nextHops: [{ gateway: ip('10.0.0.1'), device: 'tunl0', onlink: true }] });
  // A workload /32 under the block is never exported.
  run(rib, rib.handle({ type: 'originate', prefixes: [pfx('172.18.64.5/32')], kind: 'static' }, 0));
  t.same(advertised(rib, b.id), [block]);
  // Withdraw the block: withdrawn to peers, blackhole removed.
  const w = run(rib, rib.handle({ type: 'withdrawLocal', prefixes: [block] }, 0));
  t.same(w.updates.filter((u) => u.peer === b.id).flatMap((u) => u.withdrawn), [block]);
  t.same(w.kernel, [{ prefix: block, route: null }]);
  t.same(rib.kernelSnapshot().map((r) => r.prefix).sort(), [pfx('172.18.1.0/26'), pfx('192.168.0.0/24')].sort());
});

t.test('change stream: ECMP kernel routes, best changes, End-of-RIB after the initial table', async (t) => {
  const rib = mkRib();
  const a = peer('10.0.0.1');
  const b = peer('10.0.0.2');
  const e = peer('10.0.0.9', { asn: 65009 });
  rib.handle({ type: 'peerUp', peer: a }, 0);
  rib.handle({ type: 'peerUp', peer: b }, 0);
  const P = pfx('172.18.7.0/26');
  const k1 = run(rib, rib.handle({ type: 'update', peer: a.id, message: announce([P], ibgpAttrs('10.0.0.1')) }, 0));
  t.equal(k1.kernel.length, 1);
  const k2 = run(rib, rib.handle({ type: 'update', peer: b.id, message: announce([P], ibgpAttrs('10.0.0.2')) }, 0));
  t.same(k2.kernel[0]?.route, { kind: 'unicast', prefix: P, nextHops: [{ gateway: ip('10.0.0.1'), device: 'tunl0', onlink: true }, { gateway: ip('10.0.0.2'), device: 'tunl0', onlink: true }] }, 'ECMP tunnelled');
  const ex = rib.explain(P);
  t.same(ex.map((x) => [x.peer, x.best, x.multipath, x.outcome]).sort(), [['10.0.0.1', true, true, 'routerId'], ['10.0.0.2', false, true, 'routerId']]);
  // Peer e comes up later: gets the table, then End-of-RIB.
  const up = run(rib, rib.handle({ type: 'peerUp', peer: e }, 0));
  const v4 = up.updates.filter((u) => u.peer === e.id && u.family === Family.Ipv4Unicast);
  t.same(v4.flatMap((u) => u.groups.flatMap((g) => g.prefixes)), [P]);
  t.ok(v4.some((u) => u.endOfRib), 'End-of-RIB sent after the initial dump');
  t.ok(up.updates.some((u) => u.peer === e.id && u.family === Family.Ipv6Unicast && u.endOfRib), 'and for IPv6');
  // a withdraws: best moves to b, single next hop; e gets no withdraw (still reachable via b).
  const w = run(rib, rib.handle({ type: 'update', peer: a.id, message: withdraw([P as number]) }, 0));
  t.same(w.kernel[0]?.route, { kind: 'unicast', prefix: P, nextHops: [{ gateway: ip('10.0.0.2'), device: 'tunl0', onlink: true }] });
  t.same(w.updates.filter((u) => u.peer === e.id).flatMap((u) => u.withdrawn), []);
  // Same attrs from b again: no change at all.
  const again = run(rib, rib.handle({ type: 'update', peer: b.id, message: announce([P], ibgpAttrs('10.0.0.2')) }, 0));
  t.same([again.kernel.length, again.updates.length], [0, 0]);
  const stats = rib.stats();
  t.same([stats.prefixes, stats.candidates], [1, 1]);
});

t.test('drain is bounded and reports pending work', async (t) => {
  const rib = mkRib();
  const a = peer('10.0.0.1');
  rib.handle({ type: 'peerUp', peer: a }, 0);
  const many = Array.from({ length: 250 }, (_, i) => pfx(`172.18.${i}.0/24`));
  rib.handle({ type: 'update', peer: a.id, message: announce(many, ibgpAttrs('10.0.0.1')) }, 0);
  const o1 = rib.drain(100);
  t.equal(o1.kernel.length, 100);
  t.ok(o1.more);
  t.equal(rib.drain(100).kernel.length, 100);
  const o3 = rib.drain(100);
  t.equal(o3.kernel.length, 50);
  t.notOk(o3.more);
  t.same(rib.attrs.counts(), { sets: 1, refs: 250 });
  run(rib, rib.handle({ type: 'peerDown', peer: a.id, graceful: false }, 0));
  t.same(rib.attrs.counts(), { sets: 0, refs: 0 }, 'every reference released');
  t.equal(rib.stats().prefixes, 0);
});

t.test('max-prefix: warn once; teardown with Cease data per RFC 4486 §4', async (t) => {
  const rib = mkRib();
  const w = peer('10.0.0.1', { maxPrefix: { limit: 2, action: 'warn' } });
  const d = peer('10.0.0.2', { maxPrefix: { limit: 2, action: 'teardown' } });
  rib.handle({ type: 'peerUp', peer: w }, 0);
  rib.handle({ type: 'peerUp', peer: d }, 0);
  const three = [pfx('172.18.1.0/24'), pfx('172.18.2.0/24'), pfx('172.18.3.0/24')];
  const a1 = rib.handle({ type: 'update', peer: w.id, message: announce(three, ibgpAttrs('10.0.0.1')) }, 0).actions;
  t.same(a1, [{ type: 'maxPrefixWarning', peer: w.id, family: Family.Ipv4Unicast, limit: 2, count: 3 }]);
  const a2 = rib.handle({ type: 'update', peer: w.id, message: announce([pfx('172.18.4.0/24')], ibgpAttrs('10.0.0.1')) }, 0).actions;
  t.same(a2, [], 'warned once');
  const a3 = rib.handle({ type: 'update', peer: d.id, message: announce(three, ibgpAttrs('10.0.0.2')) }, 0).actions;
  t.equal(a3.length, 1);
  const td = a3[0]!;
  if (td.type !== 'teardown') throw new Error('expected teardown');
  t.same([td.code, td.subcode], [6, 1]);
  t.same([...td.data], [0, 1, 1, 0, 0, 0, 2], 'AFI 1, SAFI 1, upper bound 2');
  t.same(rib.handle({ type: 'update', peer: d.id, message: announce([pfx('172.18.9.0/24')], ibgpAttrs('10.0.0.2')) }, 0).actions, [], 'further updates ignored until the session is reset');
});

t.test('ADD-PATH receive (RFC 7911): paths keyed by (prefix, path id)', async (t) => {
  const rib = mkRib();
  const a = peer('10.0.0.1', { addPathReceive: [Family.Ipv4Unicast] });
  rib.handle({ type: 'peerUp', peer: a }, 0);
  const P = pfx('172.18.1.0/24') as number;
  run(rib,
    rib.handle({ type: 'update', peer: a.id, message: announce([P], ibgpAttrs('10.0.0.7'), [1]) }, 0),
    rib.handle({ type: 'update', peer: a.id, message: announce([P], ibgpAttrs('10.0.0.8'), [2]) }, 0),
  );
  const ex = rib.explain(P);
  t.same(ex.map((x) => [x.pathId, x.multipath]).sort(), [[1, true], [2, true]], 'two paths from one peer, ECMP over distinct next hops');
  t.equal(ex.find((x) => x.best)?.pathId, 1, 'lowest path id breaks the final tie');
  const w = run(rib, rib.handle({ type: 'update', peer: a.id, message: withdraw([P], [1]) }, 0));
  t.same(rib.explain(P).map((x) => x.pathId), [2]);
  t.same(w.kernel[0]?.route, { kind: 'unicast', prefix: P, nextHops: [{ gateway: ip('10.0.0.8'), device: 'tunl0', onlink: true }] });
});

t.test('ADD-PATH send: multipath set with stable path ids', async (t) => {
  const rib = mkRib();
  const a = peer('10.0.0.1');
  const b = peer('10.0.0.2');
  const s = peer('10.0.0.3', { asn: 65003, addPathSend: [Family.Ipv4Unicast] });
  const all = peer('10.0.0.4', { asn: 65004, addPathSend: [Family.Ipv4Unicast], addPathSendMode: 'all' });
  for (const p of [a, b, s, all]) rib.handle({ type: 'peerUp', peer: p }, 0);
  const P = pfx('172.18.1.0/24') as number;
  const c = run(rib,
    rib.handle({ type: 'update', peer: a.id, message: announce([P], ibgpAttrs('10.0.0.1')) }, 0),
    rib.handle({ type: 'update', peer: b.id, message: announce([P], ibgpAttrs('10.0.0.2')) }, 0),
    rib.handle({ type: 'update', peer: b.id, message: announce([pfx('172.18.2.0/24')], ibgpAttrs('10.0.0.2', { localPref: 50 })) }, 0),
    rib.handle({ type: 'update', peer: a.id, message: announce([pfx('172.18.2.0/24')], ibgpAttrs('10.0.0.1')) }, 0),
  );
  const groups = c.updates.filter((u) => u.peer === s.id).flatMap((u) => u.groups);
  const ids = groups.flatMap((g) => g.prefixes.map((p, i) => [p, g.pathIds?.[i]]));
  t.same(ids.filter(([p]) => p === P).map(([, id]) => Number(id)).sort((x, y) => x - y), [1 * 65536, 2 * 65536], 'both ECMP paths, path id = source peer index << 16');
  t.same(ids.filter(([p]) => p === pfx('172.18.2.0/24')).map(([, id]) => id), [65536], 'only the best when not equal');
  const allIds = c.updates.filter((u) => u.peer === all.id).flatMap((u) => u.groups).flatMap((g) => g.prefixes.map((p, i) => [p, g.pathIds?.[i]]));
  t.same(allIds.filter(([p]) => p === pfx('172.18.2.0/24')).map(([, id]) => Number(id)).sort((x, y) => x - y), [65536, 131072], 'mode all: every eligible path');
  const w = run(rib, rib.handle({ type: 'update', peer: b.id, message: withdraw([P]) }, 0));
  const wu = w.updates.filter((u) => u.peer === s.id);
  t.same(wu.flatMap((u) => u.withdrawn), [P]);
  t.same(wu.flatMap((u) => u.withdrawnPathIds ?? []), [2 * 65536], 'only the withdrawn path id; the other stays');
  t.same(wu.flatMap((u) => u.groups), [], 'surviving path id not re-sent');
});

t.test('graceful restart helper (RFC 4724 §4.2) with fake time', async (t) => {
  const rib = mkRib();
  const gr = { restartTimeSec: 120, families: [{ family: Family.Ipv4Unicast, forwardingPreserved: true }] };
  const a = peer('10.0.0.1', { gracefulRestart: gr });
  const o = peer('10.0.0.9', { asn: 65009 });
  rib.handle({ type: 'peerUp', peer: a }, 0);
  rib.handle({ type: 'peerUp', peer: o }, 0);
  const P1 = pfx('172.18.1.0/24') as number;
  const P2 = pfx('172.18.2.0/24') as number;
  run(rib, rib.handle({ type: 'update', peer: a.id, message: announce([P1, P2], ibgpAttrs('10.0.0.1')) }, 0));

  t.test('stale kept, refreshed, flushed at End-of-RIB', async (t) => {
    const down = run(rib, rib.handle({ type: 'peerDown', peer: a.id, graceful: true }, 1000));
    t.same(down.actions, [{ type: 'setTimer', timer: { kind: 'restart', peer: a.id }, atMs: 121000 }]);
    t.same([down.kernel.length, down.updates.length], [0, 0], 'routes stay in Loc-RIB, kernel and Adj-RIB-Out');
    t.ok(rib.explain(P1)[0]?.stale);
    const up = run(rib, rib.handle({ type: 'peerUp', peer: a }, 30000));
    t.same(up.actions, [
      { type: 'cancelTimer', timer: { kind: 'restart', peer: a.id } },
      { type: 'setTimer', timer: { kind: 'stalePath', peer: a.id }, atMs: 390000 },
    ]);
    run(rib, rib.handle({ type: 'update', peer: a.id, message: announce([P1], ibgpAttrs('10.0.0.1')) }, 31000));
    t.notOk(rib.explain(P1)[0]?.stale, 'refreshed');
    t.ok(rib.explain(P2)[0]?.stale, 'still stale');
    const eor = run(rib, rib.handle({ type: 'endOfRib', peer: a.id, family: Family.Ipv4Unicast }, 32000));
    t.same(eor.kernel, [{ prefix: P2, route: null }], 'stale P2 flushed at End-of-RIB');
    t.same(eor.actions, [{ type: 'cancelTimer', timer: { kind: 'stalePath', peer: a.id } }]);
    t.same(eor.updates.flatMap((u) => u.withdrawn), [P2]);
    t.equal(rib.explain(P1).length, 1);
  });

  t.test('restart time expires: flushed', async (t) => {
    rib.handle({ type: 'peerDown', peer: a.id, graceful: true }, 40000);
    const exp = run(rib, rib.handle({ type: 'timer', timer: { kind: 'restart', peer: a.id } }, 160000));
    t.same(exp.kernel, [{ prefix: P1, route: null }]);
    t.equal(rib.stats().prefixes, 0);
  });

  t.test('comes back without GR: flushed', async (t) => {
    run(rib, rib.handle({ type: 'peerUp', peer: a }, 0), rib.handle({ type: 'update', peer: a.id, message: announce([P1], ibgpAttrs('10.0.0.1')) }, 0));
    rib.handle({ type: 'peerDown', peer: a.id, graceful: true }, 0);
    const { gracefulRestart: _g, ...noGr } = a;
    const back = run(rib, rib.handle({ type: 'peerUp', peer: noGr as PeerConfig }, 5000));
    t.same(back.kernel, [{ prefix: P1, route: null }]);
  });

  t.test('non-graceful down: flushed at once', async (t) => {
    run(rib, rib.handle({ type: 'peerUp', peer: a }, 0), rib.handle({ type: 'update', peer: a.id, message: announce([P1], ibgpAttrs('10.0.0.1')) }, 0));
    const d = run(rib, rib.handle({ type: 'peerDown', peer: a.id, graceful: false }, 0));
    t.same(d.kernel, [{ prefix: P1, route: null }]);
  });
});

t.test('restarting speaker: selection deferral (RFC 4724 §4.1)', async (t) => {
  const rib = mkRib({ restart: { selectionDeferralSec: 360, expectedPeers: ['10.0.0.1', '10.0.0.2'] } });
  t.same(rib.restartState(), { restarting: true, deferring: true });
  const st = rib.handle({ type: 'start' }, 1000);
  t.same(st.actions, [{ type: 'setTimer', timer: { kind: 'selectionDeferral' }, atMs: 361000 }]);
  const gr = { restartTimeSec: 120, families: [{ family: Family.Ipv4Unicast, forwardingPreserved: true }] };
  const a = peer('10.0.0.1', { gracefulRestart: gr, families: [Family.Ipv4Unicast] });
  const b = peer('10.0.0.2', { gracefulRestart: gr, families: [Family.Ipv4Unicast] });
  rib.handle({ type: 'peerUp', peer: a }, 2000);
  rib.handle({ type: 'peerUp', peer: b }, 2000);
  rib.handle({ type: 'update', peer: a.id, message: announce([pfx('172.18.1.0/24')], ibgpAttrs('10.0.0.1')) }, 3000);
  const held = rib.drain(1000);
  t.same([held.kernel.length, held.updates.length], [0, 0], 'selection deferred');
  t.same(rib.handle({ type: 'endOfRib', peer: a.id, family: Family.Ipv4Unicast }, 4000).actions, [], 'still waiting for b');
  const done = rib.handle({ type: 'endOfRib', peer: b.id, family: Family.Ipv4Unicast }, 5000);
  t.same(done.actions, [{ type: 'cancelTimer', timer: { kind: 'selectionDeferral' } }, { type: 'selectionDeferralComplete', reason: 'endOfRib' }]);
  const after = run(rib);
  t.equal(after.kernel.length, 1);
  t.same(after.actions, [{ type: 'kernelPrune' }], 'kernel prune once the deferred work is drained');
  t.ok(after.updates.some((u) => u.peer === b.id && u.endOfRib), 'End-of-RIB to peers after deferral');

  const r2 = mkRib({ restart: { selectionDeferralSec: 360, expectedPeers: ['10.0.0.1'] } });
  r2.handle({ type: 'start' }, 0);
  const to = r2.handle({ type: 'timer', timer: { kind: 'selectionDeferral' } }, 360000);
  t.same(to.actions.at(-1), { type: 'selectionDeferralComplete', reason: 'timeout' });
  t.same(run(r2).actions, [{ type: 'kernelPrune' }]);
});

t.test('route refresh: soft reconfiguration, request, enhanced refresh stale marking', async (t) => {
  const rib = mkRib();
  const soft = peer('10.0.0.1', { softReconfigIn: true });
  const hard = peer('10.0.0.2');
  const err = peer('10.0.0.3', { enhancedRouteRefresh: true, asn: 65003 });
  for (const p of [soft, hard, err]) rib.handle({ type: 'peerUp', peer: p }, 0);
  const P = pfx('172.18.1.0/24') as number;
  const Q = pfx('172.18.2.0/24') as number;
  run(rib, rib.handle({ type: 'update', peer: soft.id, message: announce([P], ibgpAttrs('10.0.0.1')) }, 0));
  // Policy change: reject P from everyone; soft peer re-imports locally, hard peer gets a ROUTE-REFRESH.
  const pc = run(rib, rib.handle({ type: 'policyChanged', importPolicy: (p) => (p === P ? null : { origin: 0 }) }, 0));
  t.same(pc.actions.filter((a) => a.type === 'sendRouteRefresh').map((a) => a.type === 'sendRouteRefresh' && [a.peer, a.afi, a.safi, a.subtype]), [
    [hard.id, 1, 1, 0], [hard.id, 2, 1, 0], [err.id, 1, 1, 0], [err.id, 2, 1, 0],
  ]);
  t.same(pc.kernel, [{ prefix: P, route: null }], 'soft-reconfig re-import rejected P');
  t.equal(rib.explain(P)[0]?.outcome, 'importRejected', 'pre-policy copy kept');
  const back = run(rib, rib.handle({ type: 'policyChanged', importPolicy: null }, 0));
  t.equal(back.kernel.length, 1, 'accepted again from the stored Adj-RIB-In');

  // Enhanced route refresh (RFC 7313) receive side.
  run(rib, rib.handle({ type: 'update', peer: err.id, message: announce([P, Q], { origin: 0, asPath: [seq(65003)], nextHop: ip('10.0.0.3') }) }, 0));
  rib.handle({ type: 'routeRefresh', peer: err.id, family: Family.Ipv4Unicast, subtype: RouteRefreshSubtype.BeginningOfRouteRefresh }, 0);
  run(rib, rib.handle({ type: 'update', peer: err.id, message: announce([P], { origin: 0, asPath: [seq(65003)], nextHop: ip('10.0.0.3') }) }, 0));
  const eorr = run(rib, rib.handle({ type: 'routeRefresh', peer: err.id, family: Family.Ipv4Unicast, subtype: RouteRefreshSubtype.EndOfRouteRefresh }, 0));
  t.same(eorr.kernel, [{ prefix: Q, route: null }], 'Q not re-sent between BoRR and EoRR: removed');
  t.ok(rib.explain(P).some((x) => x.peer === err.id && !x.stale));

  // The peer asks us for a refresh: full Adj-RIB-Out, bracketed by BoRR/EoRR.
  const rr = run(rib, rib.handle({ type: 'routeRefresh', peer: err.id, family: Family.Ipv4Unicast, subtype: RouteRefreshSubtype.Normal }, 0));
  const u = rr.updates.filter((x) => x.peer === err.id && x.family === Family.Ipv4Unicast);
  t.ok(u[0]?.borr && u.at(-1)?.eorr);
  t.same(u.flatMap((x) => x.groups.flatMap((g) => g.prefixes)), [P], 'P re-advertised (own routes are never sent back)');
  t.equal(u.flatMap((x) => x.groups.flatMap((g) => g.prefixes)).length, 1);
});
