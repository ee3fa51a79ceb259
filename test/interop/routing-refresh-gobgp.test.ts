// Route refresh against real GoBGP (issue #4), eBGP wren AS 65001 <-> GoBGP AS 65003, with a
// capture on wren's side. GoBGP negotiates Route Refresh (RFC 2918) but not Enhanced Route Refresh
// (RFC 7313), so this is the plain path that routing-refresh.test.ts (BIRD 2, enhanced) does not
// take:
// (a) GoBGP announces a route whose AS_PATH holds wren's AS; wren (allow-local-as 0) refuses it.
//     A reload with allow-local-as 1 sends ROUTE-REFRESH (AFI 1 SAFI 1 subtype 0); GoBGP resends
//     without BoRR/EoRR and the route is learned. Back to 0: the held route goes at once (wren
//     re-checks what it holds; without RFC 7313 nothing else would sweep it).
// (b) `bgpctl neighbor 10.0.0.2 refresh out` resends wren's Adj-RIB-Out with no BoRR/EoRR (none
//     was negotiated); `refresh in` asks GoBGP again.
// The session is never reset: same `since`, no NOTIFICATION after it came up.
import t from 'tap';
import { GobgpSpeaker, WrenSpeaker, labFor, requireLab } from '../lab/lib/index.js';
import type { BgpWireMessage, Capture } from '../lab/lib/index.js';
import type { NeighborStatus } from '../../src/status.js';
import { segmentHosts, sleep, wireUpdates, wrenPaths } from './routing-lib.js';

const WREN_AS = 65001;
const GOBGP_AS = 65003;
const WREN = '10.0.0.1';
const GOBGP = '10.0.0.2';
const BLOCK = '10.64.3.0/26';
const CLEAN = '10.70.3.0/24';
const LOOPED = '10.70.4.0/24';

const MSG_UPDATE = 2;
const MSG_NOTIFICATION = 3;
const MSG_ROUTE_REFRESH = 5;

/** ROUTE-REFRESH messages of a capture as "src->dst afi/safi/subtype". */
function refreshes(msgs: readonly BgpWireMessage[]): string[] {
  return msgs
    .filter((m) => m.type === MSG_ROUTE_REFRESH)
    .map((m) => `${m.src}->${m.dst} ${Number(m.fields['bgp.route_refresh.afi'])}/${Number(m.fields['bgp.route_refresh.safi'])}/${Number(m.fields['bgp.route_refresh.subtype'] ?? 0)}`);
}

async function wrenNeighbor(wren: WrenSpeaker): Promise<NeighborStatus> {
  const n = (await wren.neighbors()).find((x) => x.address === GOBGP);
  if (n === undefined) throw new Error(`wren has no neighbor ${GOBGP}`);
  return n;
}

