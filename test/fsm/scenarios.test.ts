// Timer-driven FSM scenarios on a manual clock (no real time passes).
import t from 'tap';
import { createSession } from '../../fsm/fsm.js';
import { birdInfo, formatDownReason, peerStatus, newCounters } from '../../fsm/status.js';
import type { Event } from '../../fsm/types.js';
import { Sim } from './sim.js';
import { T0, config, peerOpen, sessionIn } from './fixtures.js';

const s = (n: number) => n * 1000;

function establish(sim: Sim): void {
  sim.fire({ type: 'ManualStart' });
  sim.fire({ type: 'Tcp_CR_Acked' });
  sim.fire({ type: 'BGPOpen', open: peerOpen() });
  sim.fire({ type: 'KeepAliveMsg' });
}

t.test('hold timer expiry sends NOTIFICATION 4/0 and goes Idle', async (t) => {
  const sim = new Sim(createSession(config(), T0), T0);
  establish(sim);
  t.equal(sim.s.state, 'Established');
  sim.sent.length = 0;
  sim.advance(s(89));
  t.equal(sim.s.state, 'Established', 'not yet at 89 s');
  sim.advance(s(1));
  t.equal(sim.s.state, 'Idle');
  const notes = sim.sent.filter((x) => x.message.type === 'notification');
  t.equal(notes.length, 1);
  t.same(notes[0]?.message, { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) });
  t.equal(notes[0]?.at, T0 + s(90));
  t.equal(formatDownReason(sim.s.lastError), 'BGP Error: Hold timer expired');
  t.ok(sim.log.some((a) => a.type === 'down'), 'down reported to the RIB');
  t.equal(sim.s.since, T0 + s(90));
});

t.test('hold timer in OpenSent is the large value (240 s)', async (t) => {
  const sim = new Sim(createSession(config(), T0), T0);
  sim.fire({ type: 'ManualStart' });
  sim.fire({ type: 'Tcp_CR_Acked' });
  sim.advance(s(239));
  t.equal(sim.s.state, 'OpenSent');
  sim.advance(s(1));
  t.equal(sim.s.state, 'Idle');
});

t.test('keepalive every hold/3, hold timer refreshed by the peer', async (t) => {
  const sim = new Sim(createSession(config(), T0), T0);
  establish(sim);
  const start = sim.now;
  sim.sent.length = 0;
  // The peer keeps us alive every 20 s for 10 minutes.
  for (let i = 1; i <= 30; i++) {
    sim.advanceTo(start + s(20 * i));
    sim.fire({ type: 'KeepAliveMsg' });
  }
  t.equal(sim.s.state, 'Established');
  const kas = sim.sent.filter((x) => x.message.type === 'keepalive').map((x) => (x.at - start) / 1000);
  t.same(kas, Array.from({ length: 20 }, (_, i) => 30 * (i + 1)), 'one KEEPALIVE every 30 s');
});

t.test('configured keepalive shorter than hold/3 wins; hold 0 means no keepalives', async (t) => {
  let sim = new Sim(createSession(config({ keepaliveSec: 10 }), T0), T0);
  establish(sim);
  t.equal(sim.s.negotiated?.keepaliveSec, 10);
  sim = new Sim(createSession(config({ holdTimeSec: 0 }), T0), T0);
  establish(sim);
  t.equal(sim.s.negotiated?.holdTimeSec, 0);
  t.notOk(sim.timerRunning('keepalive'));
  t.notOk(sim.timerRunning('hold'));
  sim.sent.length = 0;
  sim.advance(s(3600));
  t.equal(sim.s.state, 'Established');
  t.equal(sim.sent.length, 0);
});

t.test('error-wait back-off: 5, 10, 20, 30, 30, then reset after the forget time', async (t) => {
  const cfg = config({ autoRestart: true, errorWaitMinSec: 5, errorWaitMaxSec: 30, errorForgetSec: 300 });
  const sim = new Sim(createSession(cfg, T0), T0);
  const waits: number[] = [];
  const fail = () => {
    // The peer keeps sending the wrong AS: we answer Bad Peer AS (2/2), a counted error.
    sim.fire({ type: 'Tcp_CR_Acked' });
    t.equal(sim.s.state, 'OpenSent');
    const actions = sim.fire({ type: 'BGPOpen', open: peerOpen({}, 65099) });
    const idle = actions.find((a) => a.type === 'setTimer' && a.timer === 'idleHold');
    waits.push(idle?.type === 'setTimer' ? idle.seconds : -1);
    t.equal(formatDownReason(sim.s.lastError), 'BGP Error: Bad peer AS');
  };
  sim.fire({ type: 'ManualStart' });
  for (let i = 0; i < 5; i++) {
    fail();
    const wait = waits[waits.length - 1]!;
    sim.advance(s(wait) - 1);
    t.equal(sim.s.state, 'Idle', `still waiting just before ${wait} s`);
    sim.advance(1);
    t.equal(sim.s.state, 'Connect', `restarted after ${wait} s`);
  }
  t.same(waits, [5, 10, 20, 30, 30]);
  // A stable period at least `error forget time` long: the next error starts again at MIN.
  sim.fire({ type: 'Tcp_CR_Acked' });
  sim.fire({ type: 'BGPOpen', open: peerOpen() });
  sim.fire({ type: 'KeepAliveMsg' });
  t.equal(sim.s.state, 'Established');
  for (let i = 1; i <= 12; i++) {
    sim.advance(s(29));
    sim.fire({ type: 'KeepAliveMsg' });
  }
  sim.fire({ type: 'UpdateMsgErr', error: (await import('../../proto/errors.js')).Errors.malformedAttributeList('x') });
  t.equal(sim.s.backoff.delaySec, 5, 'reset to 5 s after 348 s without errors');
});

