// Proves the lab library against the real daemons: sessions come up, routes cross in both
// directions and every reader (birdc, gobgp, vtysh, tshark, ip route) sees what it should, and
// close() leaves nothing behind.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  Bird1Speaker,
  Bird2Speaker,
  FrrSpeaker,
  GobgpSpeaker,
  Lab,
  labFor,
  listNamespaces,
  requireLab,
  run,
  sweepStale,
  waitFor,
} from './lib/index.js';

const AS = 65000;

if (await requireLab(t, ['bird2', 'bird1', 'gobgp', 'frr', 'tshark'])) {
  t.test('BIRD 2 <-> GoBGP: IPv4 iBGP on a veth, routes both ways, NOTIFICATION on the wire', async (t) => {
    const lab = await labFor(t);
    const a = await lab.addHost('a');
    const b = await lab.addHost('b');
    await lab.link(a, b, { a: ['10.0.0.1/24'], b: ['10.0.0.2/24'] });
    const cap = await a.capture('eth0');

    const bird = new Bird2Speaker(a, {
      routerId: '10.0.0.1',
      localAs: AS,
      neighbors: [{ address: '10.0.0.2', remoteAs: AS, holdTime: 6 }],
      originate: ['10.100.1.0/24'],
    });
    const gobgp = new GobgpSpeaker(b, {
      routerId: '10.0.0.2',
      localAs: AS,
      neighbors: [{ address: '10.0.0.1', remoteAs: AS, holdTime: 6, passive: true }],
      originate: ['10.100.2.0/24'],
    });
    await Promise.all([bird.start(), gobgp.start()]);

    const sb = await bird.waitForState('10.0.0.2');
    const sg = await gobgp.waitForState('10.0.0.1');
    t.equal(sb.state, 'Established', 'BIRD 2 sees Established');
    t.equal(sg.state, 'Established', 'GoBGP sees Established');
    t.match(sb.raw, /Hold timer:\s+[\d.]+\/6/, 'BIRD negotiated the 6 s hold time');

    const atB = await gobgp.waitForRoute('10.100.1.0/24');
    t.equal(atB[0]?.nextHop, '10.0.0.1', 'GoBGP learned BIRD route with next hop 10.0.0.1');
    t.same(atB[0]?.asPath, [], 'iBGP route has an empty AS path');
    t.equal(atB[0]?.fromPeer, '10.0.0.1', 'GoBGP says where it came from');
    t.equal(atB[0]?.local, false, 'learned, not local');
    const atA = await bird.waitForRoute('10.100.2.0/24');
    t.equal(atA[0]?.nextHop, '10.0.0.2', 'BIRD learned GoBGP route with next hop 10.0.0.2');
    t.equal(atA[0]?.fromPeer, '10.0.0.2', 'BIRD route maps back to the neighbor');
    t.equal(atA[0]?.best, true, 'BIRD marks it best');
    t.equal(atA[0]?.localPref, 100, 'BIRD shows LOCAL_PREF');
    const own = await bird.routes('10.100.1.0/24');
    t.ok(own.length === 1 && own[0]?.local === true, 'BIRD own static is local');
    t.same(await bird.routes('10.199.0.0/24'), [], 'unknown prefix gives no routes');

    // Withdraw and re-announce through the API (BIRD reconfigures, GoBGP uses its API).
    await bird.withdraw('10.100.1.0/24');
    await gobgp.waitForNoRoute('10.100.1.0/24');
    t.pass('withdrawal reached GoBGP');
    await bird.announce('10.100.3.0/24');
    await gobgp.waitForRoute('10.100.3.0/24');
    t.pass('new announcement reached GoBGP');

    // An administrative shutdown sends a Cease NOTIFICATION (6/2) that BIRD reports and tshark decodes.
    await gobgp.cli('neighbor 10.0.0.1 shutdown');
    const down = await waitFor(
      async () => {
        const s = await bird.peerState('10.0.0.2');
        return s.state !== 'Established' && s.lastError !== undefined ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'BIRD to see the shutdown' },
    );
    t.match(down.lastError ?? '', /shutdown/i, `BIRD last error: ${down.lastError ?? ''}`);
    await cap.stop();
    const msgs = await cap.bgpMessages();
    const opens = msgs.filter((m) => m.type === 1);
    t.ok(opens.length >= 2, 'two OPENs captured');
    t.ok(opens.every((m) => m.holdTime === 6 && m.myAs === AS), 'OPENs carry hold time 6 and AS 65000');
    const notes = await cap.notifications();
    t.ok(
      notes.some((n) => n.src === '10.0.0.2' && n.errorCode === 6 && n.errorSubcode === 2),
      `Cease/Administrative Shutdown from GoBGP on the wire (${JSON.stringify(notes.map((n) => [n.src, n.errorCode, n.errorSubcode]))})`,
    );
    t.match(await cap.text('bgp.type == 3'), /NOTIFICATION/, 'tshark -V text shows the NOTIFICATION');
    t.match(gobgp.logs(), /Peer Down|shutdown/i, 'GoBGP log is readable');
  });

  t.test('BIRD 1.6 <-> FRR: IPv4 and IPv6 sessions, FRR installs into the namespace kernel', async (t) => {
    const lab = await labFor(t);
    const c = await lab.addHost('c');
    const d = await lab.addHost('d');
    await lab.link(c, d, { a: ['10.0.1.1/24', 'fd00:1::1/64'], b: ['10.0.1.2/24', 'fd00:1::2/64'] });

    const bird1 = new Bird1Speaker(c, {
      routerId: '10.0.1.1',
      localAs: AS,
      neighbors: [
        { address: '10.0.1.2', remoteAs: AS },
        { address: 'fd00:1::2', remoteAs: AS },
      ],
      originate: ['10.101.1.0/24', 'fd00:101::/48'],
    });
    const frr = new FrrSpeaker(d, {
      routerId: '10.0.1.2',
      localAs: AS,
      kernel: true,
      neighbors: [
        { address: '10.0.1.1', remoteAs: AS },
        { address: 'fd00:1::1', remoteAs: AS },
      ],
      originate: ['10.101.2.0/24', 'fd00:102::/48'],
    });
    await Promise.all([bird1.start(), frr.start()]);

    for (const [sp, addr] of [
      [bird1, '10.0.1.2'],
      [bird1, 'fd00:1::2'],
      [frr, '10.0.1.1'],
      [frr, 'fd00:1::1'],
    ] as const) {
      const s = await sp.waitForState(addr);
      t.equal(s.state, 'Established', `${sp.kind} session with ${addr} Established`);
    }

    const v4atC = await bird1.waitForRoute('10.101.2.0/24');
    t.equal(v4atC[0]?.nextHop, '10.0.1.2', 'BIRD 1.6 learned the FRR IPv4 route');
    const v6atC = await bird1.waitForRoute('fd00:102::/48');
    t.equal(v6atC[0]?.nextHop, 'fd00:1::2', 'BIRD 1.6 (bird6) learned the FRR IPv6 route with its global next hop');
    const v4atD = await frr.waitForRoute('10.101.1.0/24');
    t.equal(v4atD[0]?.nextHop, '10.0.1.1', 'FRR learned the BIRD 1.6 IPv4 route');
    t.equal(v4atD[0]?.fromPeer, '10.0.1.1', 'FRR says where it came from');
    const v6atD = await frr.waitForRoute('fd00:101::/48');
    t.equal(v6atD[0]?.nextHop, 'fd00:1::1', 'FRR learned the BIRD 1.6 IPv6 route');
    const ownD = await frr.routes('10.101.2.0/24');
    t.ok(ownD.some((r) => r.local), 'FRR network statement shows as local');

    const k4 = await waitFor(async () => {
      const txt = await d.routes(4);
      return /10\.101\.1\.0\/24 .*via 10\.0\.1\.1 dev eth0 proto bgp/.test(txt) ? txt : undefined;
    }, { timeoutMs: 15_000, what: 'FRR kernel route' });
    t.match(k4, /proto bgp/, 'ip route in the namespace shows the route FRR installed');
    const k6 = await waitFor(async () => {
      const txt = await d.routes(6);
      return txt.includes('fd00:101::/48') ? txt : undefined;
    }, { timeoutMs: 15_000, what: 'FRR IPv6 kernel route' });
    t.match(k6, /fd00:101::\/48 .*proto bgp/, 'ip -6 route shows it too');
    t.notMatch(await c.routes(4), /10\.101\.2\.0/, 'BIRD 1.6 without kernel: true keeps the kernel untouched');
  });

  t.test('bridge segment of three hosts: route reflection, tunl0 onlink route, full cleanup', async (t) => {
    const lab = await Lab.create();
    t.teardown(() => lab.close());
    const seg = await lab.addSegment('br');
    const [n1, n2, n3] = await Promise.all([lab.addHost('n1'), lab.addHost('n2'), lab.addHost('n3')]);
    if (!n1 || !n2 || !n3) throw new Error('hosts');
    await seg.attach(n1, { addrs: ['10.0.2.1/24', 'fd00:2::1/64'] });
    await seg.attach(n2, { addrs: ['10.0.2.2/24', 'fd00:2::2/64'] });
    await seg.attach(n3, { addrs: ['10.0.2.3/24', 'fd00:2::3/64'] });

    // Calico-style route: a remote block via the other node over tunl0, onlink.
    await n1.addTunl0();
    await n1.ip(['route', 'add', '10.102.0.0/26', 'via', '10.0.2.2', 'dev', 'tunl0', 'onlink']);
    t.match(await n1.routes(4), /10\.102\.0\.0\/26 via 10\.0\.2\.2 dev tunl0 onlink/, 'onlink route via tunl0 accepted');
    t.match(await n1.routes(6), /fd00:2::\/64 dev eth0/, 'IPv6 connected route present');

    // n1 (BIRD 2) reflects between its clients n2 (GoBGP) and n3 (FRR).
    const rr = new Bird2Speaker(n1, {
      routerId: '10.0.2.1',
      localAs: AS,
      clusterId: '10.0.2.1',
      neighbors: [
        { address: '10.0.2.2', remoteAs: AS, routeReflectorClient: true, passive: true },
        { address: '10.0.2.3', remoteAs: AS, routeReflectorClient: true, passive: true },
      ],
    });
    const go = new GobgpSpeaker(n2, {
      routerId: '10.0.2.2',
      localAs: AS,
      neighbors: [{ address: '10.0.2.1', remoteAs: AS, gracefulRestart: true, restartTime: 30 }],
      originate: ['10.102.2.0/24'],
    });
    const frr = new FrrSpeaker(n3, {
      routerId: '10.0.2.3',
      localAs: AS,
      neighbors: [{ address: '10.0.2.1', remoteAs: AS, gracefulRestart: true, restartTime: 30 }],
      originate: ['10.102.3.0/24'],
    });
    await Promise.all([rr.start(), go.start(), frr.start()]);
    await Promise.all([rr.waitForState('10.0.2.2'), rr.waitForState('10.0.2.3'), go.waitForState('10.0.2.1'), frr.waitForState('10.0.2.1')]);
    t.pass('three sessions over the bridge are Established');

    const atFrr = await frr.waitForRoute('10.102.2.0/24');
    t.equal(atFrr[0]?.nextHop, '10.0.2.2', 'FRR got the GoBGP route with the original next hop');
    t.equal(atFrr[0]?.originatorId, '10.0.2.2', 'FRR shows ORIGINATOR_ID');
    t.same(atFrr[0]?.clusterList, ['10.0.2.1'], 'FRR shows CLUSTER_LIST');
    const atGo = await go.waitForRoute('10.102.3.0/24');
    t.equal(atGo[0]?.originatorId, '10.0.2.3', 'GoBGP shows ORIGINATOR_ID');
    t.same(atGo[0]?.clusterList, ['10.0.2.1'], 'GoBGP shows CLUSTER_LIST');
    const atRr = await rr.waitForRoute('10.102.3.0/24');
    t.equal(atRr[0]?.fromPeer, '10.0.2.3', 'the reflector learned it from FRR');

    // A generic program, as later tests will start wren itself.
    const sleeper = n2.spawn('sleep', ['300'], { name: 'sleeper' });
    await waitFor(() => sleeper.pid !== undefined && existsSync(`/proc/${sleeper.pid}`), { what: 'sleep started' });
    const echo = n3.spawn('sh', ['-c', 'echo hello; echo oops >&2; exit 3'], { name: 'echo' });
    const ex = await echo.exited;
    t.equal(ex.code, 3, 'exit code of a spawned program');
    t.equal(echo.stdout(), 'hello\n', 'stdout captured to a file');
    t.equal(echo.stderr(), 'oops\n', 'stderr captured to a file');

    const names = lab.namespaceNames();
    t.equal(names.length, 4, 'four namespaces (bridge + three hosts)');
    t.ok(names.every((n) => n.length <= 15), `namespace names fit in 15 characters (${names.join(', ')})`);
    const pids = [sleeper.pid, rr.process?.pid, go.process?.pid, frr.processes.bgpd?.pid, frr.processes.zebra?.pid];
    await lab.close();
    const left = await listNamespaces();
    t.same(names.filter((n) => left.includes(n)), [], 'all namespaces deleted');
    t.same(
      pids.filter((p) => p !== undefined && spawnSync('kill', ['-0', String(p)]).status === 0),
      [],
      'every daemon and program is gone',
    );
    t.notOk(existsSync(lab.dir), 'temp dir removed');
    t.equal(sleeper.exit?.signal, 'SIGTERM', 'a plain program was stopped with SIGTERM');
  });

  t.test('eBGP with TCP MD5, add-path and graceful restart: BIRD 1.6 <-> GoBGP, BIRD 2 <-> FRR', async (t) => {
    const lab = await labFor(t);
    const [e1, e2, e3, e4] = await Promise.all(['e1', 'e2', 'e3', 'e4'].map((n) => lab.addHost(n)));
    if (!e1 || !e2 || !e3 || !e4) throw new Error('hosts');
    await lab.link(e1, e2, { a: ['10.0.3.1/24'], b: ['10.0.3.2/24'] });
    await lab.link(e3, e4, { a: ['10.0.4.1/24', 'fd00:4::1/64'], b: ['10.0.4.2/24', 'fd00:4::2/64'] });
    const opts = { password: 's3cret', addPath: 'both', gracefulRestart: true, restartTime: 20 } as const;
    const b1 = new Bird1Speaker(e1, {
      routerId: '10.0.3.1',
      localAs: 65001,
      neighbors: [{ address: '10.0.3.2', remoteAs: 65002, ...opts }],
      originate: ['10.103.1.0/24'],
    });
    const go = new GobgpSpeaker(e2, {
      routerId: '10.0.3.2',
      localAs: 65002,
      listenAddress: '10.0.3.2',
      neighbors: [{ address: '10.0.3.1', remoteAs: 65001, ...opts }],
      originate: ['10.103.2.0/24'],
    });
    const b2 = new Bird2Speaker(e3, {
      routerId: '10.0.4.1',
      localAs: 65003,
      neighbors: [
        { address: '10.0.4.2', remoteAs: 65004, ...opts },
        { address: 'fd00:4::2', remoteAs: 65004, nextHopSelf: true },
      ],
      originate: ['10.103.3.0/24', 'fd00:103::/48'],
    });
    const frr = new FrrSpeaker(e4, {
      routerId: '10.0.4.2',
      localAs: 65004,
      neighbors: [
        { address: '10.0.4.1', remoteAs: 65003, ...opts },
        { address: 'fd00:4::1', remoteAs: 65003 },
      ],
      originate: ['10.103.4.0/24'],
    });
    await Promise.all([b1.start(), go.start(), b2.start(), frr.start()]);
    await Promise.all([
      b1.waitForState('10.0.3.2'),
      go.waitForState('10.0.3.1'),
      b2.waitForState('10.0.4.2'),
      b2.waitForState('fd00:4::2'),
      frr.waitForState('10.0.4.1'),
      frr.waitForState('fd00:4::1'),
    ]);
    t.pass('all eBGP sessions Established (with TCP MD5 on the IPv4 ones)');
    t.same((await go.waitForRoute('10.103.1.0/24'))[0]?.asPath, [65001], 'GoBGP sees AS path 65001 from BIRD 1.6');
    t.same((await b1.waitForRoute('10.103.2.0/24'))[0]?.asPath, [65002], 'BIRD 1.6 sees AS path 65002 from GoBGP');
    t.same((await frr.waitForRoute('10.103.3.0/24'))[0]?.asPath, [65003], 'FRR sees AS path 65003 from BIRD 2');
    t.same((await frr.waitForRoute('fd00:103::/48'))[0]?.asPath, [65003], 'FRR sees the IPv6 route from BIRD 2');
    t.same((await b2.waitForRoute('10.103.4.0/24'))[0]?.asPath, [65004], 'BIRD 2 sees AS path 65004 from FRR');
    const st = await frr.peerState('10.0.4.1');
    t.match(st.raw, /addPath/, 'FRR negotiated add-path with BIRD 2');
    t.match(st.raw, /gracefulRestart/i, 'FRR reports graceful restart info');
  });

  t.test('stale-namespace sweep removes dead runs only', async (t) => {
    const lab = await labFor(t);
    const live = await lab.addHost('live');
    // A pid that is certainly dead: a child that has exited.
    const dead = spawnSync('true').pid;
    const stale = `wl${dead.toString(36).padStart(5, '0')}z-old`;
    await run('ip', ['netns', 'add', stale]);
    t.teardown(() => run('ip', ['netns', 'del', stale], { allowFail: true }));
    const swept = await sweepStale({ minAgeMs: 0 });
    t.ok(swept.includes(stale), 'namespace of a dead pid swept');
    t.notOk(swept.includes(live.ns), 'namespace of this live run kept');
    t.notOk((await listNamespaces()).includes(stale), 'stale namespace is gone');
  });
}
