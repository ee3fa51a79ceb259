// wren (AS 65000, no pools: a general speaker) between an eBGP BIRD 2 (AS 65001) and an iBGP
// GoBGP (AS 65000) on one segment: routes cross both ways with RFC 4271 §5.1 rewriting (AS_PATH
// prepend and next-hop-self towards eBGP, LOCAL_PREF only towards iBGP, next hop kept towards iBGP),
// checked in each peer's CLI, in wren's RIB and on the wire; withdrawals cross too.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, GobgpSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import { announcing, segmentHosts, sleep, wireUpdates, wrenPaths } from './routing-lib.js';

const WREN = '10.0.0.1';
const BIRD = '10.0.0.2';
const GOBGP = '10.0.0.3';
const BIRD_NET = '10.10.0.0/24';
const GO_NET = '10.20.0.0/24';

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('eBGP BIRD 2 -> wren -> iBGP GoBGP and back', async (t) => {
    const lab = await labFor(t);
    const [hw, hb, hg] = await segmentHosts(lab, ['wren', 'bird', 'gobgp']);
    const wren = new WrenSpeaker(hw!, {
      routerId: WREN,
      localAs: 65000,
      listenAddress: WREN,
      neighbors: [
        { address: BIRD, remoteAs: 65001 },
        { address: GOBGP, remoteAs: 65000 },
      ],
    });
    const bird = new Bird2Speaker(hb!, { routerId: BIRD, localAs: 65001, listenAddress: BIRD, neighbors: [{ address: WREN, remoteAs: 65000 }], originate: [BIRD_NET] });
    const go = new GobgpSpeaker(hg!, { routerId: GOBGP, localAs: 65000, listenAddress: GOBGP, neighbors: [{ address: WREN, remoteAs: 65000 }], originate: [GO_NET] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), bird.start(), go.start()]);
    await wren.waitForState(BIRD);
    await wren.waitForState(GOBGP);

    // eBGP -> iBGP.
    const [w1] = await wren.waitForRoute(BIRD_NET);
    t.same(w1?.asPath, [65001], 'wren: BIRD route AS_PATH [65001]');
    t.equal(w1?.nextHop, BIRD, 'wren: BIRD route next hop BIRD');
    t.ok(w1?.best, 'wren: BIRD route best');
    const [g1] = await go.waitForRoute(BIRD_NET);
    t.same(g1?.asPath, [65001], 'GoBGP: AS_PATH [65001] (no prepend towards iBGP)');
    t.equal(g1?.nextHop, BIRD, 'GoBGP: next hop kept (the eBGP peer)');
    t.equal(g1?.localPref, 100, 'GoBGP: LOCAL_PREF 100');
    t.equal(g1?.fromPeer, WREN, 'GoBGP: learned from wren');
    t.equal(g1?.originatorId, undefined, 'GoBGP: no ORIGINATOR_ID (not reflected)');

    // iBGP -> eBGP.
    const [w2] = await wren.waitForRoute(GO_NET);
    t.same(w2?.asPath, [], 'wren: GoBGP route AS_PATH empty');
    t.equal(w2?.nextHop, GOBGP, 'wren: GoBGP route next hop GoBGP');
    const [b2] = await bird.waitForRoute(GO_NET);
    t.same(b2?.asPath, [65000], 'BIRD: AS_PATH [65000] (wren prepended its AS)');
    t.equal(b2?.nextHop, WREN, 'BIRD: next hop wren (next-hop-self towards eBGP)');
    t.equal(b2?.fromPeer, WREN, 'BIRD: learned from wren');
    t.ok(b2?.best, 'BIRD: best');

    // Neither route goes back to where it came from.
    t.same(await bird.routes(BIRD_NET).then((rs) => rs.filter((r) => !r.local)), [], 'BIRD: its own route not echoed back');

    await sleep(1000);
    let ups = await wireUpdates(cap);
    const toGo = announcing(ups, WREN, GOBGP, BIRD_NET)[0];
    t.ok(toGo !== undefined, 'wire: wren announced BIRD route to GoBGP');
    t.same(toGo?.asPath, [65001], 'wire: to GoBGP AS_PATH [65001]');
    t.equal(toGo?.nextHop, BIRD, 'wire: to GoBGP NEXT_HOP BIRD');
    t.equal(toGo?.localPref, 100, 'wire: to GoBGP LOCAL_PREF 100');
    const toBird = announcing(ups, WREN, BIRD, GO_NET)[0];
    t.ok(toBird !== undefined, 'wire: wren announced GoBGP route to BIRD');
    t.same(toBird?.asPath, [65000], 'wire: to BIRD AS_PATH [65000]');
    t.equal(toBird?.nextHop, WREN, 'wire: to BIRD NEXT_HOP wren');
    t.equal(toBird?.localPref, undefined, 'wire: to BIRD no LOCAL_PREF (RFC 4271 §5.1.5)');
    t.equal(announcing(ups, WREN, BIRD, BIRD_NET).length, 0, 'wire: BIRD route never sent back to BIRD');
    t.equal(announcing(ups, WREN, GOBGP, GO_NET).length, 0, 'wire: GoBGP route never sent back to GoBGP');

    // Withdrawals cross too.
    await bird.withdraw(BIRD_NET);
    await go.waitForNoRoute(BIRD_NET);
    t.pass('GoBGP: BIRD route gone after BIRD withdrew it');
    await go.withdraw(GO_NET);
    await bird.waitForNoRoute(GO_NET);
    t.pass('BIRD: GoBGP route gone after GoBGP withdrew it');
    t.same(await wrenPaths(wren, BIRD_NET), [], 'wren: BIRD route gone');
    t.same(await wrenPaths(wren, GO_NET), [], 'wren: GoBGP route gone');
    await sleep(1000);
    await cap.stop();
    ups = await wireUpdates(cap);
    t.ok(ups.some((u) => u.src === WREN && u.dst === GOBGP && u.withdrawn.includes(BIRD_NET)), 'wire: wren sent GoBGP a withdrawal of the BIRD route');
    t.ok(ups.some((u) => u.src === WREN && u.dst === BIRD && u.withdrawn.includes(GO_NET)), 'wire: wren sent BIRD a withdrawal of the GoBGP route');
  });
}
