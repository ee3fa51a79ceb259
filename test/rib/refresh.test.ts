// peerImport: an established peer's import settings change on reload (allow-local-as) without a
// session reset. Held routes the new loop check refuses go at once; the ones the old check refused
// come back only when the peer resends them after our ROUTE-REFRESH (RFC 2918).
import t from 'tap';
import { Rib } from '../../rib/rib.js';
import type { RibOutput } from '../../rib/messages.js';
import type { KernelChange } from '../../rib/kernel-types.js';
import { Family } from '../../proto/types.js';
import type { PathAttributes } from '../../proto/types.js';
import { Origin } from '../../proto/constants.js';
import { announce, ip, peer, pfx, seq, poolRib } from './helpers.js';

const OWN_AS = 64512;
const PEER_AS = 65005;


function drain(rib: Rib, ...outs: RibOutput[]): KernelChange[] {
  const k = outs.flatMap((o) => o.kernel);
  for (let i = 0; i < 100; i++) {
    const o = rib.drain(100);
    k.push(...o.kernel);
    if (!o.more) break;
  }
  return k;
}

t.test('peerImport: a lower allowOwnAs withdraws held routes now; a higher one waits for the resend', async (t) => {
  const rib = poolRib();
  const e = peer('10.0.0.5', { asn: PEER_AS, families: [Family.Ipv4Unicast], allowOwnAs: 1 });
  rib.handle({ type: 'peerUp', peer: e }, 0);
  const LOOPED = pfx('172.18.11.0/26');
  const CLEAN = pfx('172.18.12.0/26');
  const looped: PathAttributes = { origin: Origin.Igp, asPath: [seq(PEER_AS, OWN_AS)], nextHop: ip('10.0.0.5') };
  const clean: PathAttributes = { origin: Origin.Igp, asPath: [seq(PEER_AS)], nextHop: ip('10.0.0.5') };
  drain(
    rib,
    rib.handle({ type: 'update', peer: e.id, message: announce([LOOPED], looped) }, 0),
    rib.handle({ type: 'update', peer: e.id, message: announce([CLEAN], clean) }, 0),
  );
  t.equal(rib.explain(LOOPED).length, 1, 'allowOwnAs 1: own AS once is accepted');

  const strict = rib.handle({ type: 'peerImport', peer: { ...e, allowOwnAs: 0 } }, 0);
  t.same(strict.actions, [], 'no session action: the RIB only re-checks what it holds');
  const k = drain(rib, strict);
  t.same(k, [{ prefix: LOOPED, route: null }], 'the route the new rule refuses is withdrawn from the kernel intent');
  t.same(rib.explain(LOOPED), [], 'and from the Adj-RIB-In');
  t.equal(rib.explain(CLEAN).length, 1, 'other routes untouched');
  t.equal(rib.peerRouteCounts(e.id).imported, 1, 'count follows');

  // The peer resends (after ROUTE-REFRESH): refused under the new rule, accepted once relaxed.
  drain(rib, rib.handle({ type: 'update', peer: e.id, message: announce([LOOPED], looped) }, 0));
  t.same(rib.explain(LOOPED), [], 'allowOwnAs 0: resent route refused');
  const relaxed = rib.handle({ type: 'peerImport', peer: { ...e, allowOwnAs: 1 } }, 0);
  t.same(drain(rib, relaxed), [], 'relaxing alone brings nothing back (the route was not kept)');
  const refresh = rib.handle({ type: 'refreshIn', peer: e.id, family: Family.Ipv4Unicast }, 0);
  t.same(refresh.actions, [{ type: 'sendRouteRefresh', peer: e.id, afi: 1, safi: 1, subtype: 0 }], 'refreshIn: ROUTE-REFRESH, AFI 1 SAFI 1, subtype 0 (RFC 2918 §3)');
  drain(rib, rib.handle({ type: 'update', peer: e.id, message: announce([LOOPED], looped) }, 0));
  t.equal(rib.explain(LOOPED).length, 1, 'the resent route is accepted under allowOwnAs 1');
});

t.test('peerImport: unknown or down peers are ignored', async (t) => {
  const rib = poolRib();
  const e = peer('10.0.0.5', { asn: PEER_AS });
  t.same(rib.handle({ type: 'peerImport', peer: e }, 0).actions, []);
  rib.handle({ type: 'peerUp', peer: e }, 0);
  rib.handle({ type: 'peerDown', peer: e.id, graceful: false }, 0);
  t.same(rib.handle({ type: 'peerImport', peer: e }, 0).actions, []);
});
