// The driver between two wren SessionManagers over real TCP on loopback, with a manual clock:
// handshake to Established, keepalives, IPv6, collisions, and connection refusal.
import t from 'tap';
import { ManualClock, side, sessionConfig, waitFor } from './helpers.js';
import type { State } from '../../fsm/types.js';
import type { Peer } from '../../src/session/peer.js';

const A_ID = 0x01010101;
const B_ID = 0x02020202;

async function pair(t: { teardown(fn: () => unknown): void }, o: { aAddr: string; bAddr: string; aPassive?: boolean; bPassive?: boolean; aId?: number; bId?: number }) {
  const clock = new ManualClock();
  const a = await side(o.aAddr, clock);
  const b = await side(o.bAddr, clock);
  const pa = a.mgr.addPeer({
    address: o.bAddr,
    port: b.port,
    localAddress: o.aAddr,
    config: sessionConfig(65001, 65002, o.aId ?? A_ID, { passive: o.aPassive ?? false }),
  });
  const pb = b.mgr.addPeer({
    address: o.aAddr,
    port: a.port,
    localAddress: o.bAddr,
    config: sessionConfig(65002, 65001, o.bId ?? B_ID, { passive: o.bPassive ?? true }),
  });
  t.teardown(async () => {
    await a.mgr.destroy();
    await b.mgr.destroy();
  });
  return { clock, a, b, pa, pb };
}


function states(p: Peer): State[] {
  const seen: State[] = [];
  p.on('stateChange', (e) => seen.push(e.to));
  return seen;
}

t.test('two wren peers reach Established over 127.0.0.1 and exchange keepalives', async (t) => {
  const { clock, a, pa, pb } = await pair(t, { aAddr: '127.0.0.1', bAddr: '127.0.0.2' });
  const seenA = states(pa);
  const established: number[] = [];
  a.mgr.on('established', (e) => established.push(e.negotiated.holdTimeSec));
  pb.start();
  pa.start();
  await waitFor(() => pa.state === 'Established' && pb.state === 'Established', 'Established');
  t.same(seenA, ['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
  t.same(established, [90]);
  t.equal(pa.negotiated?.peerAsn, 65002);
  t.equal(pb.negotiated?.peerBgpId, A_ID);
  t.equal(pa.status().birdState, 'Established');

  const kaIn = pb.counters.messagesIn.keepalive;
  // Protocol time: 5 minutes in 30 s steps; each side keeps the other alive.
  for (let i = 0; i < 10; i++) {
    const before = pb.counters.messagesIn.keepalive;
    clock.advance(30_000);
    await waitFor(() => pb.counters.messagesIn.keepalive > before, 'a keepalive');
  }
  t.equal(pa.state, 'Established', 'hold timer never expired');
  t.equal(pb.state, 'Established');
  t.ok(pb.counters.messagesIn.keepalive - kaIn >= 10, 'a keepalive every hold/3');
  t.equal(pa.counters.messagesOut.open, 1);
  t.ok(pa.counters.bytesOut.keepalive >= 19 * 10);

  // Manual stop: the other side hears Cease / Administrative Shutdown.
  pa.stop(2, 'maintenance');
  await waitFor(() => pb.state !== 'Established', 'B notices');
  t.equal(pb.status().lastError, 'Received: Administrative shutdown');
  t.equal(pb.status().message, 'maintenance');
  t.equal(pa.state, 'Idle');
});

t.test('IPv6: Established over ::1', async (t) => {
  const { pa, pb } = await pair(t, { aAddr: '::1', bAddr: '::1' });
  pb.start();
  pa.start();
  await waitFor(() => pa.state === 'Established' && pb.state === 'Established', 'Established over ::1');
  t.pass('established');
});

t.test('connection refused shows as BIRD does and retries after the connect delay', async (t) => {
  const clock = new ManualClock();
  const a = await side('127.0.0.1', clock);
  t.teardown(() => a.mgr.destroy());
  // Nothing listens on port 1.
  const p = a.mgr.addPeer({ address: '127.0.0.1', port: 1, config: sessionConfig(65001, 65002, A_ID, { connectDelaySec: 2 }) });
  p.start();
  t.equal(p.state, 'Active', 'connect delay first');
  clock.advance(2000);
  t.equal(p.state, 'Connect');
  await waitFor(() => p.state === 'Active', 'Active after the refusal');
  t.equal(p.status().lastError, 'Socket: Connection refused');
  clock.advance(2000);
  t.equal(p.state, 'Connect', 'retried');
});

for (const [aId, bId, winner] of [
  [A_ID, B_ID, 'B'],
  [B_ID, A_ID, 'A'],
] as const) {
  t.test(`collision: both connect at once, ${winner} has the higher id and its connection survives`, async (t) => {
    const { pa, pb, a, b } = await pair(t, { aAddr: '127.0.0.1', bAddr: '127.0.0.2', bPassive: false, aId, bId });
    pa.start();
    pb.start();
    await waitFor(() => pa.state === 'Established' && pb.state === 'Established', 'Established');
    // Let the losing connection finish closing.
    await waitFor(() => pa.connections === 1 && pb.connections === 1, 'one connection each');
    const logs = [...a.log.lines, ...b.log.lines].map((l) => l.msg);
    const collisions = logs.filter((m) => m.startsWith('connection collision')).length;
    if (pa.counters.messagesOut.open === 2) t.equal(collisions, 2, 'each side resolved the collision once');
    // RFC 4271 §6.8: the connection initiated by the higher identifier survives.
    t.equal(pa.direction, winner === 'A' ? 'outgoing' : 'incoming', 'A sees the right survivor');
    t.equal(pb.direction, winner === 'B' ? 'outgoing' : 'incoming', 'B sees the right survivor');
    t.equal(pa.counters.establishedTransitions, 1, 'A established exactly once');
    t.equal(pb.counters.establishedTransitions, 1, 'B established exactly once');
    // The survivor was initiated by the higher id: from its side the session is outgoing.
    t.equal(pa.status().state, 'Established');
    t.equal(pb.status().state, 'Established');
  });
}
