// enforce-first-as: RFC 4271 §6.3 (the leftmost AS of an eBGP peer's AS_PATH must be the peer's
// AS, else Malformed AS_PATH) with the RFC 7606 §7.2 disposition, treat-as-withdraw. Checked on
// UPDATEs as decoded from the wire (hex) and after AS4 reconstruction (RFC 6793 §4.2.3).
import t from 'tap';
import { Buffer } from 'node:buffer';
import { Rib } from '../../rib/rib.js';
import type { PeerConfig, RibAction, RibOutput } from '../../rib/messages.js';
import { decodeUpdate } from '../../proto/update.js';
import { fromTwoOctet, leftmostAs } from '../../proto/as4.js';
import { AsPathSegmentType, Origin } from '../../proto/constants.js';
import { DEFAULT_CONTEXT, Family } from '../../proto/types.js';
import type { AsPathSegment, CodecContext, PathAttributes, UpdateMessage } from '../../proto/types.js';
import { announce, ip, peer, pfx, seq, withdraw, poolRib } from './helpers.js';

const OWN_AS = 64512;
const PEER_AS = 65005;
const OTHER_AS = 65099;
const AS4_PEER = 4200000001;
const set = (...asns: number[]): AsPathSegment => ({ type: AsPathSegmentType.Set, asns });


function drain(rib: Rib, out: RibOutput): RibAction[] {
  for (let i = 0; i < 100 && rib.drain(100).more; i++);
  return out.actions;
}

const ebgp = (over: Partial<PeerConfig> = {}): PeerConfig =>
  peer('10.0.0.5', { asn: PEER_AS, families: [Family.Ipv4Unicast], enforceFirstAs: true, ...over });
const attrsWith = (asPath: AsPathSegment[]): PathAttributes => ({ origin: Origin.Igp, asPath, nextHop: ip('10.0.0.5') });
const P = pfx('172.18.11.0/24');

t.test('leftmostAs', async (t) => {
  t.equal(leftmostAs([seq(PEER_AS, OTHER_AS)]), PEER_AS);
  t.equal(leftmostAs([]), null, 'empty path');
  t.equal(leftmostAs(undefined), null, 'no AS_PATH');
  t.equal(leftmostAs([set(PEER_AS), seq(OTHER_AS)]), null, 'leading AS_SET');
  t.equal(leftmostAs([{ type: AsPathSegmentType.ConfedSequence, asns: [PEER_AS] }]), null, 'leading confederation segment');
});

t.test('the table: who is checked, what counts as a mismatch', async (t) => {
  type Row = [string, PeerConfig, UpdateMessage, { firstAs: number | null; prefixes: number } | null];
  const rows: Row[] = [
    ['eBGP, path starts with the peer AS', ebgp(), announce([P], attrsWith([seq(PEER_AS, OTHER_AS)])), null],
    ['eBGP, foreign first AS', ebgp(), announce([P], attrsWith([seq(OTHER_AS, PEER_AS)])), { firstAs: OTHER_AS, prefixes: 1 }],
    ['eBGP, empty path with NLRI', ebgp(), announce([P], attrsWith([])), { firstAs: null, prefixes: 1 }],
    ['eBGP, leading AS_SET with NLRI', ebgp(), announce([P], attrsWith([set(PEER_AS)])), { firstAs: null, prefixes: 1 }],
    ['eBGP, two NLRI (IPv4 and MP_REACH)', ebgp({ families: [Family.Ipv4Unicast, Family.Ipv6Unicast] }), announce([P, pfx('fd00:1::/64')], attrsWith([seq(OTHER_AS)])), { firstAs: OTHER_AS, prefixes: 2 }],
    ['eBGP, empty path, withdraw only', ebgp(), { ...withdraw([P as number]), attrs: attrsWith([]) }, null],
    ['eBGP, enforce-first-as off (route server)', ebgp({ enforceFirstAs: false }), announce([P], attrsWith([seq(OTHER_AS)])), null],
    ['eBGP, absent in the RIB config: off', peer('10.0.0.5', { asn: PEER_AS }), announce([P], attrsWith([seq(OTHER_AS)])), null],
    ['iBGP: not checked', ebgp({ asn: OWN_AS }), announce([P], attrsWith([seq(OTHER_AS)])), null],
  ];
  for (const [what, cfg, msg, want] of rows) {
    const rib = poolRib();
    rib.handle({ type: 'peerUp', peer: cfg }, 0);
    const acts = drain(rib, rib.handle({ type: 'update', peer: cfg.id, message: msg }, 0)).filter((a) => a.type === 'firstAsMismatch');
    if (want === null) {
      t.same(acts, [], `${what}: no mismatch`);
      if (msg.nlri.length > 0) t.equal(rib.explain(P).length, 1, `${what}: route accepted`);
    } else {
      t.same(acts, [{ type: 'firstAsMismatch', peer: cfg.id, peerAs: cfg.asn, ...want }], `${what}: mismatch reported`);
      t.same(rib.explain(P), [], `${what}: treated as withdraw, nothing stored`);
    }
  }
});

