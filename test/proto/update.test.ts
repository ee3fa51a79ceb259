/** Whole-UPDATE vectors: IPv4 and IPv6, ADD-PATH, End-of-RIB, both directions. */
import t from 'tap';
import { Buffer } from 'node:buffer';
import { decodeUpdate, encodeUpdate } from '../../proto/update.js';
import { encodeEndOfRib } from '../../proto/packer.js';
import { decodeMessage } from '../../proto/messages.js';
import { Family } from '../../proto/types.js';
import type { CodecContext, UpdateMessage } from '../../proto/types.js';
import { parseIpv6, prefix4, prefix6 } from '../../proto/prefix.js';
import { frameHex } from './attributes.test.js';

const C4: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const AP: CodecContext = { ...C4, addPath: new Set([Family.Ipv4Unicast, Family.Ipv6Unicast]) };
const BASE = '40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201';
const baseAttrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65001] }], nextHop: 0xc0000201 };

const cases: { name: string; ctx: CodecContext; hex: string; msg: UpdateMessage }[] = [
  {
    name: 'IPv4: withdraw 10.0.0.0/8, announce 198.51.100.0/24 and 203.0.113.128/25',
    ctx: C4,
    hex: frameHex(BASE, '18 c63364  19 cb007180', '08 0a'),
    msg: { type: 'update', withdrawn: [prefix4(0x0a000000, 8)], attrs: baseAttrs, nlri: [prefix4(0xc6336400, 24), prefix4(0xcb007180, 25)] },
  },
  {
    name: 'IPv4: pure withdrawal of 0.0.0.0/0 and 192.0.2.1/32',
    ctx: C4,
    hex: frameHex('', '', '00 20 c0000201'),
    msg: { type: 'update', withdrawn: [prefix4(0, 0), prefix4(0xc0000201, 32)], attrs: null, nlri: [] },
  },
  {
    name: 'IPv4 ADD-PATH: path ids 1 and 2',
    ctx: AP,
    hex: frameHex(BASE, '00000001 18 c63364  00000002 18 c63364', '00000007 08 0a'),
    msg: {
      type: 'update',
      withdrawn: [prefix4(0x0a000000, 8)],
      withdrawnPathIds: [7],
      attrs: baseAttrs,
      nlri: [prefix4(0xc6336400, 24), prefix4(0xc6336400, 24)],
      nlriPathIds: [1, 2],
    },
  },
  {
    name: 'IPv6: MP_REACH_NLRI and MP_UNREACH_NLRI in one UPDATE',
    ctx: C4,
    hex: frameHex('80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001  80 0f 0a 0002 01 30 20010db80002  40 01 01 00  40 02 00'),
    msg: {
      type: 'update',
      withdrawn: [],
      attrs: { origin: 0, asPath: [] },
      nlri: [],
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [prefix6(parseIpv6('2001:db8:1::')!, 48)] },
      mpUnreach: { afi: 2, safi: 1, withdrawn: [prefix6(parseIpv6('2001:db8:2::')!, 48)] },
    },
  },
  {
    name: 'IPv6 ADD-PATH in MP_REACH_NLRI and MP_UNREACH_NLRI',
    ctx: AP,
    hex: frameHex('80 0e 20 0002 01 10 20010db8000000000000000000000001 00 00000009 30 20010db80001  80 0f 0e 0002 01 0000000a 30 20010db80002  40 01 01 00  40 02 00', '', ''),
    msg: {
      type: 'update',
      withdrawn: [],
      withdrawnPathIds: [],
      attrs: { origin: 0, asPath: [] },
      nlri: [],
      nlriPathIds: [],
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [prefix6(parseIpv6('2001:db8:1::')!, 48)], pathIds: [9] },
      mpUnreach: { afi: 2, safi: 1, withdrawn: [prefix6(parseIpv6('2001:db8:2::')!, 48)], pathIds: [10] },
    },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const o = decodeUpdate(Buffer.from(c.hex, 'hex'), c.ctx);
    t.same(o.errors, []);
    t.equal(o.treatAsWithdraw, false);
    t.same(o.message, c.msg);
    t.equal(encodeUpdate(c.msg, c.ctx).toString('hex'), c.hex);
    t.same(decodeMessage(Buffer.from(c.hex, 'hex'), c.ctx), c.msg, 'same through decodeMessage');
  });
}

t.test('End-of-RIB (RFC 4724 §2), both families, both directions', async (t) => {
  const v4 = 'ff'.repeat(16) + '0017' + '02' + '0000' + '0000';
  t.equal(encodeEndOfRib(Family.Ipv4Unicast, C4).toString('hex'), v4);
  t.equal(decodeUpdate(Buffer.from(v4, 'hex'), C4).endOfRib, Family.Ipv4Unicast);
  const v6 = frameHex('80 0f 03 0002 01');
  t.equal(encodeEndOfRib(Family.Ipv6Unicast, C4).toString('hex'), v6);
  t.equal(decodeUpdate(Buffer.from(v6, 'hex'), C4).endOfRib, Family.Ipv6Unicast);
  t.equal(decodeUpdate(Buffer.from(v6, 'hex'), AP).endOfRib, Family.Ipv6Unicast, 'with ADD-PATH too');
  t.equal(decodeUpdate(Buffer.from(frameHex('80 0f 03 0002 01  40 01 01 00'), 'hex'), C4).endOfRib, undefined, 'not with another attribute');
  t.equal(decodeUpdate(Buffer.from(frameHex('', '', '08 0a'), 'hex'), C4).endOfRib, undefined, 'not with withdrawals');
});

t.test('treat-as-withdraw keeps the NLRI (RFC 7606 §2: they are withdrawn, not dropped)', async (t) => {
  const o = decodeUpdate(Buffer.from(frameHex('40 01 01 07  40 02 00  40 03 04 c0000201', '18 c63364'), 'hex'), C4);
  t.equal(o.treatAsWithdraw, true);
  t.same(o.message.nlri, [prefix4(0xc6336400, 24)]);
});

t.test('too-large message refused on encode', async (t) => {
  const nlri = Array.from({ length: 1100 }, (_, i) => prefix4(i << 8, 24));
  t.throws(() => encodeUpdate({ type: 'update', withdrawn: [], attrs: baseAttrs, nlri }, C4), { code: 'ERR_BGP_MESSAGE_TOO_LARGE' });
  t.doesNotThrow(() => encodeUpdate({ type: 'update', withdrawn: [], attrs: baseAttrs, nlri }, { ...C4, extendedMessage: true }));
});