t.test('Cease and socket failures restart at once (BIRD counts only non-Cease NOTIFICATIONs)', async (t) => {
  const cfg = config({ autoRestart: true, connectDelaySec: 2 });
  const sim = new Sim(createSession(cfg, T0), T0);
  sim.fire({ type: 'ManualStart' });
  t.equal(sim.s.state, 'Active', 'connect delay: wait in Active');
  sim.advance(s(2));
  t.equal(sim.s.state, 'Connect');
  sim.fire({ type: 'TcpConnectionFails', error: 'Connection refused' });
  t.equal(sim.s.state, 'Active');
  t.equal(birdInfo(sim.s), 'Active        Socket: Connection refused');
  sim.advance(s(2));
  t.equal(sim.s.state, 'Connect', 'retried after the connect delay');
  establishFromConnect(sim);
  const notif: Event = { type: 'NotifMsg', notification: { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) } };
  const actions = sim.fire(notif);
  t.same(actions.at(-1), { type: 'setTimer', timer: 'idleHold', seconds: 0 });
  t.equal(birdInfo(sim.s), 'Idle          Received: Administrative shutdown');
  sim.advance(0);
  t.equal(sim.s.state, 'Active');
});

function establishFromConnect(sim: Sim): void {
  sim.fire({ type: 'Tcp_CR_Acked' });
  sim.fire({ type: 'BGPOpen', open: peerOpen() });
  sim.fire({ type: 'KeepAliveMsg' });
}

t.test('ManualStop cancels a pending automatic restart', async (t) => {
  const sim = new Sim(createSession(config({ autoRestart: true }), T0), T0);
  sim.fire({ type: 'ManualStart' });
  sim.fire({ type: 'TcpConnectionFails' });
  sim.fire({ type: 'ConnectRetryTimer_Expires' });
  sim.fire({ type: 'Tcp_CR_Acked' });
  sim.fire({ type: 'HoldTimer_Expires' });
  t.equal(sim.s.state, 'Idle');
  t.ok(sim.timerRunning('idleHold'));
  sim.fire({ type: 'ManualStop' });
  t.notOk(sim.timerRunning('idleHold'));
  sim.advance(s(3600));
  t.equal(sim.s.state, 'Idle');
});

t.test('passive sessions never connect', async (t) => {
  const sim = new Sim(createSession(config({ passive: true, autoRestart: true }), T0), T0);
  sim.fire({ type: 'ManualStart_with_PassiveTcpEstablishment' });
  sim.advance(s(1000));
  t.equal(sim.s.state, 'Active');
  t.notOk(sim.log.some((a) => a.type === 'connect'));
  t.equal(birdInfo(sim.s), 'Passive       ');
  sim.fire({ type: 'TcpConnectionConfirmed' });
  sim.fire({ type: 'BGPOpen', open: peerOpen({}, 65099) });
  t.equal(birdInfo(sim.s), 'Idle          BGP Error: Bad peer AS');
  sim.advance(s(60));
  t.equal(birdInfo(sim.s), 'Passive       BGP Error: Bad peer AS', 'restarts passive, the error stays shown');
  t.notOk(sim.log.some((a) => a.type === 'connect'));
});

t.test('status record', async (t) => {
  const s0 = sessionIn('Established');
  const st = peerStatus(s0, newCounters(), T0 + 5000);
  t.equal(st.state, 'Established');
  t.equal(st.birdState, 'Established');
  t.same(st.timers.hold, { remainingSec: 85, totalSec: 90 });
  t.same(st.timers.keepalive, { remainingSec: 25, totalSec: 30 });
  t.equal(st.lastError, '');
  t.equal(birdInfo(s0), 'Established   ');
  t.equal(birdInfo(createSession(config(), T0), false), '', 'disabled: nothing');
  t.equal(formatDownReason({ type: 'received', code: 2, subcode: 2 }), 'Received: Bad peer AS');
  t.equal(formatDownReason({ type: 'sent', code: 6, subcode: 7 }), 'BGP Error: Connection collision resolution');
  t.equal(formatDownReason({ type: 'socket', message: 'No route to host' }), 'Socket: No route to host');
  t.equal(formatDownReason({ type: 'manual' }), '');
});