t.test('treat-as-withdraw removes the route the peer announced before (RFC 7606 §2)', async (t) => {
  const rib = poolRib();
  const cfg = ebgp();
  rib.handle({ type: 'peerUp', peer: cfg }, 0);
  drain(rib, rib.handle({ type: 'update', peer: cfg.id, message: announce([P], attrsWith([seq(PEER_AS)])) }, 0));
  t.equal(rib.explain(P).length, 1, 'held');
  drain(rib, rib.handle({ type: 'update', peer: cfg.id, message: announce([P], attrsWith([seq(OTHER_AS)])) }, 0));
  t.same(rib.explain(P), [], 'the bad UPDATE withdrew it');
  t.equal(rib.peerRouteCounts(cfg.id).imported, 0);
});

t.test('a reload turning the check on sweeps held routes (peerImport)', async (t) => {
  const rib = poolRib();
  const off = ebgp({ enforceFirstAs: false });
  rib.handle({ type: 'peerUp', peer: off }, 0);
  const Q = pfx('172.18.12.0/24');
  drain(rib, rib.handle({ type: 'update', peer: off.id, message: announce([P], attrsWith([seq(OTHER_AS)])) }, 0));
  drain(rib, rib.handle({ type: 'update', peer: off.id, message: announce([Q], attrsWith([seq(PEER_AS)])) }, 0));
  t.equal(rib.explain(P).length, 1, 'off: foreign first AS accepted');
  drain(rib, rib.handle({ type: 'peerImport', peer: { ...off, enforceFirstAs: true } }, 0));
  t.same(rib.explain(P), [], 'on: the held route with a foreign first AS is withdrawn');
  t.equal(rib.explain(Q).length, 1, 'the good one stays');
});

// UPDATE, 4-octet AS session: ORIGIN IGP, AS_PATH SEQ [65099], NEXT_HOP 10.0.0.5, NLRI 172.18.11.0/24.
const HEX_FOREIGN =
  'ffffffffffffffffffffffffffffffff' + '002f' + '02' + '0000' + '0014' + '40010100' + '4002060201' + '0000fe4b' + '4003040a000005' + '18ac120b';
// The same with AS_PATH SEQ [65005]: the peer's own AS first.
const HEX_OWN = HEX_FOREIGN.replace('0000fe4b', '0000fded');
// 2-octet session from AS 4200000001: AS_PATH SEQ [23456] (AS_TRANS), AS4_PATH SEQ [4200000001].
const HEX_AS4 =
  'ffffffffffffffffffffffffffffffff' + '0036' + '02' + '0000' + '001b' + '40010100' + '4002040201' + '5ba0' + 'c011060201fa56ea01' + '4003040a000005' + '18ac120b';

function fromWire(hex: string, ctx: CodecContext): UpdateMessage {
  const o = decodeUpdate(Buffer.from(hex, 'hex'), ctx);
  t.equal(o.treatAsWithdraw, false, 'well-formed for the codec: the first-AS rule needs the session');
  // What the daemon does before the RIB (RFC 6793 §4.2.3): rebuild the path on a 2-octet session.
  return ctx.fourOctetAs || o.message.attrs === null ? o.message : { ...o.message, attrs: fromTwoOctet(o.message.attrs) };
}

t.test('hex vectors through the codec into the RIB', async (t) => {
  const four: CodecContext = { ...DEFAULT_CONTEXT, fourOctetAs: true };
  const cases: [string, string, CodecContext, PeerConfig, boolean][] = [
    ['4-octet session, first AS 65099 from AS 65005', HEX_FOREIGN, four, ebgp(), true],
    ['4-octet session, first AS 65005 from AS 65005', HEX_OWN, four, ebgp(), false],
    ['2-octet session, AS_TRANS + AS4_PATH 4200000001 from AS 4200000001', HEX_AS4, DEFAULT_CONTEXT, ebgp({ asn: AS4_PEER }), false],
    ['2-octet session, AS_TRANS + AS4_PATH 4200000001 from AS 65005', HEX_AS4, DEFAULT_CONTEXT, ebgp(), true],
  ];
  for (const [what, hex, ctx, cfg, mismatch] of cases) {
    const rib = poolRib();
    rib.handle({ type: 'peerUp', peer: cfg }, 0);
    const msg = fromWire(hex, ctx);
    const acts = drain(rib, rib.handle({ type: 'update', peer: cfg.id, message: msg }, 0)).filter((a) => a.type === 'firstAsMismatch');
    t.equal(acts.length, mismatch ? 1 : 0, `${what}: ${mismatch ? 'treat-as-withdraw' : 'accepted'}`);
    t.equal(rib.explain(P).length, mismatch ? 0 : 1, `${what}: ${mismatch ? 'not stored' : 'stored'}`);
  }
});
