// wren as a client of a BIRD 2 route reflector (cluster 10.254.0.1). A route of another BIRD client
// arrives with ORIGINATOR_ID / CLUSTER_LIST set; wren takes it as best, programs it into its
// namespace's kernel, and does not reflect it (wren is no reflector): its other iBGP peer (GoBGP)
// gets wren's own block but never the reflected route, and nothing goes back to the reflector.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, GobgpSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import { announcedSet, announcing, kernelRoute, segmentHosts, sleep, wireUpdates } from './routing-lib.js';

const AS = 65000;
const WREN = '10.0.0.1';
const RR = '10.0.0.2'; // BIRD 2 reflector
const B = '10.0.0.3'; // BIRD 2 client of RR
const GOBGP = '10.0.0.4'; // wren's iBGP peer (non-client; wren is not a reflector)
const CLUSTER = '10.254.0.1';
const POOL = '10.64.0.0/16';
const BLOCK = '10.64.1.0/26';
const B_NET = '10.64.6.0/26';

if (await requireLab(t, ['bird2', 'gobgp'])) {
  t.test('wren as a BIRD 2 reflector client: installs reflected routes, reflects nothing', async (t) => {
    const lab = await labFor(t);
    const [hw, hr, hb, hg] = await segmentHosts(lab, ['wren', 'rr', 'b', 'gobgp']);
    const wren = new WrenSpeaker(
      hw!,
      {
        routerId: WREN,
        localAs: AS,
        listenAddress: WREN,
        kernel: true,
        neighbors: [
          { address: RR, remoteAs: AS },
          { address: GOBGP, remoteAs: AS },
        ],
        originate: [BLOCK],
      },
      { extra: { pools: [{ cidr: POOL, 'ipip-mode': 'Never' }] } },
    );
    const rr = new Bird2Speaker(hr!, {
      routerId: RR,
      localAs: AS,
      listenAddress: RR,
      clusterId: CLUSTER,
      neighbors: [
        { address: WREN, remoteAs: AS, routeReflectorClient: true },
        { address: B, remoteAs: AS, routeReflectorClient: true },
      ],
    });
    const b = new Bird2Speaker(hb!, { routerId: B, localAs: AS, listenAddress: B, neighbors: [{ address: RR, remoteAs: AS }], originate: [B_NET] });
    const go = new GobgpSpeaker(hg!, { routerId: GOBGP, localAs: AS, listenAddress: GOBGP, neighbors: [{ address: WREN, remoteAs: AS }] });
    const cap = await hw!.capture('eth0');
    await Promise.all([wren.start(), rr.start(), b.start(), go.start()]);

    const [r] = await wren.waitForRoute(B_NET);
    t.equal(r?.originatorId, B, 'wren: ORIGINATOR_ID = B');
    t.same(r?.clusterList, [CLUSTER], 'wren: CLUSTER_LIST = [reflector cluster id]');
    t.equal(r?.nextHop, B, 'wren: next hop B');
    t.equal(r?.fromPeer, RR, 'wren: learned from the reflector');
    t.ok(r?.best, 'wren: best');
    const text = await wren.ctlText(['show', 'routes', B_NET]);
    t.match(text.stdout, /10\.64\.6\.0\/26/, 'bgpctl show routes (text) lists the route');

    const k = await (async () => {
      for (let i = 0; i < 40; i++) {
        const line = await kernelRoute(hw!, B_NET);
        if (line !== '') return line;
        await sleep(250);
      }
      return '';
    })();
    t.match(k, /^10\.64\.6\.0\/26 via 10\.0\.0\.3 dev eth0 proto bird/, `kernel in wren's namespace: ${k}`);

    // wren's own block goes out (positive control), and through the reflector reaches B.
    await go.waitForRoute(BLOCK);
    const [blockAtB] = await b.waitForRoute(BLOCK);
    t.equal(blockAtB?.originatorId, WREN, 'B: wren block reflected by RR with ORIGINATOR_ID wren');
    await sleep(3000);
    t.same(await go.routes(B_NET), [], 'GoBGP: reflected route not passed on by wren');
    await cap.stop();
    const ups = await wireUpdates(cap);
    t.ok(announcing(ups, RR, WREN, B_NET).length >= 1, 'wire: RR sent the route to wren');
    t.same(announcedSet(ups, WREN, GOBGP), [BLOCK], 'wire: wren announced only its block to GoBGP');
    t.same(announcedSet(ups, WREN, RR), [BLOCK], 'wire: wren announced only its block to RR');
  });
}
