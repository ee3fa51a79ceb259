// wren as a route reflector for a BIRD 2 client and an FRR client: each client's route reaches
// the other with ORIGINATOR_ID = the originator and CLUSTER_LIST = [wren's cluster id], read
// through each daemon's own CLI (vtysh JSON, birdc) and on the wire.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, FrrSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import { announcing, segmentHosts, sleep, wireUpdates } from './routing-lib.js';

const AS = 65000;
const CLUSTER = '10.255.0.7';
const WREN = '10.0.0.1';
const A = '10.0.0.2'; // BIRD 2 client
const F = '10.0.0.3'; // FRR client
const POOL = '10.64.0.0/16';
const A_NET = '10.64.2.0/26';
const F_NET = '10.64.8.0/26';

if (await requireLab(t, ['bird2', 'frr'])) {
  t.test('wren reflects between a BIRD 2 client and an FRR client', async (t) => {
    const lab = await labFor(t);
    const [hw, ha, hf] = await segmentHosts(lab, ['wren', 'a', 'f']);
    const wren = new WrenSpeaker(
      hw!,
      {
        routerId: WREN,
        localAs: AS,
        listenAddress: WREN,
        clusterId: CLUSTER,
        neighbors: [
          { address: A, remoteAs: AS, routeReflectorClient: true },
          { address: F, remoteAs: AS, routeReflectorClient: true },
        ],
      },
      { extra: { pools: [{ cidr: POOL, 'ipip-mode': 'Never' }] } },
    );
    const a = new Bird2Speaker(ha!, { routerId: A, localAs: AS, listenAddress: A, neighbors: [{ address: WREN, remoteAs: AS }], originate: [A_NET] });
    const f = new FrrSpeaker(hf!, { routerId: F, localAs: AS, listenAddress: F, neighbors: [{ address: WREN, remoteAs: AS }], originate: [F_NET] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), a.start(), f.start()]);
    await wren.waitForState(A);
    await wren.waitForState(F, 'Established', 45_000);

    const [atF] = await f.waitForRoute(A_NET, { timeoutMs: 30_000 });
    t.equal(atF?.originatorId, A, 'FRR: ORIGINATOR_ID = BIRD client');
    t.same(atF?.clusterList, [CLUSTER], 'FRR: CLUSTER_LIST = [wren cluster id]');
    t.equal(atF?.nextHop, A, 'FRR: next hop unchanged');
    t.equal(atF?.localPref, 100, 'FRR: LOCAL_PREF 100');
    const vtysh = await f.cli(`show bgp ipv4 unicast ${A_NET}`);
    t.match(vtysh, /Originator: 10\.0\.0\.2/, 'vtysh prints Originator 10.0.0.2');
    t.match(vtysh, /Cluster list: 10\.255\.0\.7/, 'vtysh prints Cluster list 10.255.0.7');

    const [atA] = await a.waitForRoute(F_NET, { timeoutMs: 30_000 });
    t.equal(atA?.originatorId, F, 'BIRD: ORIGINATOR_ID = FRR client');
    t.same(atA?.clusterList, [CLUSTER], 'BIRD: CLUSTER_LIST = [wren cluster id]');
    t.equal(atA?.nextHop, F, 'BIRD: next hop unchanged');

    await sleep(1000);
    await cap.stop();
    const ups = await wireUpdates(cap);
    const toF = announcing(ups, WREN, F, A_NET)[0];
    t.equal(toF?.originatorId, A, 'wire: to FRR ORIGINATOR_ID');
    t.same(toF?.clusterList, [CLUSTER], 'wire: to FRR CLUSTER_LIST');
    const toA = announcing(ups, WREN, A, F_NET)[0];
    t.equal(toA?.originatorId, F, 'wire: to BIRD ORIGINATOR_ID');
    t.same(toA?.clusterList, [CLUSTER], 'wire: to BIRD CLUSTER_LIST');
  });
}
