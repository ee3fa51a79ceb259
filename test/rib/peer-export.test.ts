// peerExport: an established peer's export settings change on reload (route-reflector-client,
// next-hop) without a session reset and without dropping what the peer sent: the Adj-RIB-Outs are
// walked again and only the differences go out.
import t from 'tap';
import { Rib } from '../../rib/rib.js';
import type { PeerUpdate, RibOutput } from '../../rib/messages.js';
import type { KernelChange } from '../../rib/kernel-types.js';
import { Family } from '../../proto/types.js';
import { announce, ibgpAttrs, ip, peer, pfx } from './helpers.js';

const CLUSTER = ip('244.0.0.1');

function mkRib(): Rib {
  return new Rib({
    asn: 64512,
    routerId: ip('10.0.0.254'),
    clusterId: CLUSTER,
    nodeAddress: { address: ip('10.0.0.254'), length: 24 },
    pools: [],
    exportPolicy: { pools: [], extraExport: [], exportOutsidePools: true },
    kernel: { tunnelDevice: 'tunl0' },
  });
}

function run(rib: Rib, ...outs: RibOutput[]): { updates: PeerUpdate[]; kernel: KernelChange[] } {
  const updates = outs.flatMap((o) => o.updates);
  const kernel = outs.flatMap((o) => o.kernel);
  for (let i = 0; i < 100; i++) {
    const o = rib.drain(100);
    updates.push(...o.updates);
    kernel.push(...o.kernel);
    if (!o.more) break;
  }
  return { updates, kernel };
}

/** What one peer was sent: announced prefixes with their next hop and cluster list, withdrawn prefixes. */
function sentTo(updates: PeerUpdate[], id: string): { announced: [number | string, number | string, readonly number[] | undefined][]; withdrawn: (number | string)[] } {
  const announced: [number | string, number | string, readonly number[] | undefined][] = [];
  const withdrawn: (number | string)[] = [];
  for (const u of updates) {
    if (u.peer !== id) continue;
    withdrawn.push(...u.withdrawn);
    for (const g of u.groups) for (const p of g.prefixes) announced.push([p, g.nextHop, g.attrs.clusterList]);
  }
  return { announced, withdrawn };
}

t.test('peerExport keeps the Adj-RIB-In and sends only what the new export settings change', async (t) => {
  const rib = mkRib();
  const A = peer('10.0.0.1', { families: [Family.Ipv4Unicast] });
  const B = peer('10.0.0.2', { families: [Family.Ipv4Unicast] });
  const E = peer('10.0.0.9', { asn: 65009, families: [Family.Ipv4Unicast] });
  const P = pfx('10.70.0.0/24');
  const first = run(rib, ...[A, B, E].map((p) => rib.handle({ type: 'peerUp', peer: p }, 0)), rib.handle({ type: 'update', peer: A.id, message: announce([P], ibgpAttrs('10.0.0.1')) }, 0));
  t.same(sentTo(first.updates, B.id).announced, [], 'RFC 4456 §8: non-client to non-client is not reflected');
  t.same(sentTo(first.updates, E.id).announced, [[P, ip('10.0.0.254'), undefined]], 'eBGP, next-hop auto: next hop self');
  t.equal(first.kernel.length, 1, 'one kernel route for P');

  // A becomes a client: its route is now reflected to B; E (eBGP) sees no difference.
  const asClient = run(rib, rib.handle({ type: 'peerExport', peer: { ...A, rrClient: true }, everyPeer: true }, 0));
  t.same(sentTo(asClient.updates, B.id).announced, [[P, ip('10.0.0.1'), [CLUSTER]]], 'reflected to B with our CLUSTER_ID (RFC 4456 §8)');
  t.same(sentTo(asClient.updates, E.id), { announced: [], withdrawn: [] }, 'nothing re-sent to E');
  t.same(sentTo(asClient.updates, A.id), { announced: [], withdrawn: [] }, 'nothing back to A');
  t.same(asClient.kernel, [], 'no kernel change');
  t.equal(rib.explain(P).length, 1, "A's route is still in the Adj-RIB-In");
  t.equal(rib.peerRouteCounts(A.id).imported, 1, 'imported count unchanged');

  // E's next hop becomes keep: only E is sent P again, with A's next hop.
  const keep = run(rib, rib.handle({ type: 'peerExport', peer: { ...E, nextHopMode: 'keep' }, everyPeer: false }, 0));
  t.same(sentTo(keep.updates, E.id).announced, [[P, ip('10.0.0.1'), undefined]], 'next-hop keep');
  t.same(sentTo(keep.updates, B.id), { announced: [], withdrawn: [] }, 'B untouched');

  // And back to a non-client: B's reflected copy is withdrawn.
  const back = run(rib, rib.handle({ type: 'peerExport', peer: { ...A, rrClient: false }, everyPeer: true }, 0));
  t.same(sentTo(back.updates, B.id), { announced: [], withdrawn: [P] }, 'withdrawn from B');
  t.equal(rib.explain(P).length, 1, 'still held from A');
});

t.test('peerExport for a peer that is down or unknown changes nothing', async (t) => {
  const rib = mkRib();
  const A = peer('10.0.0.1', { families: [Family.Ipv4Unicast] });
  const out = rib.handle({ type: 'peerExport', peer: A, everyPeer: true }, 0);
  t.same(out.actions, []);
  t.equal(rib.drain(100).updates.length, 0);
});
