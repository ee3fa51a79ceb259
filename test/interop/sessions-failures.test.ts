// Sessions Must-show 3 and 4: a peer killed with SIGKILL (TCP close seen at once, and — with its
// link cut first — only the hold timer), back-off and re-establishment; a connection from an
// unconfigured address refused without a byte and without touching the session.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, GobgpSpeaker, waitFor } from '../lab/lib/index.js';
import { HOLD, WREN_AS, addSpoke, bgpConnections, neighbor, runRawPeer, sleep, synsIn, waitAllEstablished, wrenOn } from './sessions-lib.js';

if (await requireLab(t, ['bird2', 'gobgp', 'tshark'])) {
  t.test('SIGKILLed peers: hold timer / socket close, back-off, re-establishment; unconfigured address refused', async (t) => {
    const lab = await labFor(t);
    const w = await lab.addHost('wren');
    const b = await addSpoke(lab, w, 1, 'bird');
    const g = await addSpoke(lab, w, 2, 'gobgp');
    const x = await addSpoke(lab, w, 3, 'strngr');
    const wren = wrenOn(w, [
      { address: b.peer4, remoteAs: WREN_AS, source: b.wren4 },
      { address: g.peer6, remoteAs: 65002, source: g.wren6 },
    ]);
    const birdCfg = { routerId: '10.0.0.21', localAs: WREN_AS, neighbors: [{ address: b.wren4, remoteAs: WREN_AS, localAddress: b.peer4 }] };
    const goCfg = { routerId: '10.0.0.22', localAs: 65002, neighbors: [{ address: g.wren6, remoteAs: WREN_AS, localAddress: g.peer6 }] };
    let bird = new Bird2Speaker(b.host, birdCfg);
    let gobgp = new GobgpSpeaker(g.host, goCfg);
    await Promise.all([wren.start(), bird.start(), gobgp.start()]);
    await waitAllEstablished(wren, [b.peer4, g.peer6]);

    // --- 4. an unconfigured address connects to port 179 --------------------------------------
    const before = await neighbor(wren, b.peer4);
    const capX = await w.capture(x.wrenIf, { name: 'stranger' });
    const probes = await Promise.all([
      runRawPeer(x.host, { mode: 'probe', host: x.wren4, port: 179, localAddress: x.peer4, timeoutMs: 5000 }, 'probe4'),
      runRawPeer(x.host, { mode: 'probe', host: x.wren6, port: 179, localAddress: x.peer6, timeoutMs: 5000 }, 'probe6'),
      // Even an unconfigured host speaking BGP first gets nothing back.
      runRawPeer(x.host, { mode: 'open', host: x.wren4, port: 179, localAddress: x.peer4, myAs: WREN_AS, timeoutMs: 5000 }, 'probeopen'),
    ]);
    for (const [i, evs] of probes.entries()) {
      const conn = evs.find((e) => e.event === 'connected');
      const close = evs.find((e) => e.event === 'close');
      t.ok(conn !== undefined, `probe ${i}: TCP connected (the listener is there)`);
      t.ok(close !== undefined && close.event === 'close' && close.bytes === 0, `probe ${i}: closed with zero bytes (${JSON.stringify(close)})`);
      t.ok(close !== undefined && close.ms < 1000, `probe ${i}: closed at once (${close?.ms} ms)`);
      t.notOk(evs.some((e) => e.event === 'message'), `probe ${i}: no BGP message`);
    }
    await capX.stop();
    t.same((await capX.bgpMessages()).filter((m) => m.src === x.wren4 || m.src === x.wren6), [], 'wire: wren sent no BGP message to the stranger');
    const after = await neighbor(wren, b.peer4);
    t.equal(after.state, 'Established', 'the existing session is untouched');
    t.equal(after.sinceMs, before.sinceMs, 'same since');
    t.equal(after.messages.in.open, before.messages.in.open, 'no OPEN counted');
    t.equal(after.messages.out.open, before.messages.out.open);
    t.equal(after.messages.out.notification, before.messages.out.notification);
    t.equal(after.lastError, before.lastError);
    t.ok(/unconfigured address refused/.test(wren.logs()), 'wren logged the refusal');

    // --- 3a. BIRD SIGKILLed: its kernel closes the socket, wren sees that at once ---------------
    const capB = await w.capture(b.wrenIf, { name: 'kill-bird' });
    const killedAt = Date.now();
    await bird.kill();
    const downB = await waitFor(async () => {
      const n = await neighbor(wren, b.peer4);
      return n.state !== 'Established' ? n : undefined;
    }, { timeoutMs: 3 * HOLD * 1000, intervalMs: 100, what: 'wren notices BIRD gone' });
    t.ok(Date.now() - killedAt < HOLD * 1000, `wren noticed before the hold time (${Date.now() - killedAt} ms)`);
    // lastError moves on with each retry ("Connection refused"); the reason the session went down
    // is in the transition out of Established.
    const leftB = new RegExp(`"peer":"${b.peer4}"[^\\n]*"from":"Established","to":"\\w+","reason":"([^"]+)"`).exec(wren.logs())?.[1];
    t.match(leftB ?? '', /^(Socket: (Connection closed|Connection reset by peer)|BGP Error: Hold timer expired)$/, `left Established because: ${leftB}`);
    t.match(downB.lastError, /^Socket: (Connection closed|Connection reset by peer|Connection refused)$|^BGP Error: Hold timer expired$/, `lastError: ${downB.lastError}`);
    // Back-off: with nobody listening, attempts are refused and repeated at the retry pace, not in a loop.
    await sleep(4000);
    const waiting = await neighbor(wren, b.peer4);
    t.match(waiting.state, /^(Active|Connect|Idle)$/, `while BIRD is down wren waits in ${waiting.state}`);
    t.match(waiting.lastError, /^Socket: (Connection refused|Connection closed|Connection reset by peer)$|^BGP Error: Hold timer expired$/, `lastError while down: ${waiting.lastError}`);
    bird = new Bird2Speaker(b.host, birdCfg);
    await bird.start();
    await waitAllEstablished(wren, [b.peer4], 20_000);
    await capB.stop();
    const synsB = (await synsIn(capB)).filter((s) => s.src === b.wren4);
    t.ok(synsB.length >= 2 && synsB.length <= 12, `wren retried with back-off, not in a tight loop (${synsB.length} SYNs in ~5 s)`);
    t.equal((await bird.peerState(b.wren4)).state, 'Established', 'BIRD is back Established');
    t.equal((await neighbor(wren, b.peer4)).messages.in.open, before.messages.in.open + 1, 'a new OPEN: a new session');

    // --- 3b. GoBGP: link cut, then SIGKILL: no FIN ever arrives, only the hold timer can tell ---
    const capG = await w.capture(g.wrenIf, { name: 'kill-gobgp' });
    // Keep the IPv6 addresses across the cut (Linux flushes them on link down by default).
    await g.host.sysctl(`net.ipv6.conf.${g.peerIf}.keep_addr_on_down`, '1');
    await w.sysctl(`net.ipv6.conf.${g.wrenIf}.keep_addr_on_down`, '1');
    const beforeCut = await neighbor(wren, g.peer6);
    await g.host.ip(['link', 'set', g.peerIf, 'down']);
    const cutAt = Date.now();
    await gobgp.kill();
    const downG = await waitFor(async () => {
      const n = await neighbor(wren, g.peer6);
      return n.state !== 'Established' ? n : undefined;
    }, { timeoutMs: 3 * HOLD * 1000, intervalMs: 100, what: 'wren notices GoBGP gone' });
    const noticed = Date.now() - cutAt;
    t.equal(downG.lastError, 'BGP Error: Hold timer expired', 'wren: Hold timer expired');
    t.ok(noticed >= (HOLD - 3) * 1000 && noticed <= (HOLD + 2) * 1000, `noticed after about one hold time (${noticed} ms)`);
    await sleep(1500);
    t.match((await neighbor(wren, g.peer6)).state, /^(Active|Connect|Idle)$/, 'waiting to reconnect');
    t.equal((await bgpConnections(w)).filter((c) => c.peer === g.peer6).length, 0, 'the dead connection is gone from the kernel');
    await g.host.ip(['link', 'set', g.peerIf, 'up']);
    await sleep(500);
    gobgp = new GobgpSpeaker(g.host, goCfg);
    await gobgp.start();
    await waitAllEstablished(wren, [g.peer6], 30_000);
    await gobgp.waitForState(g.wren6, 'Established', 20_000);
    await capG.stop();
    // The 4/0 went into the cut link (no carrier: nothing reaches the wire to capture); wren's
    // own counters show it was sent, and the capture shows nothing else was.
    t.equal(downG.messages.out.notification, beforeCut.messages.out.notification + 1, 'wren sent one NOTIFICATION (the 4/0) when the hold timer expired');
    t.same((await capG.notifications()).map((m) => `${m.src} ${m.errorCode}/${m.errorSubcode}`), [], 'wire: no other NOTIFICATION around the restart');
    t.pass('GoBGP re-established after its restart');
  });
}
