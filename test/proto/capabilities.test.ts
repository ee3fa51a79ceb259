// Capabilities (RFC 5492): one hex vector per variant, both ways, and the malformed lengths that
// make an OPEN Message Error / Unspecific (RFC 4271 §6.2: "recognized, but is malformed").
import t from 'tap';
import { Buffer } from 'node:buffer';
import { decodeCapabilities, encodeCapabilities, encodeCapability } from '../../proto/capabilities.js';
import { BgpError, Errors } from '../../proto/errors.js';
import { Reader } from '../../proto/reader.js';
import type { Capability } from '../../proto/types.js';
import { Writer } from '../../proto/writer.js';

function hex(text: string): Buffer {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** Decode a Capabilities parameter value given as hex. */
function decode(value: string): Capability[] {
  const b = hex(value);
  return decodeCapabilities(new Reader(b, 0, b.length, () => Errors.malformedOpen('test: parameter ran short')));
}

function encode(caps: readonly Capability[]): string {
  const w = new Writer(64);
  encodeCapabilities(w, caps);
  return w.view().toString('hex');
}

/** code | length | value, and the typed capability it is. */
const VECTORS: { what: string; wire: string; cap: Capability }[] = [
  { what: 'multiprotocol IPv4 unicast (RFC 4760 §8)', wire: '01 04 0001 00 01', cap: { type: 'multiprotocol', afi: 1, safi: 1 } },
  { what: 'multiprotocol IPv6 unicast', wire: '01 04 0002 00 01', cap: { type: 'multiprotocol', afi: 2, safi: 1 } },
  { what: 'multiprotocol L2VPN EVPN (kept as numbers)', wire: '01 04 0019 00 46', cap: { type: 'multiprotocol', afi: 25, safi: 70 } },
  { what: 'route refresh (RFC 2918)', wire: '02 00', cap: { type: 'route-refresh' } },
  { what: 'route refresh, pre-standard code 128', wire: '80 00', cap: { type: 'route-refresh-legacy' } },
  { what: 'enhanced route refresh (RFC 7313)', wire: '46 00', cap: { type: 'enhanced-route-refresh' } },
  { what: '4-octet AS 65001 (RFC 6793)', wire: '41 04 0000fde9', cap: { type: 'four-octet-as', asn: 65001 } },
  { what: '4-octet AS 4294967295', wire: '41 04 ffffffff', cap: { type: 'four-octet-as', asn: 4294967295 } },
  {
    what: 'graceful restart, no families, nothing set (RFC 4724: GR helper only)', wire: '40 02 0000',
    cap: { type: 'graceful-restart', restarting: false, notification: false, restartTimeSec: 0, families: [] },
  },
  {
    what: 'graceful restart, R bit, 4095 s, IPv4 with F bit', wire: '40 06 8fff 0001 01 80',
    cap: { type: 'graceful-restart', restarting: true, notification: false, restartTimeSec: 4095, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
  },
  {
    what: 'graceful restart, N bit (RFC 8538), 120 s, IPv4 and IPv6', wire: '40 0a 4078 0001 01 00 0002 01 80',
    cap: {
      type: 'graceful-restart', restarting: false, notification: true, restartTimeSec: 120,
      families: [{ afi: 1, safi: 1, forwardingPreserved: false }, { afi: 2, safi: 1, forwardingPreserved: true }],
    },
  },
  {
    what: 'ADD-PATH (RFC 7911): IPv4 receive, IPv6 send', wire: '45 08 0001 01 01 0002 01 02',
    cap: { type: 'add-path', families: [{ afi: 1, safi: 1, mode: 1 }, { afi: 2, safi: 1, mode: 2 }] },
  },
  {
    what: 'ADD-PATH with an undefined mode 7: kept for negotiation to ignore', wire: '45 04 0001 01 07',
    cap: { type: 'add-path', families: [{ afi: 1, safi: 1, mode: 7 }] },
  },
  { what: 'extended message (RFC 8654)', wire: '06 00', cap: { type: 'extended-message' } },
  {
    what: 'extended next hop (RFC 8950): IPv4 unicast and VPN over IPv6', wire: '05 0c 0001 0001 0002 0001 0080 0002',
    cap: { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }, { afi: 1, safi: 128, nextHopAfi: 2 }] },
  },
  {
    what: 'FQDN (code 73): hostname and domain', wire: '49 13 06 6e6f64652d31 0b 6578616d706c652e636f6d',
    cap: { type: 'fqdn', hostname: 'node-1', domain: 'example.com' },
  },
  { what: 'FQDN, both names empty', wire: '49 02 00 00', cap: { type: 'fqdn', hostname: '', domain: '' } },
  {
    what: 'FQDN, UTF-8 hostname', wire: '49 07 05 6ec3b66465 00',
    cap: { type: 'fqdn', hostname: 'n\u00f6de', domain: '' },
  },
  {
    what: 'unknown code 71 (long-lived GR) kept raw', wire: '47 07 0001 01 00 000e10',
    cap: { type: 'unknown', code: 71, value: Uint8Array.of(0, 1, 1, 0, 0, 0x0e, 0x10) },
  },
  { what: 'unknown code 255 with no value', wire: 'ff 00', cap: { type: 'unknown', code: 255, value: new Uint8Array(0) } },
];

