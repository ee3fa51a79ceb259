// What a listener does with connections it should not take, and with peers that misbehave:
// unconfigured addresses are closed before any BGP byte; garbage gets the RFC's NOTIFICATION.
import t from 'tap';
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { Family } from '../../proto/types.js';
import { localCapabilities } from '../../fsm/open-check.js';
import { RawPeer, ManualClock, side, sessionConfig, waitFor } from './helpers.js';

const A_ID = 0x01010101;

async function setup(t: { teardown(fn: () => unknown): void }) {
  const clock = new ManualClock();
  const a = await side('127.0.0.1', clock);
  t.teardown(() => a.mgr.destroy());
  // A passive peer at 127.0.0.2: A waits for it to connect.
  const peer = a.mgr.addPeer({ address: '127.0.0.2', port: 179, config: sessionConfig(65001, 65002, A_ID, { passive: true }) });
  peer.start();
  return { clock, a, peer };
}

const open = (asn = 65002, over: { holdTimeSec?: number } = {}) =>
  ({
    type: 'open',
    version: 4,
    myAs: asn,
    holdTimeSec: over.holdTimeSec ?? 90,
    bgpId: 0x02020202,
    params: [{ type: 'capabilities', capabilities: localCapabilities({ asn, families: [Family.Ipv4Unicast] }) }],
  }) as const;

t.test('a connection from an unconfigured address is closed at once, without BGP bytes', async (t) => {
  const { a, peer } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.3');
  await waitFor(() => raw.closed, 'close');
  t.equal(raw.bytes, 0, 'not a single byte');
  t.equal(a.mgr.refused, 1);
  t.equal(peer.state, 'Active', 'the configured session is untouched');
  t.ok(a.log.lines.some((l) => l.level === 'warn' && l.msg.includes('unconfigured') && l.fields['remote'] === '127.0.0.3'), 'logged');
});

t.test('a disabled peer refuses its connection too', async (t) => {
  const { a, peer } = await setup(t);
  peer.stop();
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.closed, 'close');
  t.equal(raw.bytes, 0);
  t.equal(peer.state, 'Idle');
});

t.test('garbage instead of a BGP header: NOTIFICATION Connection Not Synchronized (1/1)', async (t) => {
  const { a, peer } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'our OPEN');
  t.equal(raw.received[0]?.type, 'open', 'wren sends its OPEN first');
  raw.raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await waitFor(() => raw.closed, 'close');
  const n = raw.notifications();
  t.equal(n.length, 1);
  t.same([n[0]?.code, n[0]?.subcode, [...(n[0]?.data ?? [])]], [1, 1, []]);
  t.equal(peer.status().lastError, 'BGP Error: Connection not synchronized');
  t.equal(peer.state, 'Idle');
});

t.test('a bad length: NOTIFICATION Bad Message Length with the length as data (1/2)', async (t) => {
  const { a } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'our OPEN');
  raw.raw([...Array(16).fill(0xff), 0x13, 0x88, 1]); // length 5000 > 4096
  await waitFor(() => raw.closed, 'close');
  const n = raw.notifications();
  t.same([n[0]?.code, n[0]?.subcode, [...(n[0]?.data ?? [])]], [1, 2, [0x13, 0x88]]);
});

t.test('an OPEN with the wrong AS: NOTIFICATION Bad Peer AS (2/2)', async (t) => {
  const { a, peer } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'our OPEN');
  raw.send(open(65099));
  await waitFor(() => raw.closed, 'close');
  const n = raw.notifications();
  t.same([n[0]?.code, n[0]?.subcode], [2, 2]);
  t.equal(peer.status().lastError, 'BGP Error: Bad peer AS');
  t.equal(peer.status().birdState, 'Idle');
});

t.test('a peer that goes silent: hold timer expiry sends 4/0 over the wire', async (t) => {
  const { a, peer, clock } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'our OPEN');
  raw.send(open());
  raw.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established');
  clock.advance(89_000);
  t.equal(peer.state, 'Established');
  clock.advance(1_000);
  await waitFor(() => raw.closed, 'close');
  const n = raw.notifications();
  t.same([n[0]?.code, n[0]?.subcode], [4, 0]);
  t.equal(peer.status().lastError, 'BGP Error: Hold timer expired');
  t.equal(raw.received.filter((m) => m.type === 'keepalive').length, 1 + 2, 'KEEPALIVE after OPEN, then at 30 s and 60 s');
});

