// RFC 4271 §8.2.2, every (state × event) cell, table-driven. Each row asserts the next state,
// the exact action list, and the ConnectRetryCounter (fixtures start at 3). Time is fake (T0).
// autoRestart is off here so Idle entries are exactly the RFC's; automatic restart and damping
// are covered in scenarios.test.ts. Deviations from the RFC text are marked DEVIATION and
// explained in fsm/types.ts.
import t from 'tap';
import { step } from '../../fsm/fsm.js';
import { localOpen } from '../../fsm/open-check.js';
import type { Action, DownReason, Event, EventType, SessionState, State, TimerName } from '../../fsm/types.js';
import type { Message, NotificationMessage } from '../../proto/types.js';
import { HEADER_ERR, OPEN_ERR, OUTCOME, RUNNING, T0, UPDATE_ERR, config, notif, peerOpen, sessionIn } from './fixtures.js';

const CFG = config();
const OPEN = localOpen(CFG);
const KA: Message = { type: 'keepalive' };
const VERSION_NOTIF = notif(2, 1, [0, 4]);
const CEASE_NOTIF = notif(6, 2);

const EVENTS: Record<Exclude<EventType, 'RouteRefreshMsg'>, Event> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStart_with_PassiveTcpEstablishment: { type: 'ManualStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_PassiveTcpEstablishment: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails', error: 'Connection reset by peer' },
  BGPOpen: { type: 'BGPOpen', open: peerOpen() },
  BGPOpen_with_DelayOpenTimer_running: { type: 'BGPOpen_with_DelayOpenTimer_running', open: peerOpen() },
  BGPHeaderErr: { type: 'BGPHeaderErr', error: HEADER_ERR },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', error: OPEN_ERR },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr', notification: VERSION_NOTIF },
  NotifMsg: { type: 'NotifMsg', notification: CEASE_NOTIF },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg', outcome: OUTCOME },
  UpdateMsgErr: { type: 'UpdateMsgErr', error: UPDATE_ERR },
};
type Ev = keyof typeof EVENTS;

const stop = (...names: TimerName[]): Action[] => names.map((timer) => ({ type: 'stopTimer', timer }));
const set = (timer: TimerName, seconds: number): Action => ({ type: 'setTimer', timer, seconds });
const send = (message: Message): Action => ({ type: 'send', message });
const CLOSE: Action = { type: 'close' };
const CONNECT: Action = { type: 'connect' };
const REJECT: Action = { type: 'reject' };

/** Entering Idle from `from` (timers as in the fixture): [NOTIFICATION], stop timers, close, [down]. */
function idle(from: State, o: { notify?: NotificationMessage; down?: DownReason; except?: TimerName } = {}): Action[] {
  return [
    ...(o.notify !== undefined ? [send(o.notify)] : []),
    ...stop(...RUNNING[from].filter((x) => x !== o.except)),
    CLOSE,
    ...(o.down !== undefined ? [{ type: 'down', reason: o.down } as const] : []),
  ];
}
const fsmErr = (sub: number, type?: number) => notif(5, sub, type === undefined ? [] : [type]);
const sent = (n: NotificationMessage): DownReason => ({ type: 'sent', code: n.code, subcode: n.subcode });

type Row = readonly [event: Ev, next: State, actions: readonly Action[], counter: number];
const SAME = (s: State): Row[] =>
  (['ManualStart', 'AutomaticStart', 'ManualStart_with_PassiveTcpEstablishment', 'AutomaticStart_with_PassiveTcpEstablishment'] as const).map(
    (e) => [e, s, [], 3] as const,
  );

const established = sessionIn('Established');
const NEG = established.negotiated;

