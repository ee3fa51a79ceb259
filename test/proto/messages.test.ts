// Every message fixture both ways through the top-level dispatcher, the RFC 4271 §6.1 header
// checks with their exact Data, ROUTE-REFRESH errors (RFC 7313 §5), and the decoder's contract:
// it returns or throws a BgpError, nothing else, on any input.
import t from 'tap';
import type { Test } from 'tap';
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { BgpError } from '../../proto/errors.js';
import { KEEPALIVE, decodeMessage, encodeMessage, peekType } from '../../proto/messages.js';
import { DEFAULT_CONTEXT } from '../../proto/types.js';
import type { CodecContext, Message } from '../../proto/types.js';

const FIXTURES = new URL('../fixtures/messages/', import.meta.url);

/** Hex with whitespace and `#` comments, strictly (Buffer.from would stop silently at a typo). */
function hex(text: string): Buffer {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}
function fixture(name: string): Buffer {
  return hex(readFileSync(new URL(`${name}.hex`, FIXTURES), 'utf8'));
}
const M = 'ffffffffffffffffffffffffffffffff';
const ctx = DEFAULT_CONTEXT;
const extCtx: CodecContext = { ...DEFAULT_CONTEXT, extendedMessage: true };

/** Fixture name -> the typed message it must decode to (and encode from, byte for byte). */
const VECTORS: Record<string, Message> = {
  keepalive: { type: 'keepalive' },
  'open-minimal': { type: 'open', version: 4, myAs: 65001, holdTimeSec: 180, bgpId: 0xc0000201, params: [] },
  'open-all-capabilities': {
    type: 'open', version: 4, myAs: 23456, holdTimeSec: 180, bgpId: 0x0a000001,
    params: [{
      type: 'capabilities',
      capabilities: [
        { type: 'multiprotocol', afi: 1, safi: 1 },
        { type: 'multiprotocol', afi: 2, safi: 1 },
        { type: 'route-refresh' },
        { type: 'route-refresh-legacy' },
        { type: 'enhanced-route-refresh' },
        { type: 'four-octet-as', asn: 4259840001 },
        {
          type: 'graceful-restart', restarting: true, notification: true, restartTimeSec: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: false }],
        },
        { type: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] },
        { type: 'extended-message' },
        { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
        { type: 'fqdn', hostname: 'node', domain: 'local' },
        { type: 'unknown', code: 71, value: Uint8Array.of(0x00, 0x01, 0x01, 0x00, 0x00, 0x0e, 0x10) },
      ],
    }],
  },
  'open-bird2': {
    type: 'open', version: 4, myAs: 23456, holdTimeSec: 90, bgpId: 0xc0000201,
    params: [{
      type: 'capabilities',
      capabilities: [
        { type: 'multiprotocol', afi: 1, safi: 1 },
        { type: 'multiprotocol', afi: 2, safi: 1 },
        { type: 'route-refresh' },
        { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
        { type: 'extended-message' },
        {
          type: 'graceful-restart', restarting: false, notification: false, restartTimeSec: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: false }, { afi: 2, safi: 1, forwardingPreserved: false }],
        },
        { type: 'four-octet-as', asn: 4200000001 },
        { type: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] },
        { type: 'enhanced-route-refresh' },
        { type: 'unknown', code: 71, value: new Uint8Array(0) },
        { type: 'fqdn', hostname: 'bird-host.example.net', domain: '' },
      ],
    }],
  },
  'open-gobgp': {
    type: 'open', version: 4, myAs: 65001, holdTimeSec: 90, bgpId: 0xc0000202,
    params: [{
      type: 'capabilities',
      capabilities: [
        { type: 'route-refresh' },
        { type: 'fqdn', hostname: 'vm', domain: '' },
        { type: 'multiprotocol', afi: 1, safi: 1 },
        { type: 'multiprotocol', afi: 2, safi: 1 },
        { type: 'four-octet-as', asn: 65001 },
        {
          type: 'graceful-restart', restarting: false, notification: true, restartTimeSec: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: false }],
        },
        { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
        { type: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }] },
      ],
    }],
  },
  'open-frr8': {
    type: 'open', version: 4, myAs: 65005, holdTimeSec: 180, bgpId: 0xc0000205,
    params: [
      { type: 'capabilities', capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }] },
      { type: 'capabilities', capabilities: [{ type: 'multiprotocol', afi: 2, safi: 1 }] },
      { type: 'capabilities', capabilities: [{ type: 'route-refresh-legacy' }] },
      { type: 'capabilities', capabilities: [{ type: 'route-refresh' }] },
      { type: 'capabilities', capabilities: [{ type: 'enhanced-route-refresh' }] },
      { type: 'capabilities', capabilities: [{ type: 'four-octet-as', asn: 65005 }] },
      { type: 'capabilities', capabilities: [{ type: 'extended-message' }] },
      { type: 'capabilities', capabilities: [{ type: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 3 }] }] },
      { type: 'capabilities', capabilities: [{ type: 'fqdn', hostname: 'frr-node', domain: '' }] },
      {
        type: 'capabilities',
        capabilities: [{
          type: 'graceful-restart', restarting: true, notification: true, restartTimeSec: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: false }, { afi: 2, safi: 1, forwardingPreserved: false }],
        }],
      },
      {
        type: 'capabilities',
        capabilities: [{ type: 'unknown', code: 71, value: Uint8Array.of(0, 1, 1, 0x80, 0, 0, 0, 0, 2, 1, 0x80, 0, 0, 0) }],
      },
    ],
  },
  'open-multi-params': {
    type: 'open', version: 4, myAs: 65001, holdTimeSec: 90, bgpId: 0x0a000002,
    params: [
      { type: 'capabilities', capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }] },
      { type: 'capabilities', capabilities: [{ type: 'route-refresh' }] },
      { type: 'capabilities', capabilities: [{ type: 'four-octet-as', asn: 65001 }] },
    ],
  },
  'open-extended-params': {
    type: 'open', version: 4, myAs: 65001, holdTimeSec: 90, bgpId: 0x0a000003, extendedParams: true,
    params: [{
      type: 'capabilities',
      capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }, { type: 'route-refresh' }, { type: 'four-octet-as', asn: 65001 }],
    }],
  },
  'notification-cease-shutdown': {
    type: 'notification', code: 6, subcode: 2,
    data: Uint8Array.from(Buffer.concat([Buffer.of(41), Buffer.from('planned maintenance \u2014 back at 14:00 UTC')])),
  },
  'notification-hold-timer': { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) },
  'notification-unsupported-version': { type: 'notification', code: 2, subcode: 1, data: Uint8Array.of(0, 4) },
  'notification-bad-message-length': { type: 'notification', code: 1, subcode: 2, data: Uint8Array.of(0x10, 0x01) },
  'notification-attribute-length': { type: 'notification', code: 3, subcode: 5, data: Uint8Array.of(0x40, 0x01, 0x02, 0, 0) },
  'route-refresh': { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 },
  'route-refresh-borr': { type: 'route-refresh', afi: 2, safi: 1, subtype: 1 },
  'route-refresh-eorr': { type: 'route-refresh', afi: 2, safi: 1, subtype: 2 },
  'update-end-of-rib-ipv4': { type: 'update', withdrawn: [], attrs: null, nlri: [] },
};

