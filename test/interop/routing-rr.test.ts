// wren as a route reflector (RFC 4456) for two BIRD 2 clients, a GoBGP client and a BIRD 2
// non-client, all iBGP AS 65000 on one segment. Reflected routes carry ORIGINATOR_ID = the
// originator's router id and CLUSTER_LIST = [wren's cluster id], on the wire and in each client's
// CLI; client routes reach non-clients and non-client routes reach clients; wren's own block is
// not "reflected" (no RR attributes).
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, GobgpSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import type { NeighborConfig, Speaker } from '../lab/lib/index.js';
import { announcing, segmentHosts, sleep, wireUpdates } from './routing-lib.js';

const AS = 65000;
const CLUSTER = '10.255.0.1';
const WREN = '10.0.0.1';
const A = '10.0.0.2'; // BIRD 2 client
const B = '10.0.0.3'; // BIRD 2 client
const C = '10.0.0.4'; // GoBGP client
const N = '10.0.0.5'; // BIRD 2 non-client
const POOL = '10.64.0.0/16';
const WREN_BLOCK = '10.64.1.0/26';
const A_NET = '10.64.2.0/26';
const C_NET = '10.64.4.0/26';
const N_NET = '10.64.5.0/26';

const toWren: NeighborConfig = { address: WREN, remoteAs: AS };

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('wren reflects between BIRD 2 and GoBGP clients with ORIGINATOR_ID and CLUSTER_LIST', async (t) => {
    const lab = await labFor(t);
    const [hw, ha, hb, hc, hn] = await segmentHosts(lab, ['wren', 'a', 'b', 'c', 'n']);
    const wren = new WrenSpeaker(
      hw!,
      {
        routerId: WREN,
        localAs: AS,
        listenAddress: WREN,
        clusterId: CLUSTER,
        neighbors: [
          { address: A, remoteAs: AS, routeReflectorClient: true },
          { address: B, remoteAs: AS, routeReflectorClient: true },
          { address: C, remoteAs: AS, routeReflectorClient: true },
          { address: N, remoteAs: AS },
        ],
        originate: [WREN_BLOCK],
      },
      { extra: { pools: [{ cidr: POOL, 'ipip-mode': 'Never' }] } },
    );
    const a = new Bird2Speaker(ha!, { routerId: A, localAs: AS, listenAddress: A, neighbors: [toWren], originate: [A_NET] });
    const b = new Bird2Speaker(hb!, { routerId: B, localAs: AS, listenAddress: B, neighbors: [toWren] });
    const c = new GobgpSpeaker(hc!, { routerId: C, localAs: AS, listenAddress: C, neighbors: [toWren], originate: [C_NET] });
    const n = new Bird2Speaker(hn!, { routerId: N, localAs: AS, listenAddress: N, neighbors: [toWren], originate: [N_NET] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), a.start(), b.start(), c.start(), n.start()]);
    for (const addr of [A, B, C, N]) await wren.waitForState(addr);

    const reflected = async (s: Speaker, name: string, prefix: string, originator: string): Promise<void> => {
      const [r] = await s.waitForRoute(prefix, { timeoutMs: 20_000 });
      t.equal(r?.originatorId, originator, `${name} (${s.kind}): ${prefix} ORIGINATOR_ID = ${originator}`);
      t.same(r?.clusterList, [CLUSTER], `${name}: ${prefix} CLUSTER_LIST = [${CLUSTER}]`);
      t.equal(r?.nextHop, originator, `${name}: ${prefix} next hop unchanged (the originator)`);
      t.same(r?.asPath, [], `${name}: ${prefix} AS_PATH empty (iBGP)`);
      t.equal(r?.fromPeer, WREN, `${name}: ${prefix} learned from wren`);
    };
    // Client -> clients and non-client.
    await reflected(b, 'client B', A_NET, A);
    await reflected(c, 'client C', A_NET, A);
    await reflected(n, 'non-client N', A_NET, A);
    await reflected(b, 'client B', C_NET, C);
    await reflected(a, 'client A', C_NET, C);
    // Non-client -> clients.
    await reflected(a, 'client A', N_NET, N);
    await reflected(b, 'client B', N_NET, N);
    await reflected(c, 'client C', N_NET, N);

    // wren's own block: advertised, not reflected (no RR attributes), next hop wren.
    const [own] = await b.waitForRoute(WREN_BLOCK);
    t.equal(own?.nextHop, WREN, 'own block: next hop wren');
    t.equal(own?.originatorId, undefined, 'own block: no ORIGINATOR_ID');
    t.equal(own?.clusterList, undefined, 'own block: no CLUSTER_LIST');

    // wren's own RIB: the client route is best, from A.
    const [inWren] = await wren.waitForRoute(A_NET);
    t.ok(inWren?.best, 'wren: A route is best');
    t.equal(inWren?.fromPeer, A, 'wren: A route from A');

    // BIRD's own CLI text shows the attributes too (not only our parser).
    const text = await b.cli(`show route ${A_NET} all`);
    t.match(text, /BGP\.originator_id:\s+10\.0\.0\.2/, 'birdc on B prints originator_id 10.0.0.2');
    t.match(text, /BGP\.cluster_list:\s+10\.255\.0\.1/, 'birdc on B prints cluster_list 10.255.0.1');

    await sleep(1000);
    await cap.stop();
    const ups = await wireUpdates(cap);
    for (const dst of [B, C, N]) {
      const sent = announcing(ups, WREN, dst, A_NET);
      t.ok(sent.length >= 1, `wire: wren sent ${A_NET} to ${dst}`);
      const u = sent[0];
      t.equal(u?.originatorId, A, `wire: to ${dst}: ORIGINATOR_ID ${A}`);
      t.same(u?.clusterList, [CLUSTER], `wire: to ${dst}: CLUSTER_LIST [${CLUSTER}]`);
      t.equal(u?.nextHop, A, `wire: to ${dst}: NEXT_HOP ${A}`);
      t.equal(u?.localPref, 100, `wire: to ${dst}: LOCAL_PREF 100`);
    }
    t.equal(announcing(ups, WREN, A, A_NET).length, 0, 'wire: A route never sent back to A');
    const ownWire = announcing(ups, WREN, B, WREN_BLOCK)[0];
    t.ok(ownWire !== undefined, 'wire: own block sent to B');
    t.equal(ownWire?.originatorId, undefined, 'wire: own block without ORIGINATOR_ID');
    t.same(ownWire?.clusterList, [], 'wire: own block without CLUSTER_LIST');
    t.equal(ownWire?.nextHop, WREN, 'wire: own block NEXT_HOP wren');
  });
}
