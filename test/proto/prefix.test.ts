import t from 'tap';
import {
  formatIpv4, formatIpv6, formatPrefix, parseIpv4, parseIpv6, parsePrefix, prefix4, prefix4Address,
  prefix4Length, prefix6, prefixContains, prefixContainsAddress, prefixLength, isV4,
} from '../../proto/prefix.js';

t.test('IPv4 prefixes are numbers: address*64 + length, host bits cleared', async (t) => {
  const p = prefix4(0xac124001, 26); // 172.18.64.1/26
  t.equal(p, 0xac124000 * 64 + 26);
  t.equal(prefix4Address(p), 0xac124000);
  t.equal(prefix4Length(p), 26);
  t.equal(formatPrefix(p), '172.18.64.0/26');
  t.equal(formatPrefix(prefix4(0, 0)), '0.0.0.0/0');
  t.equal(formatPrefix(prefix4(0xffffffff, 32)), '255.255.255.255/32');
  t.ok(isV4(p));
});

t.test('IPv6 prefixes are latin1 strings: length char + significant bytes', async (t) => {
  const bytes = parseIpv6('2001:db8:ffff::1')!;
  const p = prefix6(bytes, 36);
  t.equal(p.length, 1 + 5);
  t.equal(prefixLength(p), 36);
  t.equal(formatPrefix(p), '2001:db8:f000::/36');
  t.equal(formatPrefix(prefix6(new Uint8Array(16), 0)), '::/0');
  t.notOk(isV4(p));
});

t.test('address text, both ways', async (t) => {
  const v4: [string, number | null][] = [
    ['10.160.105.6', 0x0aa06906], ['0.0.0.0', 0], ['255.255.255.255', 0xffffffff],
    ['256.1.1.1', null], ['1.2.3', null], ['01.2.3.4', null], ['1.2.3.4.5', null], ['a.b.c.d', null], ['', null],
  ];
  for (const [text, n] of v4) {
    t.equal(parseIpv4(text), n, `parse ${text}`);
    if (n !== null) t.equal(formatIpv4(n), text, `format ${text}`);
  }
  const v6: [string, string | null][] = [
    ['::', '::'], ['::1', '::1'], ['2001:DB8::1', '2001:db8::1'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], [':::', null], ['1::2::3', null], ['12345::', null], ['1:2:3:4:5:6:7:8:9', null], ['g::', null],
  ];
  for (const [text, canon] of v6) {
    const b = parseIpv6(text);
    if (canon === null) t.equal(b, null, `reject ${text}`);
    else t.equal(formatIpv6(b!), canon, `RFC 5952 form of ${text}`);
  }
});

t.test('parsePrefix reports host bits and rejects nonsense', async (t) => {
  t.same(parsePrefix('172.18.64.0/18'), { prefix: prefix4(0xac124000, 18), hostBitsSet: false });
  t.equal(parsePrefix('172.18.64.1/18')!.hostBitsSet, true);
  t.equal(parsePrefix('10.0.0.1')!.prefix, prefix4(0x0a000001, 32));
  t.equal(parsePrefix('fd00::/64')!.hostBitsSet, false);
  t.equal(parsePrefix('fd00::1/64')!.hostBitsSet, true);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', 'fd00::/129', 'x/8', '']) {
    t.equal(parsePrefix(bad), null, `reject '${bad}'`);
  }
});

t.test('containment', async (t) => {
  const pool = parsePrefix('172.18.64.0/18')!.prefix;
  const cases: [string, boolean][] = [
    ['172.18.64.0/26', true], ['172.18.101.64/26', true], ['172.18.127.255/32', true], ['172.18.128.0/26', false],
    ['172.18.0.0/16', false], ['fd00::/64', false],
  ];
  for (const [inner, want] of cases) t.equal(prefixContains(pool, parsePrefix(inner)!.prefix), want, inner);
  const v6 = parsePrefix('fd00:1::/48')!.prefix;
  t.ok(prefixContains(v6, parsePrefix('fd00:1:0:2::/64')!.prefix));
  t.notOk(prefixContains(v6, parsePrefix('fd00:1:2::/64')!.prefix), 'the third group is inside the /48');
  t.notOk(prefixContains(v6, parsePrefix('fd00:2::/64')!.prefix));
  t.ok(prefixContainsAddress(pool, parseIpv4('172.18.100.1')!));
  t.notOk(prefixContainsAddress(pool, parseIpv4('172.19.0.1')!));
  t.ok(prefixContainsAddress(v6, parseIpv6('fd00:1::5')!));
});