const TABLE: Record<State, Row[]> = {
  Idle: [
    ['ManualStart', 'Connect', [set('connectRetry', 120), CONNECT], 0],
    ['AutomaticStart', 'Connect', [set('connectRetry', 120), CONNECT], 0],
    ['ManualStart_with_PassiveTcpEstablishment', 'Active', [set('connectRetry', 120)], 0],
    ['AutomaticStart_with_PassiveTcpEstablishment', 'Active', [set('connectRetry', 120)], 0],
    ['ManualStop', 'Idle', [], 3],
    ['AutomaticStop', 'Idle', [], 3],
    ['ConnectRetryTimer_Expires', 'Idle', [], 3],
    ['HoldTimer_Expires', 'Idle', [], 3],
    ['KeepaliveTimer_Expires', 'Idle', [], 3],
    ['DelayOpenTimer_Expires', 'Idle', [], 3],
    // Event 13 (DampPeerOscillations): the damped automatic start.
    ['IdleHoldTimer_Expires', 'Connect', [set('connectRetry', 120), CONNECT], 0],
    // "refuses all incoming BGP connections"
    ['Tcp_CR_Invalid', 'Idle', [REJECT], 3],
    ['Tcp_CR_Acked', 'Idle', [], 3],
    ['TcpConnectionConfirmed', 'Idle', [REJECT], 3],
    ['TcpConnectionFails', 'Idle', [], 3],
    ['BGPOpen', 'Idle', [], 3],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', [], 3],
    ['BGPHeaderErr', 'Idle', [], 3],
    ['BGPOpenMsgErr', 'Idle', [], 3],
    ['OpenCollisionDump', 'Idle', [], 3],
    ['NotifMsgVerErr', 'Idle', [], 3],
    ['NotifMsg', 'Idle', [], 3],
    ['KeepAliveMsg', 'Idle', [], 3],
    ['UpdateMsg', 'Idle', [], 3],
    ['UpdateMsgErr', 'Idle', [], 3],
  ],
  Connect: [
    ...SAME('Connect'),
    ['ManualStop', 'Idle', idle('Connect'), 0],
    ['AutomaticStop', 'Idle', idle('Connect'), 4],
    ['ConnectRetryTimer_Expires', 'Connect', [CLOSE, set('connectRetry', 120), CONNECT], 3],
    ['HoldTimer_Expires', 'Idle', idle('Connect'), 4],
    ['KeepaliveTimer_Expires', 'Idle', idle('Connect'), 4],
    ['DelayOpenTimer_Expires', 'OpenSent', [...stop('connectRetry'), send(OPEN), set('hold', 240)], 3],
    ['IdleHoldTimer_Expires', 'Idle', idle('Connect'), 4],
    ['Tcp_CR_Invalid', 'Connect', [REJECT], 3],
    ['Tcp_CR_Acked', 'OpenSent', [...stop('connectRetry'), send(OPEN), set('hold', 240)], 3],
    ['TcpConnectionConfirmed', 'OpenSent', [...stop('connectRetry'), send(OPEN), set('hold', 240)], 3],
    // DEVIATION (BIRD): Active and retry, not Idle.
    ['TcpConnectionFails', 'Active', [CLOSE, set('connectRetry', 120)], 3],
    ['BGPOpen', 'Idle', idle('Connect'), 4],
    // Event 20 needs the DelayOpenTimer: see DELAY_OPEN below.
    ['BGPHeaderErr', 'Idle', idle('Connect'), 4],
    ['BGPOpenMsgErr', 'Idle', idle('Connect'), 4],
    ['OpenCollisionDump', 'Idle', idle('Connect'), 4],
    ['NotifMsgVerErr', 'Idle', idle('Connect'), 4],
    ['NotifMsg', 'Idle', idle('Connect'), 4],
    ['KeepAliveMsg', 'Idle', idle('Connect'), 4],
    ['UpdateMsg', 'Idle', idle('Connect'), 4],
    ['UpdateMsgErr', 'Idle', idle('Connect'), 4],
  ],
  Active: [
    ...SAME('Active'),
    ['ManualStop', 'Idle', idle('Active'), 0],
    ['AutomaticStop', 'Idle', idle('Active'), 4],
    ['ConnectRetryTimer_Expires', 'Connect', [set('connectRetry', 120), CONNECT], 3],
    ['HoldTimer_Expires', 'Idle', idle('Active'), 4],
    ['KeepaliveTimer_Expires', 'Idle', idle('Active'), 4],
    ['DelayOpenTimer_Expires', 'OpenSent', [...stop('connectRetry'), send(OPEN), set('hold', 240)], 3],
    ['IdleHoldTimer_Expires', 'Idle', idle('Active'), 4],
    ['Tcp_CR_Invalid', 'Active', [REJECT], 3],
    ['Tcp_CR_Acked', 'OpenSent', [...stop('connectRetry'), send(OPEN), set('hold', 240)], 3],
    ['TcpConnectionConfirmed', 'OpenSent', [...stop('connectRetry'), send(OPEN), set('hold', 240)], 3],
    ['TcpConnectionFails', 'Idle', idle('Active'), 4],
    ['BGPOpen', 'Idle', idle('Active'), 4],
    ['BGPHeaderErr', 'Idle', idle('Active'), 4],
    ['BGPOpenMsgErr', 'Idle', idle('Active'), 4],
    ['OpenCollisionDump', 'Idle', idle('Active'), 4],
    ['NotifMsgVerErr', 'Idle', idle('Active'), 4],
    ['NotifMsg', 'Idle', idle('Active'), 4],
    ['KeepAliveMsg', 'Idle', idle('Active'), 4],
    ['UpdateMsg', 'Idle', idle('Active'), 4],
    ['UpdateMsgErr', 'Idle', idle('Active'), 4],
  ],
  OpenSent: [
    ...SAME('OpenSent'),
    ['ManualStop', 'Idle', idle('OpenSent', { notify: notif(6, 2) }), 0],
    ['AutomaticStop', 'Idle', idle('OpenSent', { notify: notif(6, 0) }), 4],
    ['ConnectRetryTimer_Expires', 'Idle', idle('OpenSent', { notify: fsmErr(0) }), 4],
    ['HoldTimer_Expires', 'Idle', idle('OpenSent', { notify: notif(4, 0), except: 'hold' }), 4],
    ['KeepaliveTimer_Expires', 'Idle', idle('OpenSent', { notify: fsmErr(0) }), 4],
    ['DelayOpenTimer_Expires', 'Idle', idle('OpenSent', { notify: fsmErr(0) }), 4],
    ['IdleHoldTimer_Expires', 'Idle', idle('OpenSent', { notify: fsmErr(0) }), 4],
    ['Tcp_CR_Invalid', 'OpenSent', [REJECT], 3],
    // 16/17: a second connection, tracked by the driver (§6.8).
    ['Tcp_CR_Acked', 'OpenSent', [], 3],
    ['TcpConnectionConfirmed', 'OpenSent', [], 3],
    ['TcpConnectionFails', 'Active', [...stop('hold'), CLOSE, set('connectRetry', 120)], 3],
    ['BGPOpen', 'OpenConfirm', [send(KA), set('keepalive', 30), set('hold', 90)], 3],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', idle('OpenSent', { notify: fsmErr(1, 1) }), 4],
    ['BGPHeaderErr', 'Idle', idle('OpenSent', { notify: notif(1, 2, [0x13, 0x88]) }), 4],
    ['BGPOpenMsgErr', 'Idle', idle('OpenSent', { notify: notif(2, 1, [0, 4]) }), 4],
    ['OpenCollisionDump', 'Idle', idle('OpenSent', { notify: notif(6, 7) }), 4],
    ['NotifMsgVerErr', 'Idle', idle('OpenSent'), 3],
    // DEVIATION: no NOTIFICATION in answer to a NOTIFICATION.
    ['NotifMsg', 'Idle', idle('OpenSent'), 4],
    ['KeepAliveMsg', 'Idle', idle('OpenSent', { notify: fsmErr(1, 4) }), 4],
    ['UpdateMsg', 'Idle', idle('OpenSent', { notify: fsmErr(1, 2) }), 4],
    ['UpdateMsgErr', 'Idle', idle('OpenSent', { notify: fsmErr(1, 2) }), 4],
  ],
  OpenConfirm: [
    ...SAME('OpenConfirm'),
    ['ManualStop', 'Idle', idle('OpenConfirm', { notify: notif(6, 2) }), 0],
    ['AutomaticStop', 'Idle', idle('OpenConfirm', { notify: notif(6, 0) }), 4],
    ['ConnectRetryTimer_Expires', 'Idle', idle('OpenConfirm', { notify: fsmErr(0) }), 4],
    ['HoldTimer_Expires', 'Idle', idle('OpenConfirm', { notify: notif(4, 0), except: 'hold' }), 4],
    ['KeepaliveTimer_Expires', 'OpenConfirm', [send(KA), set('keepalive', 30)], 3],
    ['DelayOpenTimer_Expires', 'Idle', idle('OpenConfirm', { notify: fsmErr(0) }), 4],
    ['IdleHoldTimer_Expires', 'Idle', idle('OpenConfirm', { notify: fsmErr(0) }), 4],
    ['Tcp_CR_Invalid', 'OpenConfirm', [REJECT], 3],
    ['Tcp_CR_Acked', 'OpenConfirm', [], 3],
    ['TcpConnectionConfirmed', 'OpenConfirm', [], 3],
    ['TcpConnectionFails', 'Idle', idle('OpenConfirm'), 4],
    // A second OPEN on this very connection (collisions arrive as OpenCollisionDump).
    ['BGPOpen', 'Idle', idle('OpenConfirm', { notify: fsmErr(2, 1) }), 4],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', idle('OpenConfirm', { notify: fsmErr(2, 1) }), 4],
    ['BGPHeaderErr', 'Idle', idle('OpenConfirm', { notify: notif(1, 2, [0x13, 0x88]) }), 4],
    ['BGPOpenMsgErr', 'Idle', idle('OpenConfirm', { notify: notif(2, 1, [0, 4]) }), 4],
    ['OpenCollisionDump', 'Idle', idle('OpenConfirm', { notify: notif(6, 7) }), 4],
    ['NotifMsgVerErr', 'Idle', idle('OpenConfirm'), 3],
    ['NotifMsg', 'Idle', idle('OpenConfirm'), 4],
    ['KeepAliveMsg', 'Established', [set('hold', 90), { type: 'established', negotiated: NEG! }], 3],
    ['UpdateMsg', 'Idle', idle('OpenConfirm', { notify: fsmErr(2, 2) }), 4],
    ['UpdateMsgErr', 'Idle', idle('OpenConfirm', { notify: fsmErr(2, 2) }), 4],
  ],
  Established: [
    ...SAME('Established'),
    ['ManualStop', 'Idle', idle('Established', { notify: notif(6, 2), down: { type: 'manual' } }), 0],
    ['AutomaticStop', 'Idle', idle('Established', { notify: notif(6, 0), down: { type: 'automatic', message: 'Cease' } }), 4],
    ['ConnectRetryTimer_Expires', 'Idle', idle('Established', { notify: fsmErr(0), down: sent(fsmErr(0)) }), 4],
    ['HoldTimer_Expires', 'Idle', idle('Established', { notify: notif(4, 0), down: sent(notif(4, 0)), except: 'hold' }), 4],
    ['KeepaliveTimer_Expires', 'Established', [send(KA), set('keepalive', 30)], 3],
    ['DelayOpenTimer_Expires', 'Idle', idle('Established', { notify: fsmErr(0), down: sent(fsmErr(0)) }), 4],
    ['IdleHoldTimer_Expires', 'Idle', idle('Established', { notify: fsmErr(0), down: sent(fsmErr(0)) }), 4],
    ['Tcp_CR_Invalid', 'Established', [REJECT], 3],
    ['Tcp_CR_Acked', 'Established', [], 3],
    ['TcpConnectionConfirmed', 'Established', [], 3],
    ['TcpConnectionFails', 'Idle', idle('Established', { down: { type: 'socket', message: 'Connection reset by peer' } }), 4],
    ['BGPOpen', 'Idle', idle('Established', { notify: fsmErr(3, 1), down: sent(fsmErr(3, 1)) }), 4],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', idle('Established', { notify: fsmErr(3, 1), down: sent(fsmErr(3, 1)) }), 4],
    // §6.1: a header error is answered with its own NOTIFICATION in every state.
    ['BGPHeaderErr', 'Idle', idle('Established', { notify: notif(1, 2, [0x13, 0x88]), down: sent(notif(1, 2)) }), 4],
    ['BGPOpenMsgErr', 'Idle', idle('Established', { notify: fsmErr(3, 1), down: sent(fsmErr(3, 1)) }), 4],
    ['OpenCollisionDump', 'Idle', idle('Established', { notify: notif(6, 7), down: sent(notif(6, 7)) }), 4],
    ['NotifMsgVerErr', 'Idle', idle('Established', { down: { type: 'received', code: 2, subcode: 1 } }), 4],
    ['NotifMsg', 'Idle', idle('Established', { down: { type: 'received', code: 6, subcode: 2 } }), 4],
    ['KeepAliveMsg', 'Established', [set('hold', 90)], 3],
    ['UpdateMsg', 'Established', [{ type: 'update', outcome: OUTCOME }, set('hold', 90)], 3],
    ['UpdateMsgErr', 'Idle', idle('Established', { notify: notif(3, 1), down: sent(notif(3, 1)) }), 4],
  ],
};

