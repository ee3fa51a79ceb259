// Fault: the node address (node-address, the session address and source) removed from its
// interface and added back, as a DHCP renewal gone wrong or `ip addr del` does (issue #9).
//
// Three nodes on one segment, AS 64512, full iBGP mesh: w1 (wren under test, listening on its
// node address as Calico's bindMode NodeIP does, BIRD's session passive on its side so it can
// only come up through that listener), w2 (wren, passive towards w1 so w1 must connect out from
// its node address), b (BIRD 2, with a kernel protocol). Two pools: 172.20.0.0/16 CrossSubnet
// (same subnet: direct routes `via X dev eth0`) and 172.21.0.0/16 IPIP Always (`via X dev tunl0
// onlink`); each node has a block in both.
//
// What the kernel does when eth0 loses its only IPv4 address: it flushes every route through
// eth0 without a notification (wren's direct routes among them), keeps blackholes and onlink
// routes through tunl0, and refuses to re-add a direct route ("Nexthop has invalid gateway")
// until the address is back. Established TCP connections and listening sockets bound to the
// address survive; new connections from it fail (EADDRNOTAVAIL).
//
// What wren must do, and this test asserts:
// - short outage (well inside the hold time): no session moves; the blackholes and onlink routes
//   never see an event; the flushed direct routes are found at once (address notification, then
//   a scan), their re-adds fail with the kernel's text, and they are back within a second or so
//   of the address returning (not at the next 30 s scan); `ip route` is then the same on every node;
// - long outage (past the hold time): wren keeps running, the sessions drop on the hold timer
//   (a NOTIFICATION: RFC 4724 §4.2 helper mode does not apply, so the peers' routes go), the
//   blackholes stay throughout, reconnects fail with "Cannot assign requested address"; after
//   the address returns, BIRD connects in through the listener, w1 connects out to w2, and
//   `ip route` converges back to exactly what it was on every node;
// - bgpd (re)started while the address is gone (SIGKILL, address removed, start): it keeps
//   running instead of exiting on EADDRNOTAVAIL, keeps the kernel routes it finds, retries the
//   bind of its listener, and once the address is back the listener binds, the sessions come up
//   and `ip route` converges back on every node.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { Bird2Speaker, WrenSpeaker, labFor, requireLab } from '../lab/lib/index.js';
import type { Host } from '../lab/lib/index.js';
import { allEstablished, ctlKernel, ctlNeighbors, sleep, until } from './lib/wren-proc.js';

const AS = 64512;
const HOLD = 9;
const W1 = '10.30.0.1';
const W2 = '10.30.0.2';
const B = '10.30.0.3';
const CIDR = 24;
const XPOOL = '172.20.0.0/16';
const IPOOL = '172.21.0.0/16';
const BLOCKS = {
  w1: ['172.20.1.0/26', '172.21.1.0/26'],
  w2: ['172.20.2.0/26', '172.21.2.0/26'],
  b: ['172.20.3.0/26', '172.21.3.0/26'],
} as const;
/** What w1's kernel holds once converged (`ip route` lines of proto bird). */
const W1_ROUTES = [
  'blackhole 172.20.1.0/26 proto bird',
  '172.20.2.0/26 via 10.30.0.2 dev eth0 proto bird',
  '172.20.3.0/26 via 10.30.0.3 dev eth0 proto bird',
  'blackhole 172.21.1.0/26 proto bird',
  '172.21.2.0/26 via 10.30.0.2 dev tunl0 proto bird onlink',
  '172.21.3.0/26 via 10.30.0.3 dev tunl0 proto bird onlink',
];
const DIRECT = ['172.20.2.0/26', '172.20.3.0/26'];
const KEPT = ['172.20.1.0/26', '172.21.1.0/26', '172.21.2.0/26', '172.21.3.0/26'];

