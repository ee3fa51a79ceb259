// Redundant route reflectors in one cluster: wren (cluster 10.255.0.1) and a BIRD 2 reflector R2
// whose cluster id is the same, peered as non-clients. R2 reflects its client C's route to wren with
// CLUSTER_LIST [10.255.0.1]: wren must ignore it (RFC 4456 §8 loop), so it is neither in wren's
// RIB nor reflected to wren's client A. R2's own route (no CLUSTER_LIST) is accepted and reflected.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, WrenSpeaker } from '../lab/lib/index.js';
import { announcing, segmentHosts, sleep, wireUpdates, wrenPaths } from './routing-lib.js';

const AS = 65000;
const CLUSTER = '10.255.0.1';
const WREN = '10.0.0.1';
const A = '10.0.0.2'; // BIRD 2, wren's client
const R2 = '10.0.0.3'; // BIRD 2 reflector of the same cluster (router id = cluster id)
const C = '10.0.0.4'; // BIRD 2, R2's client
const POOL = '10.64.0.0/16';
const A_NET = '10.64.2.0/26';
const R2_NET = '10.64.3.0/26';
const C_NET = '10.64.4.0/26';

if (await requireLab(t, ['bird2'])) {
  t.test('wren ignores a route carrying its own cluster id; accepts and reflects the rest', async (t) => {
    const lab = await labFor(t);
    const [hw, ha, hr, hc] = await segmentHosts(lab, ['wren', 'a', 'r2', 'c']);
    const wren = new WrenSpeaker(
      hw!,
      {
        routerId: WREN,
        localAs: AS,
        listenAddress: WREN,
        clusterId: CLUSTER,
        neighbors: [
          { address: A, remoteAs: AS, routeReflectorClient: true },
          { address: R2, remoteAs: AS },
        ],
      },
      { extra: { pools: [{ cidr: POOL, 'ipip-mode': 'Never' }] } },
    );
    const a = new Bird2Speaker(ha!, { routerId: A, localAs: AS, listenAddress: A, neighbors: [{ address: WREN, remoteAs: AS }], originate: [A_NET] });
    // BIRD's default cluster id is its router id: every R2 session uses 10.255.0.1.
    const r2 = new Bird2Speaker(hr!, {
      routerId: CLUSTER,
      localAs: AS,
      listenAddress: R2,
      neighbors: [
        { address: WREN, remoteAs: AS },
        { address: C, remoteAs: AS, routeReflectorClient: true },
      ],
      originate: [R2_NET],
    });
    const c = new Bird2Speaker(hc!, { routerId: C, localAs: AS, listenAddress: C, neighbors: [{ address: R2, remoteAs: AS }], originate: [C_NET] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), a.start(), r2.start(), c.start()]);
    await wren.waitForState(A);
    await wren.waitForState(R2);
    await r2.waitForState(C);

    // R2 has C's route and sends it to wren (checked on the wire below).
    await r2.waitForRoute(C_NET);
    // Positive control: R2's own route is accepted by wren and reflected to client A.
    const [r2InWren] = await wren.waitForRoute(R2_NET);
    t.ok(r2InWren?.best, 'wren: R2 route best');
    t.equal(r2InWren?.clusterList, undefined, 'wren: R2 route arrived without CLUSTER_LIST');
    const [r2AtA] = await a.waitForRoute(R2_NET);
    t.equal(r2AtA?.originatorId, CLUSTER, 'A: R2 route reflected with ORIGINATOR_ID = R2 router id');
    t.same(r2AtA?.clusterList, [CLUSTER], 'A: R2 route CLUSTER_LIST [cluster]');

    // Wait until the looped UPDATE has reached wren's interface, then give wren time to (not) act.
    let looped: Awaited<ReturnType<typeof wireUpdates>> = [];
    for (let i = 0; i < 40 && looped.length === 0; i++) {
      await sleep(500);
      looped = announcing(await wireUpdates(cap), R2, WREN, C_NET);
    }
    t.ok(looped.length >= 1, 'wire: R2 sent C route to wren');
    t.same(looped[0]?.clusterList, [CLUSTER], 'wire: ... with CLUSTER_LIST [wren cluster id]');
    t.equal(looped[0]?.originatorId, C, 'wire: ... with ORIGINATOR_ID = C');
    await sleep(2000);

    t.same(await wrenPaths(wren, C_NET), [], 'wren: looped route not in the RIB');
    t.same(await a.routes(C_NET), [], 'A: looped route never reflected to the client');
    const nb = (await wren.neighbors()).find((x) => x.address === R2);
    t.ok(nb !== undefined && nb.state === 'Established', 'wren: session with R2 stays up (loop is ignored, not an error)');

    // A's route goes to R2 with wren's cluster id (client -> non-client reflection).
    await r2.waitForRoute(A_NET);
    await cap.stop();
    const ups = await wireUpdates(cap);
    const toR2 = announcing(ups, WREN, R2, A_NET)[0];
    t.ok(toR2 !== undefined, 'wire: wren reflected A route to non-client R2');
    t.same(toR2?.clusterList, [CLUSTER], 'wire: ... CLUSTER_LIST [cluster]');
    t.equal(toR2?.originatorId, A, 'wire: ... ORIGINATOR_ID A');
    t.equal(announcing(ups, WREN, A, C_NET).length, 0, 'wire: wren never sent C route to A');
  });
}
