// Connection collision detection (RFC 4271 §6.8), both ways, with two FSMs for one peer as the
// driver holds them.
import t from 'tap';
import { collisionSurvivor, detectCollision } from '../../fsm/collision.js';
import { createSession, step } from '../../fsm/fsm.js';
import type { SessionState } from '../../fsm/types.js';
import { T0, config, peerOpen, sessionIn } from './fixtures.js';

t.test('the connection initiated by the higher BGP identifier survives', async (t) => {
  t.equal(collisionSurvivor(0x0a000002, 1, 0x0a000001, 1), 'outgoing', 'we are higher: keep ours');
  t.equal(collisionSurvivor(0x0a000001, 1, 0x0a000002, 1), 'incoming', 'they are higher: keep theirs');
  // Unsigned comparison: 200.0.0.1 > 10.0.0.1 although it is negative as int32.
  t.equal(collisionSurvivor(0xc8000001 | 0, 1, 0x0a000001, 1), 'outgoing');
  t.equal(collisionSurvivor(0x0a000001, 1, 0xc8000001 | 0, 1), 'incoming');
  t.equal(collisionSurvivor(5, 65002, 5, 65001), 'outgoing', 'equal ids: larger AS (RFC 6286 §2.3)');
});

t.test('decisions by the state of the other connection', async (t) => {
  const other = (state: SessionState['state']) => sessionIn(state);
  t.same(detectCollision(null, 'incoming', 1, 1, 2, 2), { type: 'none' });
  t.same(detectCollision(other('Idle'), 'incoming', 1, 1, 2, 2), { type: 'none' });
  t.same(detectCollision(other('OpenSent'), 'incoming', 1, 1, 2, 2), { type: 'none' });
  t.same(detectCollision(other('Connect'), 'incoming', 1, 1, 2, 2), { type: 'stopOther' });
  t.same(detectCollision(other('Active'), 'incoming', 1, 1, 2, 2), { type: 'stopOther' });
  t.same(detectCollision(other('OpenConfirm'), 'incoming', 1, 1, 2, 2), { type: 'dumpOther' });
  t.same(detectCollision(other('OpenConfirm'), 'incoming', 3, 1, 2, 2), { type: 'dumpThis' });
  t.same(detectCollision(other('OpenConfirm'), 'outgoing', 3, 1, 2, 2), { type: 'dumpOther' });
  t.same(detectCollision(other('OpenConfirm'), 'outgoing', 1, 1, 2, 2), { type: 'dumpThis' });
  t.same(detectCollision(other('Established'), 'incoming', 1, 1, 2, 2), { type: 'dumpThis' });
});

/** Both sides connect at once; our outgoing FSM is in OpenConfirm when the incoming one's OPEN arrives. */
function collide(localId: number, peerId: number) {
  const cfg = config({ localBgpId: localId });
  const open = peerOpen({ bgpId: peerId });
  let outgoing = createSession(cfg, T0);
  for (const e of [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }, { type: 'BGPOpen', open }] as const) outgoing = step(outgoing, e, T0).state;
  let incoming = step(createSession(cfg, T0), { type: 'ManualStart_with_PassiveTcpEstablishment' }, T0).state;
  incoming = step(incoming, { type: 'TcpConnectionConfirmed' }, T0).state;
  const r = step(incoming, { type: 'BGPOpen', open }, T0);
  incoming = r.state;
  const decision = detectCollision(outgoing, 'incoming', localId, cfg.localAsn, peerId, cfg.peerAsn);
  return { outgoing, incoming, decision };
}

t.test('collision, our identifier lower: the incoming connection survives', async (t) => {
  const { outgoing, incoming, decision } = collide(0x0a000001, 0x0a000002);
  t.equal(incoming.state, 'OpenConfirm');
  t.same(decision, { type: 'dumpOther' });
  const dumped = step(outgoing, { type: 'OpenCollisionDump' }, T0);
  t.equal(dumped.state.state, 'Idle');
  t.same(dumped.actions[0], { type: 'send', message: { type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) } });
  t.ok(dumped.actions.some((a) => a.type === 'close'));
  const up = step(incoming, { type: 'KeepAliveMsg' }, T0);
  t.equal(up.state.state, 'Established');
});

t.test('collision, our identifier higher: our outgoing connection survives', async (t) => {
  const { outgoing, incoming, decision } = collide(0x0a000003, 0x0a000002);
  t.same(decision, { type: 'dumpThis' });
  const dumped = step(incoming, { type: 'OpenCollisionDump' }, T0);
  t.equal(dumped.state.state, 'Idle');
  t.same(dumped.actions[0], { type: 'send', message: { type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) } });
  t.equal(step(outgoing, { type: 'KeepAliveMsg' }, T0).state.state, 'Established');
});

t.test('graceful restart: a new OPEN while Established replaces the old session (RFC 4724 §4.2)', async (t) => {
  const grCfg = config({
    capabilities: [
      { type: 'four-octet-as', asn: 65001 },
      { type: 'graceful-restart', restarting: false, notification: false, restartTimeSec: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] },
    ],
  });
  const grOpen = peerOpen({
    params: [
      {
        type: 'capabilities',
        capabilities: [
          { type: 'four-octet-as', asn: 65002 },
          { type: 'graceful-restart', restarting: true, notification: false, restartTimeSec: 90, families: [] },
        ],
      },
    ],
  });
  const est = sessionIn('Established', grCfg);
  const estGr = { ...est, negotiated: (await import('../../fsm/open-check.js')).checkOpen(grOpen, grCfg) } as SessionState;
  t.same(detectCollision(estGr, 'incoming', 1, 1, 2, 2, true), { type: 'replaceEstablished' });
  t.same(detectCollision(estGr, 'incoming', 1, 1, 2, 2, false), { type: 'dumpThis' }, 'new OPEN without GR');
  t.same(detectCollision(est, 'incoming', 1, 1, 2, 2, true), { type: 'dumpThis' }, 'GR not negotiated on the old session');
  t.same(detectCollision(estGr, 'incoming', 1, 1, 2, 2, true, 'incoming'), { type: 'replaceEstablished' }, 'the peer connected again: it restarted');
  // The late half of a collision: our own connection won the race to Established while the peer's
  // connection (opened before it) still waited to be read. §6.8 keeps the Established one; no flap.
  t.same(detectCollision(estGr, 'incoming', 1, 1, 2, 2, true, 'outgoing'), { type: 'dumpThis' }, 'other direction: a collision, not a restart');
  t.same(detectCollision(estGr, 'outgoing', 2, 1, 1, 2, true, 'incoming'), { type: 'dumpThis' }, 'also with the higher identifier on our side');
  const r = step(estGr, { type: 'TcpConnectionFails', reason: { type: 'error', message: 'Graceful restart' } }, T0);
  t.equal(r.state.state, 'Idle');
  t.same(r.actions.find((a) => a.type === 'down'), { type: 'down', reason: { type: 'error', message: 'Graceful restart' } });
  t.notOk(r.actions.some((a) => a.type === 'send'), 'no NOTIFICATION on the dead connection');
});
