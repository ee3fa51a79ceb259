// OPEN validation (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 5492 §5) and negotiation, each error
// checked for its exact NOTIFICATION code, subcode and Data, both from checkOpen and through step().
import t from 'tap';
import { step } from '../../fsm/fsm.js';
import { checkOpen, isNegotiated, localCapabilities, localOpen } from '../../fsm/open-check.js';
import { Family } from '../../proto/types.js';
import type { Capability, OpenMessage } from '../../proto/types.js';
import type { SessionConfig } from '../../fsm/types.js';
import { LOCAL_ID, T0, config, peerOpen, sessionIn } from './fixtures.js';

const caps = (c: Capability[]): OpenMessage['params'] => [{ type: 'capabilities', capabilities: c }];
const V6 = Family.Ipv6Unicast;

interface Case {
  readonly name: string;
  readonly cfg?: Partial<SessionConfig>;
  readonly open: OpenMessage;
  /** [code, subcode, data] or null for success. */
  readonly error: readonly [number, number, readonly number[]] | null;
}

const CASES: Case[] = [
  { name: 'valid', open: peerOpen(), error: null },
  { name: 'version 3', open: peerOpen({ version: 3 }), error: [2, 1, [0, 4]] },
  { name: 'wrong AS', open: peerOpen({}, 65099), error: [2, 2, []] },
  {
    name: 'AS_TRANS with the 4-octet AS capability',
    cfg: { peerAsn: 4200000001 },
    open: peerOpen({}, 4200000001),
    error: null,
  },
  {
    name: 'AS_TRANS without the 4-octet AS capability',
    cfg: { peerAsn: 4200000001 },
    open: peerOpen({ myAs: 23456, params: caps([{ type: 'multiprotocol', afi: 1, safi: 1 }]) }),
    error: [2, 2, []],
  },
  {
    name: '4-octet AS capability contradicting My AS',
    cfg: { peerAsn: 4200000001 },
    open: peerOpen({ myAs: 65002, params: caps([{ type: 'four-octet-as', asn: 4200000001 }]) }),
    error: [2, 2, []],
  },
  { name: 'hold time 1', open: peerOpen({ holdTimeSec: 1 }), error: [2, 6, []] },
  { name: 'hold time 2', open: peerOpen({ holdTimeSec: 2 }), error: [2, 6, []] },
  { name: 'hold time 0', open: peerOpen({ holdTimeSec: 0 }), error: null },
  { name: 'hold time 3', open: peerOpen({ holdTimeSec: 3 }), error: null },
  { name: 'BGP identifier 0', open: peerOpen({ bgpId: 0 }), error: [2, 3, []] },
  { name: 'BGP identifier equal to ours, iBGP', cfg: { peerAsn: 65001 }, open: peerOpen({ bgpId: LOCAL_ID }, 65001), error: [2, 3, []] },
  { name: 'BGP identifier equal to ours, eBGP (RFC 6286 allows it)', open: peerOpen({ bgpId: LOCAL_ID }), error: null },
  { name: 'BGP identifier above 2^31 is fine', open: peerOpen({ bgpId: 0xfffffffe }), error: null },
  {
    name: 'unknown optional parameter',
    open: peerOpen({ params: [{ type: 'unknown', code: 9, value: new Uint8Array(0) }] }),
    error: [2, 4, []],
  },
  {
    name: 'required 4-octet AS missing',
    cfg: { required: { fourOctetAs: true } },
    open: peerOpen({ params: caps([{ type: 'multiprotocol', afi: 1, safi: 1 }]) }),
    // RFC 5492 §5: code 65, length 4, our AS 65001.
    error: [2, 7, [65, 4, 0, 0, 0xfd, 0xe9]],
  },
  {
    name: 'required IPv6 unicast missing',
    cfg: { required: { families: [V6] } },
    open: peerOpen(),
    error: [2, 7, [1, 4, 0, 2, 0, 1]],
  },
  {
    name: 'required route refresh and extended message missing',
    cfg: { required: { routeRefresh: true, extendedMessage: true } },
    open: peerOpen({ params: caps([{ type: 'four-octet-as', asn: 65002 }]) }),
    error: [2, 7, [2, 0, 6, 0]],
  },
];