t.test('UPDATEs reach the daemon in order, in bounded batches', async (t) => {
  const { a, peer } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'our OPEN');
  raw.send(open());
  raw.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established');
  const got: number[] = [];
  // An independent setImmediate ticker counts event-loop turns between UPDATE deliveries.
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const perTurn = new Map<number, number>();
  a.mgr.on('update', (e) => {
    got.push(e.outcome.message.nlri[0] ?? -1);
    perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
  });
  // 1000 UPDATEs in one burst: each announces 10.x.y.0/24 (prefix = address * 64 + length).
  const bufs: Buffer[] = [];
  const { encodeMessage } = await import('../../proto/messages.js');
  const { DEFAULT_CONTEXT } = await import('../../proto/types.js');
  for (let i = 0; i < 1000; i++) {
    const addr = (10 << 24) | (i << 8);
    bufs.push(
      encodeMessage(
        { type: 'update', withdrawn: [], attrs: { origin: 0, asPath: [{ type: 2, asns: [65002] }], nextHop: 0x7f000002 }, nlri: [(addr >>> 0) * 64 + 24] },
        DEFAULT_CONTEXT,
      ),
    );
  }
  raw.raw(Buffer.concat(bufs));
  await waitFor(() => got.length === 1000, '1000 updates');
  ticking = false;
  t.ok(Math.max(...perTurn.values()) <= 32, `at most 32 messages per turn, across every data event of the turn (max ${Math.max(...perTurn.values())})`);
  t.ok(perTurn.size >= 16, `spread over ${perTurn.size} turns`);
  t.same(got.slice(0, 3), [((10 << 24) >>> 0) * 64 + 24, (((10 << 24) | 256) >>> 0) * 64 + 24, (((10 << 24) | 512) >>> 0) * 64 + 24]);
  t.equal(peer.counters.messagesIn.update, 1000);
  t.equal(peer.state, 'Established');
});

t.test('a second connection while Established: Cease 6/7 without GR, replaces the session with GR', async (t) => {
  const clock = new ManualClock();
  const a = await side('127.0.0.1', clock);
  t.teardown(() => a.mgr.destroy());
  const caps = localCapabilities({ asn: 65001, gracefulRestart: { restartTimeSec: 120 } });
  const peer = a.mgr.addPeer({ address: '127.0.0.2', port: 179, config: sessionConfig(65001, 65002, A_ID, { passive: true, capabilities: caps }) });
  peer.start();
  const downs: string[] = [];
  a.mgr.on('down', (e) => downs.push(e.text));
  const grOpen = {
    ...open(),
    params: [{ type: 'capabilities', capabilities: localCapabilities({ asn: 65002, gracefulRestart: { restartTimeSec: 90, restarting: true } }) }],
  } as const;

  const first = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => first.received.length >= 1, 'OPEN');
  first.send(open());
  first.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established');

  // Without GR in the new OPEN: the newcomer is the one dumped (RFC 4271 §6.8).
  const second = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => second.received.length >= 1, 'OPEN on the second connection');
  second.send(open());
  await waitFor(() => second.closed, 'second closed');
  t.same(second.notifications().map((n) => [n.code, n.subcode]), [[6, 7]]);
  t.equal(peer.state, 'Established');
  t.notOk(first.closed);

  // First session negotiated without GR on the peer side: now re-establish one with GR.
  peer.reset();
  await waitFor(() => first.closed, 'first closed by the reset');
  const gr1 = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => gr1.received.length >= 1, 'OPEN');
  gr1.send(grOpen);
  gr1.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established with GR');
  downs.length = 0;

  // The peer "restarts": a new connection with GR while the old one still looks alive.
  const gr2 = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => gr2.received.length >= 1, 'OPEN');
  gr2.send(grOpen);
  await waitFor(() => gr1.closed, 'old connection closed');
  t.same(gr1.notifications(), [], 'no NOTIFICATION on the old connection');
  t.same(downs, ['Error: Graceful restart']);
  gr2.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established again');
  t.equal(peer.counters.flaps, 2);
  gr2.destroy();
});