const ALL_EVENTS = Object.keys(EVENTS) as Ev[];

for (const state of Object.keys(TABLE) as State[]) {
  t.test(`${state} state`, async (t) => {
    const rows = TABLE[state];
    const covered = new Set(rows.map((r) => r[0]));
    const missing = ALL_EVENTS.filter((e) => !covered.has(e) && !(e === 'BGPOpen_with_DelayOpenTimer_running' && (state === 'Connect' || state === 'Active')));
    t.same(missing, [], 'every event has a row');
    for (const [ev, next, actions, counter] of rows) {
      const s: SessionState = sessionIn(state, CFG);
      const r = step(s, EVENTS[ev], T0);
      t.equal(r.state.state, next, `${state} + ${ev} -> ${next}`);
      t.same(r.actions, actions, `${state} + ${ev}: actions`);
      t.equal(r.state.connectRetryCounter, counter, `${state} + ${ev}: ConnectRetryCounter`);
      t.equal(r.state.since, next === state ? s.since : T0, `${state} + ${ev}: since`);
      if (next === 'Idle') t.same(Object.values(r.state.timers), [null, null, null, null, null], 'Idle has no timer running');
    }
  });
}

// Cells that depend on the DelayOpenTimer (RFC 4271 §8.2.2 Connect/Active, Events 12, 18, 20, 24).
t.test('DelayOpen cells of Connect and Active', async (t) => {
  const cfg = config({ delayOpenSec: 5, sendNotificationWithoutOpen: true });
  for (const state of ['Connect', 'Active'] as const) {
    const s = sessionIn(state, cfg, { delayOpen: true });
    const own = localOpen(cfg);
    let r = step(s, EVENTS.BGPOpen_with_DelayOpenTimer_running, T0);
    t.equal(r.state.state, 'OpenConfirm', `${state} + 20`);
    t.same(r.actions, [...stop('delayOpen'), send(own), send(KA), set('keepalive', 30), set('hold', 90)]);

    r = step(s, EVENTS.TcpConnectionFails, T0);
    t.equal(r.state.state, 'Active', `${state} + 18 with DelayOpen`);
    t.same(r.actions, [CLOSE, set('connectRetry', 120), ...stop('delayOpen')]);

    r = step(s, EVENTS.NotifMsgVerErr, T0);
    t.equal(r.state.state, 'Idle', `${state} + 24 with DelayOpen`);
    t.same(r.actions, [...stop('delayOpen'), CLOSE]);
    t.equal(r.state.connectRetryCounter, 3, 'not incremented');

    r = step(s, EVENTS.BGPHeaderErr, T0);
    t.same(r.actions, [send(notif(1, 2, [0x13, 0x88])), ...stop('delayOpen'), CLOSE], `${state} + 21 SendNOTIFICATIONwithoutOPEN`);

    r = step(s, EVENTS.ManualStop, T0);
    const expected = state === 'Active' ? [send(notif(6, 2)), ...stop('delayOpen'), CLOSE] : [...stop('delayOpen'), CLOSE];
    t.same(r.actions, expected, `${state} + 2 with DelayOpen`);

    r = step(s, EVENTS.DelayOpenTimer_Expires, T0);
    t.equal(r.state.state, 'OpenSent');
    t.same(r.actions, [send(own), set('hold', 240)]);

    // Connect: ConnectRetryTimer_Expires also stops the DelayOpenTimer.
    if (state === 'Connect') {
      r = step({ ...s, timers: { ...s.timers, connectRetry: { deadline: T0, seconds: 120 } } }, EVENTS.ConnectRetryTimer_Expires, T0);
      t.same(r.actions, [CLOSE, set('connectRetry', 120), ...stop('delayOpen'), CONNECT]);
    }
  }
  // TCP up with DelayOpen: start the DelayOpenTimer, stay.
  const s = sessionIn('Connect', cfg);
  const r = step(s, EVENTS.Tcp_CR_Acked, T0);
  t.equal(r.state.state, 'Connect');
  t.same(r.actions, [...stop('connectRetry'), set('delayOpen', 5)]);
});