t.test('checkOpen table', async (t) => {
  for (const c of CASES) {
    const cfg = config(c.cfg);
    const r = checkOpen(c.open, cfg);
    if (c.error === null) {
      t.ok(isNegotiated(r), `${c.name}: accepted`);
      continue;
    }
    if (isNegotiated(r)) {
      t.fail(`${c.name}: should be refused`);
      continue;
    }
    t.same([r.code, r.subcode, [...r.data]], c.error, `${c.name}: ${c.error.join('/')}`);
    // Through the FSM: OpenSent + OPEN with the error -> that NOTIFICATION, Idle.
    const tr = step(sessionIn('OpenSent', cfg), { type: 'BGPOpen', open: c.open }, T0);
    t.equal(tr.state.state, 'Idle', `${c.name}: Idle`);
    const first = tr.actions[0];
    t.same(
      first?.type === 'send' && first.message.type === 'notification' ? [first.message.code, first.message.subcode, [...first.message.data]] : null,
      c.error,
      `${c.name}: NOTIFICATION sent`,
    );
  }
});

t.test('negotiation', async (t) => {
  const cfg = config({
    holdTimeSec: 240,
    capabilities: localCapabilities({
      asn: 65001,
      families: [Family.Ipv4Unicast, V6],
      addPath: new Map([
        [Family.Ipv4Unicast, 'both'],
        [V6, 'rx'],
      ]),
      gracefulRestart: { restartTimeSec: 120 },
      extendedMessage: true,
      extendedNextHop: [Family.Ipv4Unicast],
    }),
  });
  const open = peerOpen({
    holdTimeSec: 90,
    params: caps([
      { type: 'multiprotocol', afi: 1, safi: 1 },
      { type: 'multiprotocol', afi: 2, safi: 1 },
      { type: 'multiprotocol', afi: 1, safi: 2 },
      { type: 'route-refresh' },
      { type: 'enhanced-route-refresh' },
      { type: 'four-octet-as', asn: 65002 },
      { type: 'extended-message' },
      { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      {
        type: 'add-path',
        families: [
          { afi: 1, safi: 1, mode: 1 }, // they receive only
          { afi: 2, safi: 1, mode: 3 },
        ],
      },
      {
        type: 'graceful-restart',
        restarting: true,
        notification: false,
        restartTimeSec: 90,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: true },
          { afi: 1, safi: 2, forwardingPreserved: true },
        ],
      },
    ]),
  });
  const n = checkOpen(open, cfg);
  if (!isNegotiated(n)) throw n;
  t.same(n.families, [Family.Ipv4Unicast, V6], 'intersection of multiprotocol');
  t.equal(n.holdTimeSec, 90, 'min hold');
  t.equal(n.keepaliveSec, 30, 'hold/3');
  t.equal(n.peerHoldTimeSec, 90);
  t.ok(n.fourOctetAs);
  t.equal(n.internal, false);
  t.same(n.addPathSend, [Family.Ipv4Unicast], 'we send where we said send and they said receive');
  t.same(n.addPathReceive, [V6], 'we receive where we said receive and they said send');
  t.ok(n.rx.addPath.has(V6) && !n.rx.addPath.has(Family.Ipv4Unicast));
  t.ok(n.tx.addPath.has(Family.Ipv4Unicast) && !n.tx.addPath.has(V6));
  t.ok(n.routeRefresh && n.enhancedRouteRefresh && n.extendedMessage);
  t.same(n.extendedNextHop, [Family.Ipv4Unicast]);
  t.same(n.gracefulRestart, {
    restartTimeSec: 90,
    restarting: true,
    notification: false,
    families: [{ family: Family.Ipv4Unicast, forwardingPreserved: true }],
  });
  t.ok(n.localGracefulRestart);

  // Neither side sends Multiprotocol: IPv4 unicast implied.
  const bare = config({ capabilities: [{ type: 'four-octet-as', asn: 65001 }] });
  const n2 = checkOpen(peerOpen({ params: caps([]) }), bare);
  if (!isNegotiated(n2)) throw n2;
  t.same(n2.families, [Family.Ipv4Unicast]);
  t.equal(n2.fourOctetAs, false, 'AS4 needs both sides');
  t.equal(n2.routeRefresh, false);
  t.equal(n2.gracefulRestart, null);
  // Only we send MP for IPv6: they imply IPv4 unicast, so nothing in common with an IPv6-only us.
  const v6only = config({ capabilities: localCapabilities({ asn: 65001, families: [V6] }) });
  const n3 = checkOpen(peerOpen({ params: caps([{ type: 'four-octet-as', asn: 65002 }]) }), v6only);
  if (!isNegotiated(n3)) throw n3;
  t.same(n3.families, []);
});

t.test('our OPEN', async (t) => {
  const o = localOpen(config({ localAsn: 4200000001, capabilities: localCapabilities({ asn: 4200000001 }) }));
  t.equal(o.myAs, 23456, 'AS_TRANS for a 4-octet AS (RFC 6793 §4.1)');
  t.equal(o.version, 4);
  t.equal(o.holdTimeSec, 90);
  t.equal(o.bgpId, LOCAL_ID);
  t.equal(localOpen(config()).myAs, 65001);
});
