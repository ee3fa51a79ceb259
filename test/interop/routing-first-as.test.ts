// enforce-first-as against real BIRD 2 acting as a route server for wren (`rs client`: BIRD does
// not prepend its AS, so the leftmost AS is not the peer's). RFC 4271 §6.3 + RFC 7606 §7.2: wren
// treats such UPDATEs as withdraws, warns and counts them; `enforce-first-as: false` (the route
// server exception) accepts them, applied by reload with a route refresh, no reset.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, WrenSpeaker } from '../lab/lib/index.js';
import type { NeighborStatus } from '../../src/status.js';
import { segmentHosts, sleep, wrenPaths } from './routing-lib.js';

const WREN_AS = 65001;
const RS_AS = 65002;
const FOREIGN_AS = 65099;
const WREN = '10.0.0.1';
const RS = '10.0.0.2';
/** Path "65099": not the route server's AS first. */
const BAD = '10.71.1.0/24';
/** Path "65002 65099": the peer's AS first. */
const GOOD = '10.71.2.0/24';

if (await requireLab(t, ['bird2'])) {
  t.test('enforce-first-as with BIRD 2 as a route server (rs client)', async (t) => {
    const lab = await labFor(t);
    const [hw, hb] = await segmentHosts(lab, ['wren', 'rs']);
    const wren = new WrenSpeaker(hw!, { routerId: WREN, localAs: WREN_AS, listenAddress: WREN, neighbors: [{ address: RS, remoteAs: RS_AS, holdTime: 30 }] }, { logLevel: 'info' });
    const bird = new Bird2Speaker(hb!, {
      routerId: RS,
      localAs: RS_AS,
      listenAddress: RS,
      neighbors: [],
      extraConfig: [
        `protocol static rs4 { ipv4; route ${BAD} blackhole { bgp_path.prepend(${FOREIGN_AS}); }; route ${GOOD} blackhole { bgp_path.prepend(${FOREIGN_AS}); bgp_path.prepend(${RS_AS}); }; }`,
        `protocol bgp rs_wren { local ${RS} as ${RS_AS}; neighbor ${WREN} as ${WREN_AS}; rs client; hold time 30; connect retry time 1; connect delay time 1; error wait time 1, 5;`,
        `  ipv4 { import all; export where source = RTS_STATIC; }; }`,
      ].join('\n'),
    });
    await Promise.all([wren.start(), bird.start()]);
    await wren.waitForState(RS, 'Established');
    await wren.waitForRoute(GOOD);
    await sleep(1500);
    t.same(await wrenPaths(wren, BAD), [], `${BAD} (AS_PATH ${FOREIGN_AS}) treated as withdraw`);
    const [good] = await wren.routes(GOOD);
    t.same(good?.asPath, [RS_AS, FOREIGN_AS], `${GOOD} accepted, AS_PATH ${RS_AS} ${FOREIGN_AS}`);
    const n = (await wren.ctl<{ neighbor: NeighborStatus }>(['show', 'neighbor', RS])).neighbor;
    t.ok((n.updateErrors?.firstAsMismatch ?? 0) >= 1, `counted: ${JSON.stringify(n.updateErrors)}`);
    const text = (await wren.ctlText(['show', 'neighbor', RS])).stdout;
    const line = text.split('\n').find((l) => l.includes('UPDATE errors')) ?? '';
    t.match(line, /\d+ treated as withdraw \(RFC 7606\), \d+ of them first AS not the peer's \(RFC 4271 §6\.3\)/, `show neighbor: ${line.trim()}`);
    const warn = wren
      .logs()
      .split('\n')
      .find((l) => l.includes('"update.firstAs"'));
    t.ok(warn !== undefined && warn.includes('"level":"warn"'), 'logged at warn');
    t.comment(warn ?? '(no log line)');

    // The route-server exception, by reload: route refresh, no reset.
    const since = n.sinceMs;
    const peers = (wren.configObject()['peers'] as Record<string, unknown>[]).map((p) => ({ ...p, 'enforce-first-as': false }));
    await wren.setExtra({ peers });
    const r = (await wren.reload()) as { changes: string[] };
    t.match(r.changes.join('\n'), /changed \(enforceFirstAs\): route refresh, session kept/, `reload: ${r.changes.join('; ')}`);
    const [bad] = await wren.waitForRoute(BAD, { timeoutMs: 15_000 });
    t.same(bad?.asPath, [FOREIGN_AS], `enforce-first-as false: ${BAD} accepted`);
    const n2 = (await wren.ctl<{ neighbor: NeighborStatus }>(['show', 'neighbor', RS])).neighbor;
    t.equal(n2.sinceMs, since, 'session not reset');
    t.equal(n2.messages.in.notification + n2.messages.out.notification, n.messages.in.notification + n.messages.out.notification, 'no NOTIFICATION');
  });
}
