// Calico's export filter (calico.md §1.7) as seen by real peers. wren has pools 10.200.0.0/16
// (exported) and 10.201.0.0/16 (disable-bgp-export), a block in each; an eBGP BIRD 2 sends it a
// route inside each pool, one outside every pool, and a /32 under wren's local block. Only the
// in-pool route and the exported pool's block reach the iBGP GoBGP peer (and BIRD gets only the
// block): checked in GoBGP's RIB and as the exact set of NLRI on the wire. Then the pool is
// switched to disable-bgp-export by reload and its routes are withdrawn from the peers.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, GobgpSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import { announcedSet, segmentHosts, sleep, wireUpdates, wrenPaths } from './routing-lib.js';

const WREN = '10.0.0.1';
const BIRD = '10.0.0.2';
const GOBGP = '10.0.0.3';
const POOL = '10.200.0.0/16';
const NOEXPORT_POOL = '10.201.0.0/16';
const BLOCK = '10.200.1.0/26';
const NOEXPORT_BLOCK = '10.201.1.0/26';
const IN_POOL = '10.200.5.0/24';
const IN_NOEXPORT = '10.201.5.0/24';
const OUTSIDE = '10.99.0.0/24';
const UNDER_BLOCK = '10.200.1.8/32';

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('Calico export policy on the wire', async (t) => {
    const lab = await labFor(t);
    const [hw, hb, hg] = await segmentHosts(lab, ['wren', 'bird', 'gobgp']);
    const pools = (noExport: boolean) => [
      { cidr: POOL, 'ipip-mode': 'Never', 'disable-bgp-export': noExport },
      { cidr: NOEXPORT_POOL, 'ipip-mode': 'Never', 'disable-bgp-export': true },
    ];
    const wren = new WrenSpeaker(
      hw!,
      {
        routerId: WREN,
        localAs: 65000,
        listenAddress: WREN,
        neighbors: [
          { address: BIRD, remoteAs: 65001 },
          { address: GOBGP, remoteAs: 65000 },
        ],
        originate: [BLOCK, NOEXPORT_BLOCK],
      },
      { extra: { pools: pools(false) } },
    );
    const bird = new Bird2Speaker(hb!, {
      routerId: BIRD,
      localAs: 65001,
      listenAddress: BIRD,
      neighbors: [{ address: WREN, remoteAs: 65000 }],
      originate: [IN_POOL, IN_NOEXPORT, OUTSIDE, UNDER_BLOCK],
    });
    const go = new GobgpSpeaker(hg!, { routerId: GOBGP, localAs: 65000, listenAddress: GOBGP, neighbors: [{ address: WREN, remoteAs: 65000 }] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), bird.start(), go.start()]);

    // wren learned every BIRD route (import is not filtered by pools).
    for (const p of [IN_POOL, IN_NOEXPORT, OUTSIDE, UNDER_BLOCK]) {
      const [r] = await wren.waitForRoute(p);
      t.ok(r?.best && r.fromPeer === BIRD, `wren: ${p} learned from BIRD and best`);
    }
    const [exported] = await go.waitForRoute(IN_POOL);
    t.same(exported?.asPath, [65001], `GoBGP: ${IN_POOL} (inside an exported pool) received, AS_PATH [65001]`);
    const [blockAtGo] = await go.waitForRoute(BLOCK);
    t.equal(blockAtGo?.nextHop, WREN, `GoBGP: block ${BLOCK} received, next hop wren`);
    const [blockAtBird] = await bird.waitForRoute(BLOCK);
    t.same(blockAtBird?.asPath, [65000], `BIRD: block ${BLOCK} received, AS_PATH [65000]`);
    await sleep(3000);
    for (const [p, why] of [
      [IN_NOEXPORT, 'inside a disable-bgp-export pool'],
      [OUTSIDE, 'outside every pool'],
      [UNDER_BLOCK, 'a /32 under a local block'],
      [NOEXPORT_BLOCK, 'own block in a disable-bgp-export pool'],
    ] as const) {
      t.same(await go.routes(p), [], `GoBGP: ${p} not received (${why})`);
    }
    t.same(await bird.routes(NOEXPORT_BLOCK), [], `BIRD: ${NOEXPORT_BLOCK} not received (disable-bgp-export pool)`);
    let ups = await wireUpdates(cap);
    t.same(announcedSet(ups, WREN, GOBGP), [BLOCK, IN_POOL].sort(), 'wire: the exact NLRI set wren sent GoBGP');
    t.same(announcedSet(ups, WREN, BIRD), [BLOCK], 'wire: the exact NLRI set wren sent BIRD');

    // The pool stops being exported: its routes are withdrawn from both peers, nothing else moves.
    await wren.setExtra({ pools: pools(true) });
    await wren.reload();
    await go.waitForNoRoute(IN_POOL);
    await go.waitForNoRoute(BLOCK);
    await bird.waitForNoRoute(BLOCK);
    t.pass('after reload (pool disable-bgp-export): GoBGP and BIRD lost the pool routes');
    const [stillIn] = await wrenPaths(wren, IN_POOL);
    t.ok(stillIn?.best === true, 'wren: still has the route itself (only export changed)');
    t.equal((await wren.neighbors()).filter((n) => n.state === 'Established').length, 2, 'wren: no session was reset by the policy change');
    await sleep(1000);
    await cap.stop();
    ups = await wireUpdates(cap);
    const wdGo = new Set(ups.filter((u) => u.src === WREN && u.dst === GOBGP).flatMap((u) => u.withdrawn));
    t.ok(wdGo.has(IN_POOL) && wdGo.has(BLOCK), 'wire: wren withdrew both pool routes from GoBGP');
    t.same(announcedSet(ups, WREN, GOBGP), [BLOCK, IN_POOL].sort(), 'wire: nothing else was ever announced to GoBGP');
  });
}