t.test('each capability, both ways', async (t) => {
  for (const v of VECTORS) {
    t.strictSame(decode(v.wire), [v.cap], `${v.what}: decode`);
    t.equal(encode([v.cap]), hex(v.wire).toString('hex'), `${v.what}: encode`);
  }
});

t.test('a parameter carries several capabilities in order; an empty one carries none', async (t) => {
  const wire = VECTORS.map((v) => v.wire).join(' ');
  t.strictSame(decode(wire), VECTORS.map((v) => v.cap));
  t.equal(encode(VECTORS.map((v) => v.cap)), hex(wire).toString('hex'));
  t.strictSame(decode(''), []);
});

t.test('reserved bits are ignored on receipt and sent as zero', async (t) => {
  // RFC 4760 §8 Reserved octet; RFC 4724 §3 reserved restart-flag bits and per-AFI flag bits.
  t.strictSame(decode('01 04 0001 ff 01'), [{ type: 'multiprotocol', afi: 1, safi: 1 }]);
  t.strictSame(decode('40 06 3078 0001 01 7f'), [
    { type: 'graceful-restart', restarting: false, notification: false, restartTimeSec: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] },
  ]);
});

/** Every one of these is OPEN Message Error (2) / Unspecific (0) with empty Data. */
const MALFORMED: { what: string; wire: string }[] = [
  { what: 'a lone capability code, no length', wire: '02' },
  { what: 'length runs past the parameter', wire: '41 04 0000fd' },
  { what: 'second capability runs past the parameter', wire: '02 00 01 04 0001' },
  { what: 'multiprotocol of length 3', wire: '01 03 0001 01' },
  { what: 'multiprotocol of length 5', wire: '01 05 0001 00 01 00' },
  { what: 'route refresh with a value', wire: '02 01 00' },
  { what: 'route refresh (128) with a value', wire: '80 01 00' },
  { what: 'enhanced route refresh with a value', wire: '46 01 00' },
  { what: 'extended message with a value', wire: '06 01 00' },
  { what: '4-octet AS of length 2', wire: '41 02 fde9' },
  { what: 'graceful restart of length 0', wire: '40 00' },
  { what: 'graceful restart of length 1', wire: '40 01 00' },
  { what: 'graceful restart with a partial family', wire: '40 05 0078 0001 01' },
  { what: 'ADD-PATH of length 3', wire: '45 03 0001 01' },
  { what: 'ADD-PATH of length 5', wire: '45 05 0001 01 03 00' },
  { what: 'extended next hop of length 4', wire: '05 04 0001 0001' },
  { what: 'FQDN of length 0', wire: '49 00' },
  { what: 'FQDN hostname length beyond the capability', wire: '49 03 05 6162 00' },
  { what: 'FQDN without the domain length', wire: '49 03 02 6162' },
  { what: 'FQDN domain length beyond the capability', wire: '49 04 01 61 02 62' },
  { what: 'FQDN with trailing octets', wire: '49 04 00 00 00 00' },
];

t.test('malformed capabilities: OPEN Message Error / Unspecific, empty Data', async (t) => {
  for (const c of MALFORMED) {
    try {
      decode(c.wire);
      t.fail(`${c.what}: accepted`);
    } catch (e) {
      t.ok(e instanceof BgpError, `${c.what}: BgpError`);
      if (e instanceof BgpError) t.same({ code: e.code, subcode: e.subcode, data: Buffer.from(e.data).toString('hex') }, { code: 2, subcode: 0, data: '' }, c.what);
    }
  }
});

t.test('values that cannot be encoded are our own bug: RangeError', async (t) => {
  const w = new Writer(16);
  t.throws(() => encodeCapability(w, { type: 'fqdn', hostname: 'x'.repeat(256), domain: '' }), RangeError);
  const families = Array.from({ length: 64 }, (_, i) => ({ afi: 1, safi: i, mode: 3 }));
  t.throws(() => encodeCapability(new Writer(16), { type: 'add-path', families }), RangeError, '64 ADD-PATH families = 256 octets');
  t.doesNotThrow(() => encodeCapability(new Writer(16), { type: 'add-path', families: families.slice(0, 63) }), '63 families fit');
});