function wrenNode(host: Host, self: string, blocks: readonly string[], peers: readonly { address: string; passive: boolean }[], listen: string): WrenSpeaker {
  return new WrenSpeaker(
    host,
    { routerId: self, localAs: AS, neighbors: [], originate: [...blocks] },
    {
      nodeAddress: `${self}/${CIDR}`,
      logLevel: 'info',
      extra: {
        listen: { address: listen, port: 179 },
        timers: { 'connect-retry': 1, 'connect-delay': 0, 'error-wait': { min: 1, max: 2 } },
        'graceful-restart': { enabled: true, 'restart-time': 10, wait: 10 },
        kernel: { program: true, persist: true, 'tunnel-device': 'tunl0', device: 'eth0' },
        pools: [
          { cidr: XPOOL, 'ipip-mode': 'CrossSubnet', 'vxlan-mode': 'Never' },
          { cidr: IPOOL, 'ipip-mode': 'Always', 'vxlan-mode': 'Never' },
        ],
        peers: peers.map((p) => ({ address: p.address, asn: AS, passive: p.passive, hold: HOLD, keepalive: 3 })),
      },
    },
  );
}

function birdLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => / proto bird( |$)/.test(l));
}

if (await requireLab(t, ['bird2'])) {
  t.test('node address removed and re-added', async (t) => {
    const lab = await labFor(t);
    const seg = await lab.addSegment('seg');
    const h1 = await lab.addHost('w1');
    const h2 = await lab.addHost('w2');
    const hb = await lab.addHost('b');
    await seg.attach(h1, { addrs: [`${W1}/${CIDR}`] });
    await seg.attach(h2, { addrs: [`${W2}/${CIDR}`] });
    await seg.attach(hb, { addrs: [`${B}/${CIDR}`] });
    // Calico gives tunl0 an address from the IPIP pool; with it the onlink routes do not depend on eth0's.
    await h1.addTunl0(['172.21.1.1/32']);
    await h2.addTunl0(['172.21.2.1/32']);

    const w1 = wrenNode(h1, W1, BLOCKS.w1, [{ address: W2, passive: false }, { address: B, passive: true }], W1);
    const w2 = wrenNode(h2, W2, BLOCKS.w2, [{ address: W1, passive: true }, { address: B, passive: false }], '::');
    const bird = new Bird2Speaker(hb, {
      routerId: B,
      localAs: AS,
      kernel: true,
      originate: [...BLOCKS.b],
      neighbors: [W1, W2].map((a) => ({ address: a, remoteAs: AS, holdTime: HOLD, keepalive: 3, gracefulRestart: true, restartTime: 10 })),
    });
    await Promise.all([w1.start(), w2.start(), bird.start()]);

    const hosts = [h1, h2, hb];
    const snapshot = async (): Promise<string[]> => Promise.all(hosts.map(async (h) => birdLines(await h.routes(4)).join('\n')));
    await until(async () => (await allEstablished(w1.socket)) !== undefined && (await allEstablished(w2.socket)) !== undefined ? true : undefined, 60_000, 'every session Established');
    await until(async () => (birdLines(await h1.routes(4)).join('\n') === W1_ROUTES.join('\n') ? true : undefined), 60_000, "w1's kernel routes");
    // w2: its 2 blackholes and the 4 routes of the others; b: the 4 routes BIRD exports to its kernel.
    await until(async () => ((await snapshot()).map((s) => s.split('\n').length).join() === '6,6,4' ? true : undefined), 60_000, 'every node converged');
    const before = await snapshot();
    /** After the address is back (at `back`): every session of w1 up, then every node's kernel as before. */
    const recovered = async (t: Test, back: number): Promise<void> => {
      await until(async () => ((await allEstablished(w1.socket)) !== undefined ? true : undefined), 60_000, 'w1: every session Established again', 100);
      const upMs = Date.now() - back;
      const converged = await until(
        async () => {
          const s = await snapshot();
          return s.every((x, i) => x === before[i]) ? Date.now() : undefined;
        },
        60_000,
        '`ip route` back to what it was on every node',
        100,
      );
      t.pass(`sessions up ${upMs} ms and every kernel converged ${converged - back} ms after the address came back`);
    };
    t.same(birdLines(await h1.routes(4)), W1_ROUTES, "w1's kernel before: blackholes, direct routes on eth0, onlink routes on tunl0");
    const pid = w1.process?.pid;

    const monitor = h1.spawn('ip', ['-4', 'monitor', 'route'], { name: 'monitor' });
    await sleep(500);
    const monitorLines = (): string[] => readFileSync(monitor.stdoutPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const logMark = (): number => w1.logs().length;
    // Whatever a failed step left behind, the next one starts with the address in place.
    const restoreAddress = async (): Promise<void> => {
      await h1.ip(['addr', 'replace', `${W1}/${CIDR}`, 'dev', 'eth0']);
    };

    // --- 1. a short outage: 2 s, well inside the 9 s hold time --------------------------------
    await t.test('short outage (2 s, inside the hold time)', async (t) => {
      t.teardown(restoreAddress);
      const since = await allEstablished(w1.socket);
      const mark = logMark();
      const monMark = monitorLines().length;
      await h1.ip(['addr', 'del', `${W1}/${CIDR}`, 'dev', 'eth0']);
      const gone = Date.now();
      const after = birdLines(await h1.routes(4));
      t.same(
        after,
        W1_ROUTES.filter((l) => !DIRECT.some((p) => l.startsWith(`${p} `))),
        'the kernel flushed the direct routes via eth0 at once and kept the blackholes and onlink routes',
      );
      // wren learns of it from the address notification, not from the 30 s periodic scan.
      const failing = await until(
        async () => {
          const es = (await ctlKernel(w1.socket)).filter((e) => DIRECT.includes(e.prefix) && e.state === 'failed');
          return es.length === DIRECT.length ? es : undefined;
        },
        5000,
        'show kernel: the direct routes failing',
        100,
      );
      t.ok(Date.now() - gone < 5000, `show kernel reported the flushed routes as failed within ${Date.now() - gone} ms`);
      for (const e of failing) t.match(e.error ?? '', /invalid gateway|unreachable/i, `${e.prefix}: the kernel's reason (${e.error ?? ''})`);
      await sleep(Math.max(0, 2000 - (Date.now() - gone)));

      await h1.ip(['addr', 'add', `${W1}/${CIDR}`, 'dev', 'eth0']);
      const back = Date.now();
      await until(async () => (birdLines(await h1.routes(4)).join('\n') === W1_ROUTES.join('\n') ? true : undefined), 10_000, 'direct routes back', 50);
      const restoredMs = Date.now() - back;
      t.ok(restoredMs < 3000, `wren re-installed the flushed routes ${restoredMs} ms after the address came back`);
      const logs = w1.logs().slice(mark);
      t.match(logs, /kernel address removed/, 'logged: the address removal');
      t.match(logs, /kernel write failed[^\n]*(invalid gateway|unreachable)|(invalid gateway|unreachable)[^\n]*kernel write failed/i, "logged: the failed writes with the kernel's text");
      t.match(logs, /kernel address added/, 'logged: the address coming back');
      t.match(logs, /kernel write recovered/, 'logged: the writes recovered');

      // Give the TCP connections time to retransmit what the outage held back, then look again.
      await sleep(4000);
      t.same(await allEstablished(w1.socket), since, 'no session moved (same since for every neighbor)');
      t.same(await snapshot(), before, '`ip route` (proto bird) is the same as before on every node');
      const events = monitorLines().slice(monMark);
      const touched = events.filter((l) => KEPT.some((p) => l.includes(p)));
      t.same(touched, [], 'ip monitor route: no event for the blackholes and onlink routes');
      const readded = events.filter((l) => DIRECT.some((p) => l.startsWith(`${p} `)));
      t.equal(readded.length, DIRECT.length, `ip monitor route: the direct routes re-added once each, the flush itself was silent (${JSON.stringify(events)})`);
      t.equal(w1.process?.pid, pid, 'the same wren process');
    });

    // --- 2. a long outage: 15 s, past the hold time ------------------------------------------
    await t.test('long outage (15 s, past the hold time)', async (t) => {
      t.teardown(restoreAddress);
      const mark = logMark();
      const monMark = monitorLines().length;
      await h1.ip(['addr', 'del', `${W1}/${CIDR}`, 'dev', 'eth0']);
      const gone = Date.now();
      // The hold timers run out on both sides: sessions drop, the peers' routes with them.
      const downAt = await until(
        async () => {
          const ns = await ctlNeighbors(w1.socket);
          return ns.every((n) => n.state !== 'Established') ? Date.now() : undefined;
        },
        HOLD * 1000 + 5000,
        'w1: every session down',
        200,
      );
      t.ok(downAt - gone <= HOLD * 1000 + 2000, `sessions dropped on the hold timer, ${downAt - gone} ms after the address went`);
      await until(
        async () => {
          const ls = birdLines(await h1.routes(4));
          return ls.length === 2 ? ls : undefined;
        },
        5000,
        'w1: only the blackholes left',
      );
      t.same(
        birdLines(await h1.routes(4)),
        W1_ROUTES.filter((l) => l.startsWith('blackhole')),
        'the blackholes of the node blocks stay; the peers\' routes are withdrawn with their sessions',
      );
      // Reconnecting from an address the node no longer has.
      await until(async () => (/Cannot assign requested address/.test(w1.logs().slice(mark)) ? true : undefined), 10_000, 'a connect error logged');
      t.ok(w1.process?.running === true && w1.process.pid === pid, 'wren still running (same process)');
      const st = await w1.ctl<{ routerId?: string }>(['show', 'status']);
      t.ok(st !== undefined, 'the control socket answers');
      await sleep(Math.max(0, 15_000 - (Date.now() - gone)));

      await h1.ip(['addr', 'add', `${W1}/${CIDR}`, 'dev', 'eth0']);
      const back = Date.now();
      await recovered(t, back);
      t.same(await snapshot(), before, '`ip route` (proto bird) is exactly what it was before, on every node');
      const ns = await ctlNeighbors(w1.socket);
      t.same(
        ns.map((n) => [n.address, n.state]).sort(),
        [
          [W2, 'Established'],
          [B, 'Established'],
        ],
        'w1: both sessions Established (BIRD came in through the listener, w1 went out to w2)',
      );
      t.equal((await bird.peerState(W1)).state, 'Established', 'BIRD: session with w1 Established');
      t.equal((await w2.peerState(W1)).state, 'Established', 'w2: session with w1 Established');
      const logs = w1.logs().slice(mark);
      t.match(logs, /Hold timer expired|Hold Timer Expired/i, 'logged: the hold timer expiring');
      t.match(logs, /Cannot assign requested address/, 'logged: connects failing for the missing source address');
      const events = monitorLines().slice(monMark);
      t.same(
        events.filter((l) => l.includes('blackhole')),
        [],
        'ip monitor route: no event for the blackholes during the whole outage',
      );
      t.equal(w1.process?.pid, pid, 'the same wren process throughout');
    });

    // --- 3. bgpd restarted while the address is gone ----------------------------------------
    await t.test('SIGKILL, then bgpd started while the address is gone', async (t) => {
      t.teardown(restoreAddress);
      const peerMon = [h2, hb].map((h) => h.spawn('ip', ['-4', 'monitor', 'route'], { name: `monitor-restart-${h.name}` }));
      await sleep(500);
      // Killed first, so the peers see the TCP close and keep w1's routes as GR helpers.
      await w1.kill();
      await h1.ip(['addr', 'del', `${W1}/${CIDR}`, 'dev', 'eth0']);
      const gone = Date.now();
      await w1.start();
      t.ok(w1.process?.running === true, 'bgpd starts and keeps running without its listen address');
      t.match(w1.logs(), /listen address not on this node: retrying the bind/, 'logged: the bind is retried');
      t.match(w1.logs(), /"restarting":true/, 'it found its routes in the kernel (restarting speaker)');
      t.same(
        birdLines(await h1.routes(4)),
        W1_ROUTES.filter((l) => !DIRECT.some((p) => l.startsWith(`${p} `))),
        'blackholes and onlink routes are still in the kernel (the direct ones were flushed with the address)',
      );
      await until(async () => (/Cannot assign requested address/.test(w1.logs()) ? true : undefined), 10_000, 'a connect error logged');
      await sleep(Math.max(0, 5000 - (Date.now() - gone)));

      await h1.ip(['addr', 'add', `${W1}/${CIDR}`, 'dev', 'eth0']);
      const back = Date.now();
      await until(async () => (/listening: the listen address is back/.test(w1.logs()) ? true : undefined), 5000, 'the listener bound', 50);
      t.ok(Date.now() - back <= 2500, `the listener bound ${Date.now() - back} ms after the address came back`);
      await recovered(t, back);
      t.equal((await bird.peerState(W1)).state, 'Established', 'BIRD connected in through the listener bound late');
      await sleep(2000);
      t.same(await snapshot(), before, '`ip route` (proto bird) is exactly what it was before, on every node');
      for (const m of peerMon) {
        const ev = readFileSync(m.stdoutPath, 'utf8').split('\n').filter((l) => BLOCKS.w1.some((p) => l.includes(p)));
        t.comment(`${m.stdoutPath.split('/').slice(-2).join('/')}: events for w1's blocks during the restart: ${JSON.stringify(ev)}`);
      }
    });
  });
}