/** Run `fn`, which must throw a BgpError; return its NOTIFICATION fields with Data as hex. */
function notificationOf(t: Test, fn: () => unknown): { code: number; subcode: number; data: string } | undefined {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BgpError)) {
      t.fail(`threw ${String(e)} instead of a BgpError`);
      return undefined;
    }
    return { code: e.code, subcode: e.subcode, data: Buffer.from(e.data).toString('hex') };
  }
  t.fail('did not throw');
  return undefined;
}

t.test('every fixture decodes to its typed value and encodes back to the same octets', async (t) => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.hex')).map((f) => f.slice(0, -4)).sort();
  t.strictSame(files, Object.keys(VECTORS).sort(), 'every fixture file has a vector and vice versa');
  for (const [name, expected] of Object.entries(VECTORS)) {
    const wire = fixture(name);
    t.strictSame(decodeMessage(wire, ctx), expected, `${name}: decode`);
    t.equal(encodeMessage(expected, ctx).toString('hex'), wire.toString('hex'), `${name}: encode`);
  }
});

t.test('peekType reads the Type octet without validating', async (t) => {
  t.equal(peekType(fixture('open-minimal')), 1);
  t.equal(peekType(fixture('update-end-of-rib-ipv4')), 2);
  t.equal(peekType(fixture('notification-hold-timer')), 3);
  t.equal(peekType(KEEPALIVE), 4);
  t.equal(peekType(fixture('route-refresh')), 5);
  t.equal(peekType(Buffer.alloc(18)), -1, 'no Type octet in 18 octets');
});

t.test('KEEPALIVE is the 19-octet header alone (RFC 4271 §4.4)', async (t) => {
  t.equal(KEEPALIVE.toString('hex'), `${M}001304`);
  t.equal(encodeMessage({ type: 'keepalive' }, ctx), KEEPALIVE);
});

/**
 * RFC 4271 §6.1 header errors. Data: Bad Message Length carries the Length field, Bad Message Type
 * the Type field, Connection Not Synchronized nothing.
 */