t.test('ROUTE-REFRESH (RFC 2918) is valid only in Established', async (t) => {
  const message = { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } as const;
  const ev: Event = { type: 'RouteRefreshMsg', message };
  let r = step(sessionIn('Established'), ev, T0);
  t.same(r.actions, [{ type: 'routeRefresh', message }, set('hold', 90)]);
  r = step(sessionIn('OpenConfirm'), ev, T0);
  t.same(r.actions, idle('OpenConfirm', { notify: fsmErr(2, 5) }));
  r = step(sessionIn('Idle'), ev, T0);
  t.same(r.actions, []);
});

t.test('ManualStop carries the Cease subcode and RFC 9003 communication', async (t) => {
  const r = step(sessionIn('Established'), { type: 'ManualStop', subcode: 4, communication: 'maintenance' }, T0);
  const first = r.actions[0];
  t.equal(first?.type, 'send');
  if (first?.type === 'send' && first.message.type === 'notification') {
    t.equal(first.message.code, 6);
    t.equal(first.message.subcode, 4);
    t.same([...first.message.data], [11, ...Buffer.from('maintenance')]);
  }
  const r2 = step(sessionIn('Established'), { type: 'ManualStop', subcode: 3 }, T0);
  t.same(r2.actions[0], send(notif(6, 3)), 'Peer de-configured, no data');
  const r3 = step(sessionIn('OpenSent'), { type: 'ManualStop', subcode: 5 }, T0);
  t.same(r3.actions[0], send(notif(6, 5)), 'Connection rejected');
  const r4 = step(sessionIn('OpenConfirm'), { type: 'ManualStop', subcode: 6 }, T0);
  t.same(r4.actions[0], send(notif(6, 6)), 'Other configuration change');
});