if (await requireLab(t, ['gobgp', 'tshark'])) {
  t.test('route refresh with GoBGP (RFC 2918 without RFC 7313): import-policy reload, bgpctl refresh in/out, no reset', async (t) => {
    const lab = await labFor(t);
    const [hw, hg] = await segmentHosts(lab, ['wren', 'gobgp']);
    const wren = new WrenSpeaker(
      hw!,
      { routerId: WREN, localAs: WREN_AS, listenAddress: WREN, neighbors: [{ address: GOBGP, remoteAs: GOBGP_AS, holdTime: 30 }], originate: [BLOCK] },
      { logLevel: 'info' },
    );
    const gobgp = new GobgpSpeaker(hg!, { routerId: GOBGP, localAs: GOBGP_AS, listenAddress: GOBGP, neighbors: [{ address: WREN, remoteAs: WREN_AS, holdTime: 30 }], originate: [CLEAN] });
    const restart = async (): Promise<Capture> => {
      const c = await hw!.capture('eth0');
      await sleep(500); // tshark reports "Capturing" a moment before it really is
      return c;
    };
    const phase = async (c: Capture): Promise<BgpWireMessage[]> => {
      await c.stop();
      return c.bgpMessages();
    };

    await Promise.all([wren.start(), gobgp.start()]);
    await wren.waitForState(GOBGP, 'Established');
    await wren.waitForRoute(CLEAN);
    // GoBGP prepends its own AS towards wren: the path arrives as "65003 65001".
    await gobgp.gobgp(['global', 'rib', 'add', LOOPED, 'aspath', String(WREN_AS), '-a', 'ipv4']);
    await gobgp.waitForRoute(BLOCK);
    await sleep(1500);
    t.same(await wrenPaths(wren, LOOPED), [], `allow-local-as 0: ${LOOPED} (AS_PATH ${GOBGP_AS} ${WREN_AS}) refused`);
    const n0 = await wrenNeighbor(wren);
    t.comment(`negotiated: ${n0.capabilities.negotiated.join(', ')}`);
    t.ok(n0.capabilities.negotiated.includes('route-refresh'), 'Route Refresh negotiated');
    t.notOk(n0.capabilities.negotiated.includes('enhanced-route-refresh'), 'Enhanced Route Refresh not negotiated (GoBGP does not offer it)');
    const notificationsAtStart = n0.messages.in.notification + n0.messages.out.notification;

    // (a) allow-local-as 1 by reload.
    let cap = await restart();
    const peers = (allow: number): Record<string, unknown>[] => (wren.configObject()['peers'] as Record<string, unknown>[]).map((p) => ({ ...p, 'allow-local-as': allow }));
    await wren.setExtra({ peers: peers(1) });
    const r1 = (await wren.reload()) as { changes: string[] };
    t.match(r1.changes.join('\n'), /changed \(allowLocalAs\): route refresh, session kept/, `reload: ${r1.changes.join('; ')}`);
    const [got] = await wren.waitForRoute(LOOPED, { timeoutMs: 15_000 });
    t.same(got?.asPath, [GOBGP_AS, WREN_AS], `learned after the refresh, AS_PATH ${GOBGP_AS} ${WREN_AS}`);
    await sleep(1000);
    let msgs = await phase(cap);
    t.same(refreshes(msgs), [`${WREN}->${GOBGP} 1/1/0`], 'on the wire: one ROUTE-REFRESH from wren (IPv4 unicast, subtype 0), none back (no BoRR/EoRR)');
    t.ok(msgs.some((m) => m.src === GOBGP && m.type === MSG_UPDATE), 'GoBGP resent its routes');
    t.equal(msgs.filter((m) => m.type === MSG_NOTIFICATION).length, 0, 'no NOTIFICATION');

    // Back to 0: no BoRR/EoRR sweep exists here, so wren must drop the held route itself.
    cap = await restart();
    await wren.setExtra({ peers: peers(0) });
    const r0 = (await wren.reload()) as { changes: string[] };
    t.match(r0.changes.join('\n'), /route refresh, session kept/, 'reload back: route refresh, session kept');
    await wren.waitForNoRoute(LOOPED, 10_000);
    t.pass(`allow-local-as 0 again: ${LOOPED} gone at once`);
    await sleep(1000);
    t.equal((await wrenPaths(wren, LOOPED)).length, 0, 'and not brought back by GoBGP resending it');
    t.equal((await wrenPaths(wren, CLEAN)).length, 1, `${CLEAN} kept`);
    msgs = await phase(cap);
    t.same(refreshes(msgs), [`${WREN}->${GOBGP} 1/1/0`], 'reload back: one ROUTE-REFRESH from wren');

    // (b) From wren's side: `refresh out` resends the Adj-RIB-Out with no BoRR/EoRR around it,
    // `refresh in` asks GoBGP again. (GoBGP's own `softresetin` re-runs its policy over its stored
    // Adj-RIB-In and sends nothing, so the request cannot come from GoBGP here.)
    cap = await restart();
    const capB = cap;
    const out = await wren.ctlText(['neighbor', GOBGP, 'refresh', 'out']);
    t.equal(out.code, 0, `bgpctl neighbor ${GOBGP} refresh out: ${out.stdout.trim()}`);
    await sleep(1500);
    msgs = await phase(cap);
    t.same(refreshes(msgs), [], 'refresh out: no ROUTE-REFRESH message at all (no BoRR/EoRR without RFC 7313)');
    const upd = (await wireUpdates(capB)).filter((u) => u.src === WREN && u.dst === GOBGP);
    t.ok(upd.some((u) => u.nlri.includes(BLOCK)), `refresh out: wren re-sent ${BLOCK}`);
    cap = await restart();
    const inn = await wren.ctlText(['neighbor', GOBGP, 'refresh', 'in']);
    t.equal(inn.code, 0, `bgpctl neighbor ${GOBGP} refresh in: ${inn.stdout.trim()}`);
    await sleep(1500);
    msgs = await phase(cap);
    t.same(refreshes(msgs), [`${WREN}->${GOBGP} 1/1/0`], 'refresh in: one ROUTE-REFRESH from wren');
    t.ok(msgs.some((m) => m.src === GOBGP && m.type === MSG_UPDATE), 'GoBGP resent its routes');
    t.equal((await gobgp.routes(BLOCK)).length, 1, `GoBGP still has ${BLOCK}`);
    t.equal((await wrenPaths(wren, CLEAN)).length, 1, `wren still has ${CLEAN}`);

    const n1 = await wrenNeighbor(wren);
    t.equal(n1.sinceMs, n0.sinceMs, 'never reset: same since');
    t.equal(n1.state, 'Established');
    t.equal(n1.messages.in.notification + n1.messages.out.notification, notificationsAtStart, 'no NOTIFICATION since the session came up');
    t.equal((await gobgp.peerState(WREN)).state, 'Established', 'GoBGP: still Established');
  });
}
