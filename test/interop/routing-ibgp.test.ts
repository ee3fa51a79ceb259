// RFC 4271 §9.2 split horizon: wren (a Calico node with block 10.64.1.0/26 in pool 10.64.0.0/16)
// between two iBGP peers, BIRD 2 and GoBGP, does not pass one's routes to the other while both
// receive wren's own block. Then `route-reflector: {cluster-id}` and `route-reflector-client: true`
// are added and `bgpctl reload` applied: now each peer's route reaches the other, reflected.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, GobgpSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import { announcedSet, segmentHosts, sleep, wireUpdates, wrenPaths } from './routing-lib.js';

const AS = 65000;
const WREN = '10.0.0.1';
const BIRD = '10.0.0.2';
const GOBGP = '10.0.0.3';
const CLUSTER = '10.255.0.9';
const POOL = '10.64.0.0/16';
const BLOCK = '10.64.1.0/26';
const BIRD_NET = '10.64.2.0/26';
const GO_NET = '10.64.3.0/26';

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('iBGP routes are not re-advertised to iBGP peers unless wren reflects', async (t) => {
    const lab = await labFor(t);
    const [hw, hb, hg] = await segmentHosts(lab, ['wren', 'bird', 'gobgp']);
    const wren = new WrenSpeaker(
      hw!,
      {
        routerId: WREN,
        localAs: AS,
        listenAddress: WREN,
        neighbors: [
          { address: BIRD, remoteAs: AS },
          { address: GOBGP, remoteAs: AS },
        ],
        originate: [BLOCK],
      },
      { extra: { pools: [{ cidr: POOL, 'ipip-mode': 'Never' }] } },
    );
    const bird = new Bird2Speaker(hb!, { routerId: BIRD, localAs: AS, listenAddress: BIRD, neighbors: [{ address: WREN, remoteAs: AS }], originate: [BIRD_NET] });
    const go = new GobgpSpeaker(hg!, { routerId: GOBGP, localAs: AS, listenAddress: GOBGP, neighbors: [{ address: WREN, remoteAs: AS }], originate: [GO_NET] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), bird.start(), go.start()]);

    // Positive controls: wren's block reaches both; wren learned both routes.
    const [blockAtGo] = await go.waitForRoute(BLOCK);
    t.equal(blockAtGo?.nextHop, WREN, 'GoBGP: wren block, next hop wren');
    const [blockAtBird] = await bird.waitForRoute(BLOCK);
    t.equal(blockAtBird?.nextHop, WREN, 'BIRD: wren block, next hop wren');
    await wren.waitForRoute(BIRD_NET);
    await wren.waitForRoute(GO_NET);
    t.pass('wren learned both iBGP routes');
    await sleep(3000);
    t.same(await go.routes(BIRD_NET), [], 'GoBGP: no BIRD route (iBGP -> iBGP not re-advertised)');
    t.same(await bird.routes(GO_NET), [], 'BIRD: no GoBGP route (iBGP -> iBGP not re-advertised)');
    let ups = await wireUpdates(cap);
    t.same(announcedSet(ups, WREN, GOBGP), [BLOCK], 'wire: wren announced only its block to GoBGP');
    t.same(announcedSet(ups, WREN, BIRD), [BLOCK], 'wire: wren announced only its block to BIRD');

    // Become a route reflector with both peers as clients, by reload.
    const cfg = wren.configObject();
    const peers = (cfg['peers'] as Record<string, unknown>[]).map((p) => ({ ...p, 'route-reflector-client': true }));
    await wren.setExtra({ 'route-reflector': { 'cluster-id': CLUSTER }, peers });
    const reload = await wren.reload();
    t.match(JSON.stringify(reload), /route.reflector|global reset|peer/i, 'bgpctl reload reports the change');
    await wren.waitForState(BIRD, 'Established', 30_000);
    await wren.waitForState(GOBGP, 'Established', 30_000);
    const [atGo] = await go.waitForRoute(BIRD_NET, { timeoutMs: 30_000 });
    t.equal(atGo?.originatorId, BIRD, 'after reload: GoBGP has the BIRD route, ORIGINATOR_ID BIRD');
    t.same(atGo?.clusterList, [CLUSTER], 'after reload: CLUSTER_LIST [cluster id]');
    t.equal(atGo?.nextHop, BIRD, 'after reload: next hop BIRD');
    const [atBird] = await bird.waitForRoute(GO_NET, { timeoutMs: 30_000 });
    t.equal(atBird?.originatorId, GOBGP, 'after reload: BIRD has the GoBGP route, ORIGINATOR_ID GoBGP');
    t.same(atBird?.clusterList, [CLUSTER], 'after reload: CLUSTER_LIST [cluster id]');
    const own = await wrenPaths(wren, BLOCK);
    t.ok(own.some((p) => p.best && p.kind === 'blackhole'), 'wren: own block still originated after the rebuild');
    await go.waitForRoute(BLOCK, { timeoutMs: 15_000 });
    t.pass('GoBGP: wren block still advertised after the rebuild');
    await sleep(1000);
    await cap.stop();
    ups = await wireUpdates(cap);
    t.same(announcedSet(ups, WREN, GOBGP), [BLOCK, BIRD_NET].sort(), 'wire: to GoBGP now block and reflected BIRD route');
  });
}