const HEADER_ERRORS: { what: string; wire: string; ctx?: CodecContext; code: number; subcode: number; data: string }[] = [
  { what: 'marker with one bit clear', wire: `ffffffffffffffffffffffffffff7fff001304`, code: 1, subcode: 1, data: '' },
  { what: 'marker of zeros (pre-RFC 4271 authentication)', wire: `${'00'.repeat(16)}001304`, code: 1, subcode: 1, data: '' },
  { what: 'length 18, below the header', wire: `${M}001204`, code: 1, subcode: 2, data: '0012' },
  { what: 'length 0', wire: `${M}000004`, code: 1, subcode: 2, data: '0000' },
  { what: 'KEEPALIVE of length 20', wire: `${M}00140400`, code: 1, subcode: 2, data: '0014' },
  { what: 'OPEN of length 28, below its 29-octet minimum', wire: `${M}001c01${'00'.repeat(9)}`, code: 1, subcode: 2, data: '001c' },
  { what: 'UPDATE of length 22, below 23', wire: `${M}001602000000`, code: 1, subcode: 2, data: '0016' },
  { what: 'NOTIFICATION of length 20, below 21', wire: `${M}00140306`, code: 1, subcode: 2, data: '0014' },
  { what: 'NOTIFICATION of 4097 without extended messages', wire: `${M}1001030600${'00'.repeat(4076)}`, code: 1, subcode: 2, data: '1001' },
  { what: 'UPDATE of 65535 without extended messages', wire: `${M}ffff02${'00'.repeat(65516)}`, code: 1, subcode: 2, data: 'ffff' },
  {
    what: 'OPEN of 4097 even with extended messages (RFC 8654 §4)', ctx: extCtx,
    wire: `${M}100101${'00'.repeat(4078)}`, code: 1, subcode: 2, data: '1001',
  },
  { what: 'KEEPALIVE of 4097 even with extended messages', ctx: extCtx, wire: `${M}100104${'00'.repeat(4078)}`, code: 1, subcode: 2, data: '1001' },
  { what: 'type 0', wire: `${M}001300`, code: 1, subcode: 3, data: '00' },
  { what: 'type 6', wire: `${M}001306`, code: 1, subcode: 3, data: '06' },
  { what: 'type 255', wire: `${M}0013ff`, code: 1, subcode: 3, data: 'ff' },
  { what: 'frame shorter than a header (a caller passing a partial buffer)', wire: `${M}00`, code: 1, subcode: 2, data: '0011' },
  { what: 'Length field 19 but 20 octets given', wire: `${M}00130400`, code: 1, subcode: 2, data: '0013' },
];

t.test('header errors carry the exact code, subcode and Data (RFC 4271 §6.1)', async (t) => {
  for (const c of HEADER_ERRORS) {
    t.same(notificationOf(t, () => decodeMessage(hex(c.wire), c.ctx ?? ctx)), { code: c.code, subcode: c.subcode, data: c.data }, c.what);
  }
});

t.test('extended messages (RFC 8654): a 65535-octet NOTIFICATION is accepted once negotiated', async (t) => {
  const data = Buffer.alloc(65535 - 21, 0xab);
  const wire = hex(`${M}ffff03 0301`);
  const frame = Buffer.concat([wire, data]);
  const n = decodeMessage(frame, extCtx);
  t.equal(n.type, 'notification');
  if (n.type === 'notification') t.equal(n.data.length, 65514);
  t.equal(encodeMessage(n, extCtx).toString('hex'), frame.toString('hex'), 'and encodes back');
});

t.test('ROUTE-REFRESH of the wrong length: Invalid Message Length, Data = the whole message (RFC 7313 §5)', async (t) => {
  const cases = [
    { what: 'BoRR one octet long', wire: `${M}00180500020101ff` },
    { what: 'EoRR one octet short', wire: `${M}0016050002 02` },
    { what: 'normal request with trailing (ORF) octets, ORF never negotiated', wire: `${M}001a05 0001 00 01 010203` },
    { what: 'header only', wire: `${M}001305` },
  ];
  for (const c of cases) {
    const wire = hex(c.wire);
    t.same(notificationOf(t, () => decodeMessage(wire, ctx)), { code: 7, subcode: 1, data: wire.toString('hex') }, c.what);
  }
  t.strictSame(decodeMessage(hex(`${M}0017050001 07 01`), ctx), { type: 'route-refresh', afi: 1, safi: 1, subtype: 7 },
    'an unknown subtype decodes; RFC 7313 §5 has the session ignore it');
});

t.test('the decoder returns or throws BgpError on any mutation of any fixture', async (t) => {
  // xorshift32, seeded: the same inputs on every run, so a failure is reproducible by its index.
  let s = 0x9e3779b9;
  const rnd = (n: number): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s % n;
  };
  const names = Object.keys(VECTORS);
  let returned = 0;
  let thrown = 0;
  for (let i = 0; i < 20000; i++) {
    const base = fixture(names[rnd(names.length)]!);
    const m = Buffer.from(base);
    const flips = 1 + rnd(4);
    for (let k = 0; k < flips; k++) {
      // Mostly hit the body and the length/type octets, sometimes the marker.
      const at = rnd(10) === 0 ? rnd(m.length) : 16 + rnd(m.length - 16);
      m[at] = rnd(256);
    }
    const cut = rnd(3) === 0 ? rnd(m.length + 1) : m.length;
    const input = m.subarray(0, cut);
    try {
      decodeMessage(input, rnd(2) === 0 ? ctx : extCtx);
      returned++;
    } catch (e) {
      if (!(e instanceof BgpError)) {
        t.fail(`mutation ${i} (${input.toString('hex')}) threw ${String(e)}`);
        return;
      }
      thrown++;
    }
  }
  t.ok(returned > 0 && thrown > 0, `${returned} decoded, ${thrown} rejected with BgpError`);
});