t.test('error wait: connections are refused while the IdleHoldTimer runs, accepted after it', async (t) => {
  const { a, peer, clock } = await setup(t);
  const r1 = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => r1.received.length >= 1, 'OPEN');
  r1.send(open(65099));
  await waitFor(() => r1.closed, 'closed after Bad Peer AS');
  t.equal(peer.state, 'Idle');
  t.same(peer.status().timers.idleHold, { remainingSec: 5, totalSec: 5 });
  const r2 = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => r2.closed, 'refused during the error wait');
  t.equal(r2.bytes, 0);
  clock.advance(5000);
  t.equal(peer.status().birdState, 'Passive');
  t.equal(peer.status().lastError, 'BGP Error: Bad peer AS', 'the error stays shown');
  const r3 = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => r3.received.length >= 1, 'OPEN after the wait');
  r3.send(open(65099));
  await waitFor(() => r3.closed, 'closed again');
  t.same(peer.status().timers.idleHold, { remainingSec: 10, totalSec: 10 }, 'doubled');
});

t.test('removing a peer sends Cease / Peer De-configured (6/3)', async (t) => {
  const { a, peer } = await setup(t);
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'OPEN');
  raw.send(open());
  raw.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established');
  t.ok(a.mgr.removePeer('127.0.0.2'));
  await waitFor(() => raw.closed, 'closed');
  t.same(raw.notifications().map((n) => [n.code, n.subcode]), [[6, 3]]);
  t.equal(a.mgr.peer('127.0.0.2'), undefined);
});

t.test('a dual-stack listener on :: maps IPv4 clients to their IPv4 peer', async (t) => {
  const clock = new ManualClock();
  const a = await side('::', clock);
  t.teardown(() => a.mgr.destroy());
  const peer = a.mgr.addPeer({ address: '127.0.0.2', port: 179, config: sessionConfig(65001, 65002, A_ID, { passive: true }) });
  peer.start();
  const raw = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => raw.received.length >= 1, 'OPEN over a v4-mapped connection');
  t.equal(peer.state, 'OpenSent');
  raw.destroy();
});

t.test('a second connection that fails before its OPEN is dropped, never reconnected from (no zombie FSM)', async (t) => {
  const clock = new ManualClock();
  const a = await side('127.0.0.1', clock);
  t.teardown(() => a.mgr.destroy());
  // Where an outgoing attempt towards the peer would land: it must never see one.
  let outgoing = 0;
  const trap = net.createServer((s) => {
    outgoing++;
    s.destroy();
  });
  await new Promise<void>((res) => trap.listen(0, '127.0.0.2', () => res()));
  t.teardown(() => trap.close());
  const trapPort = (trap.address() as net.AddressInfo).port;
  // Active: its first attempt hits the trap and fails; the peer's own connection then arrives.
  const peer = a.mgr.addPeer({ address: '127.0.0.2', port: trapPort, config: sessionConfig(65001, 65002, A_ID, { connectRetrySec: 5 }) });
  peer.start();
  await waitFor(() => outgoing === 1 && peer.state === 'Active', 'first attempt failed');
  const first = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => first.received.length >= 1, 'OPEN');
  first.send(open());
  first.send({ type: 'keepalive' });
  await waitFor(() => peer.state === 'Established', 'Established');
  outgoing = 0;
  // A colliding connection that goes away before its OPEN (what BIRD does with its own attempt).
  const second = await RawPeer.connect('127.0.0.1', a.port, '127.0.0.2');
  await waitFor(() => second.received.length >= 1, 'OPEN on the second connection');
  second.destroy();
  await waitFor(() => peer.connections === 1, 'second connection forgotten');
  clock.advance(6_000);
  first.send({ type: 'keepalive' });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(outgoing, 0, 'no outgoing connection was opened by the dead second connection');
  t.equal(peer.state, 'Established');
  t.equal(peer.counters.establishedTransitions, 1, 'the session never flapped');
  t.notOk(first.closed);
  first.destroy();
});
