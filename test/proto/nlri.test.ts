import t from 'tap';
import { Buffer } from 'node:buffer';
import { decodePrefixes4, decodePrefixes6, prefixWireLength, writePrefix } from '../../proto/nlri.js';
import { formatPrefix, parsePrefix, prefix4 } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';

function dec4(hex: string, addPath = false): { out: number[]; ids: number[]; err: string | null } {
  const b = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
  const out: number[] = [];
  const ids: number[] = [];
  return { out, ids, err: decodePrefixes4(b, 0, b.length, out, addPath ? ids : null) };
}

t.test('every IPv4 length 0..32 decodes and re-encodes', async (t) => {
  for (let len = 0; len <= 32; len++) {
    const p = prefix4(0xfffffffe, len);
    const buf = Buffer.alloc(5);
    const end = writePrefix(buf, 0, p);
    t.equal(end, prefixWireLength(p));
    const r = dec4(buf.subarray(0, end).toString('hex'));
    t.equal(r.err, null);
    t.same(r.out, [p], formatPrefix(p));
  }
});

t.test('trailing host bits are cleared (RFC 4271 §4.3: irrelevant)', async (t) => {
  t.same(dec4('17 c63365').out, [prefix4(0xc6336400, 23)]);
  t.equal(formatPrefix(dec4('01 ff').out[0]!), '128.0.0.0/1');
});

t.test('IPv4 syntax errors (RFC 7606 §5.3)', async (t) => {
  t.match(dec4('21 c0000201 00').err, /exceeds 32/);
  t.match(dec4('18 c633').err, /runs past/);
  t.match(dec4('00000001', true).err, /without a prefix/);
  t.match(dec4('000001', true).err, /truncated path identifier/);
  const r = dec4('00000005 18 c63364 ffffffff 00', true);
  t.same(r.ids, [5, 0xffffffff]);
  t.same(r.out, [prefix4(0xc6336400, 24), 0]);
});

t.test('IPv6 prefixes: lengths, masking, errors', async (t) => {
  for (const text of ['::/0', '2001:db8::/32', '2001:db8:1:2::/64', '2001:db8::1/128', 'fe80::/10', '2001:db8:2::/47']) {
    const p = parsePrefix(text)!.prefix as Prefix;
    const buf = Buffer.alloc(17);
    const end = writePrefix(buf, 0, p);
    const out: string[] = [];
    t.equal(decodePrefixes6(buf, 0, end, out, null), null);
    t.equal(formatPrefix(out[0]!), text);
  }
  const b = Buffer.from('0bffff', 'hex'); // /11 with host bits set
  const out: string[] = [];
  t.equal(decodePrefixes6(b, 0, b.length, out, null), null);
  t.equal(formatPrefix(out[0]!), 'ffe0::/11');
  t.match(decodePrefixes6(Buffer.from('81' + '00'.repeat(17), 'hex'), 0, 18, [], null), /exceeds 128/);
  t.match(decodePrefixes6(Buffer.from('40 2001'.replace(' ', ''), 'hex'), 0, 3, [], null), /runs past/);
});
