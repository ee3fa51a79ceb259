// OPEN (RFC 4271 §4.2, RFC 5492, RFC 9072): malformed OPENs with their exact NOTIFICATION, the
// extended optional parameters format in both directions, and the makeOpen/openAsn helpers.
// The well-formed wire vectors (including real BIRD 2, GoBGP and FRR OPENs) are the fixtures
// checked both ways in messages.test.ts.
import t from 'tap';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { AS_TRANS } from '../../proto/constants.js';
import { BgpError } from '../../proto/errors.js';
import { decodeMessage } from '../../proto/messages.js';
import { decodeOpen, encodeOpen, makeOpen, openAsn, openCapabilities } from '../../proto/open.js';
import { DEFAULT_CONTEXT } from '../../proto/types.js';
import type { Capability, OpenMessage } from '../../proto/types.js';

function hex(text: string): Buffer {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** A whole OPEN frame around `body` (everything after the Type octet), with a correct Length. */
function open(body: string): Buffer {
  const b = hex(body);
  const len = 19 + b.length;
  return Buffer.concat([Buffer.alloc(16, 0xff), Buffer.of(len >> 8, len & 0xff, 1), b]);
}

/** version 4, AS 65001, hold 90, id 10.0.0.1: the fixed part every case below starts with. */
const FIXED = '04 fde9 005a 0a000001';

/** Each malformed OPEN with the NOTIFICATION it must produce: code, subcode, Data as hex. */
const MALFORMED: { what: string; body: string; code: number; subcode: number; data: string }[] = [
  { what: 'version 3: Unsupported Version Number, Data = 2-octet 4 (RFC 4271 §6.2)', body: '03 fde9 005a 0a000001 00', code: 2, subcode: 1, data: '0004' },
  { what: 'version 5 with a broken rest: the version is checked first', body: '05 fde9 005a 0a000001 ff', code: 2, subcode: 1, data: '0004' },
  { what: 'optional parameters length beyond the message', body: `${FIXED} 03 02 00`, code: 2, subcode: 0, data: '' },
  { what: 'optional parameters length short of the message (trailing octets)', body: `${FIXED} 02 02 00 00`, code: 2, subcode: 0, data: '' },
  { what: 'parameter length beyond the parameters', body: `${FIXED} 03 02 02 02`, code: 2, subcode: 0, data: '' },
  { what: 'a lone parameter type', body: `${FIXED} 01 02`, code: 2, subcode: 0, data: '' },
  { what: 'capability overrunning its parameter', body: `${FIXED} 06 02 04 41 04 0000`, code: 2, subcode: 0, data: '' },
  { what: 'malformed capability inside a good parameter', body: `${FIXED} 05 02 03 41 01 00`, code: 2, subcode: 0, data: '' },
  { what: 'parameter type 1 (Authentication, deprecated): Unsupported Optional Parameter', body: `${FIXED} 04 01 02 abcd`, code: 2, subcode: 4, data: '' },
  { what: 'parameter type 3 after a good Capabilities parameter', body: `${FIXED} 06 02 02 02 00 03 00`, code: 2, subcode: 4, data: '' },
  {
    what: 'CVE-2022-40302: extended format announced, message ends after the marker type',
    body: `${FIXED} ff ff`, code: 2, subcode: 0, data: '',
  },
  {
    what: 'CVE-2022-40302: extended format announced, one octet of the 2-octet length',
    body: `${FIXED} ff ff 00`, code: 2, subcode: 0, data: '',
  },
  { what: 'Non-Ext OP Len 255 and nothing after it', body: `${FIXED} ff`, code: 2, subcode: 0, data: '' },
  { what: 'extended length beyond the message', body: `${FIXED} ff ff 0006 02 0002 0200`, code: 2, subcode: 0, data: '' },
  { what: 'extended length short of the message', body: `${FIXED} ff ff 0004 02 0002 0200`, code: 2, subcode: 0, data: '' },
  { what: 'extended parameter header cut short', body: `${FIXED} ff ff 0002 02 00`, code: 2, subcode: 0, data: '' },
  { what: 'extended parameter length beyond the parameters', body: `${FIXED} ff ff 0005 02 0003 0200`, code: 2, subcode: 0, data: '' },
  { what: 'extended format, unsupported parameter type', body: `${FIXED} ff ff 0003 01 0000`, code: 2, subcode: 4, data: '' },
];

t.test('malformed OPENs: exact code, subcode and Data', async (t) => {
  for (const c of MALFORMED) {
    try {
      decodeMessage(open(c.body), DEFAULT_CONTEXT);
      t.fail(`${c.what}: accepted`);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      t.same({ code: e.code, subcode: e.subcode, data: Buffer.from(e.data).toString('hex') }, { code: c.code, subcode: c.subcode, data: c.data }, c.what);
    }
  }
});

t.test('decodeOpen alone never reads past a frame shorter than the OPEN minimum', async (t) => {
  // decodeMessage rejects this at the header; decodeOpen must still fail cleanly if called directly.
  const frame = open('04 fde9 00');
  t.throws(() => decodeOpen(frame), BgpError);
});

t.test('RFC 9072: a Non-Ext OP Len other than 255 followed by type 255 also selects the extended format', async (t) => {
  // §2: the octet after a non-zero Non-Ext OP Len decides; the length octet's own value is not used.
  const m = decodeOpen(open(`${FIXED} 01 ff 0005 02 0002 0200`));
  t.strictSame(m.params, [{ type: 'capabilities', capabilities: [{ type: 'route-refresh' }] }]);
  t.equal(m.extendedParams, true);
});

t.test('encode switches to the RFC 9072 format when a length exceeds one octet', async (t) => {
  // 50 multiprotocol capabilities: 300 octets in one Capabilities parameter.
  const capabilities: Capability[] = Array.from({ length: 50 }, (_, i) => ({ type: 'multiprotocol', afi: 1, safi: i + 1 }));
  const msg = makeOpen({ asn: 65001, holdTimeSec: 90, bgpId: 0x0a000001, capabilities });
  const wire = encodeOpen(msg);
  t.equal(wire.length, 19 + 9 + 1 + 1 + 2 + 3 + 300);
  t.equal(wire.subarray(28, 35).toString('hex'), 'ffff012f02012c', 'Non-Ext 255/255, length 303, Capabilities with length 300');
  t.strictSame(decodeOpen(wire), { ...msg, extendedParams: true }, 'decodes back, flagged extended');

  // Many small parameters whose total exceeds 255 need it too.
  const many: OpenMessage = {
    type: 'open', version: 4, myAs: 65001, holdTimeSec: 90, bgpId: 1,
    params: capabilities.map((c) => ({ type: 'capabilities', capabilities: [c] })),
  };
  t.strictSame(decodeOpen(encodeOpen(many)), { ...many, extendedParams: true });
});

t.test('extendedParams forces the extended format even when everything fits', async (t) => {
  const msg = makeOpen({ asn: 65001, holdTimeSec: 90, bgpId: 0x0a000001, capabilities: [{ type: 'route-refresh' }], extendedParams: true });
  t.equal(encodeOpen(msg).subarray(19).toString('hex'), `${hex(FIXED).toString('hex')}ffff0005020002` + '0200');
  const none = makeOpen({ asn: 65001, holdTimeSec: 90, bgpId: 0x0a000001, capabilities: [], extendedParams: true });
  t.strictSame(decodeOpen(encodeOpen(none)), none, 'no parameters, extended format, round trip');
});

t.test('an OPEN over 4096 octets cannot be sent, extended messages or not (RFC 8654 §4)', async (t) => {
  const big: Capability = { type: 'unknown', code: 200, value: new Uint8Array(255) };
  const msg = makeOpen({ asn: 65001, holdTimeSec: 90, bgpId: 1, capabilities: Array.from({ length: 16 }, () => big) });
  t.throws(() => encodeOpen(msg), RangeError);
  t.throws(() => encodeOpen({ ...msg, myAs: 70000 }), RangeError, 'My AS above 65535');
});

t.test('makeOpen: one Capabilities parameter, AS_TRANS for a 4-octet AS (RFC 6793 §3)', async (t) => {
  const capabilities: Capability[] = [{ type: 'multiprotocol', afi: 1, safi: 1 }, { type: 'four-octet-as', asn: 4200000001 }];
  t.strictSame(makeOpen({ asn: 4200000001, holdTimeSec: 90, bgpId: 0xc0000201, capabilities }), {
    type: 'open', version: 4, myAs: AS_TRANS, holdTimeSec: 90, bgpId: 0xc0000201,
    params: [{ type: 'capabilities', capabilities }],
  });
  t.equal(makeOpen({ asn: 65535, holdTimeSec: 90, bgpId: 1, capabilities }).myAs, 65535, '65535 still fits');
  t.strictSame(makeOpen({ asn: 65001, holdTimeSec: 0, bgpId: 1, capabilities: [] }).params, [], 'no capabilities, no parameter');
});

t.test('openCapabilities flattens every parameter; openAsn prefers the 4-octet AS capability', async (t) => {
  const multi: OpenMessage = {
    type: 'open', version: 4, myAs: AS_TRANS, holdTimeSec: 90, bgpId: 1,
    params: [
      { type: 'capabilities', capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }] },
      { type: 'unknown', code: 9, value: new Uint8Array(0) },
      { type: 'capabilities', capabilities: [{ type: 'route-refresh' }, { type: 'four-octet-as', asn: 4200000001 }] },
    ],
  };
  t.strictSame(openCapabilities(multi), [
    { type: 'multiprotocol', afi: 1, safi: 1 }, { type: 'route-refresh' }, { type: 'four-octet-as', asn: 4200000001 },
  ]);
  t.equal(openAsn(multi), 4200000001);
  t.equal(openAsn({ ...multi, myAs: 65001, params: [] }), 65001, 'no capability: My AS');
});

t.test('openAsn and openCapabilities on the real OPENs of BIRD, GoBGP and FRR', async (t) => {
  const real = (name: string): OpenMessage => decodeOpen(hex(readFileSync(new URL(`../fixtures/messages/${name}.hex`, import.meta.url), 'utf8')));
  const bird = real('open-bird2');
  t.equal(bird.myAs, AS_TRANS);
  t.equal(openAsn(bird), 4200000001, 'BIRD: AS_TRANS in My AS, the real AS in the capability');
  t.equal(openAsn(real('open-gobgp')), 65001);
  const frr = real('open-frr8');
  t.equal(frr.params.length, 11, 'FRR: one parameter per capability');
  t.same(openCapabilities(frr).map((c) => c.type), [
    'multiprotocol', 'multiprotocol', 'route-refresh-legacy', 'route-refresh', 'enhanced-route-refresh', 'four-octet-as',
    'extended-message', 'add-path', 'fqdn', 'graceful-restart', 'unknown',
  ]);
  t.equal(openAsn(frr), 65005);
});
