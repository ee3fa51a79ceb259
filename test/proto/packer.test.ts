/** The UPDATE packer at its exact size boundaries (GoBGP #2629, rustbgpd PR #835). */
import t from 'tap';
import type { Buffer } from 'node:buffer';
import { EncodeError } from '../../proto/attributes.js';
import { encodeEndOfRib, packUpdates } from '../../proto/packer.js';
import { decodeUpdate, encodeAttributeBlock } from '../../proto/update.js';
import { Family } from '../../proto/types.js';
import type { CodecContext, PathAttributes } from '../../proto/types.js';
import { prefix4 } from '../../proto/prefix.js';

const C: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const X: CodecContext = { ...C, extendedMessage: true };
const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: 0xc0000201 };
const s24 = (n: number): number[] => Array.from({ length: n }, (_, i) => prefix4((10 << 24) + (i << 8), 24));

function pack(ctx: CodecContext, prefixes: number[], withdrawn: number[] = [], a: PathAttributes = attrs): Buffer[] {
  const out: Buffer[] = [];
  packUpdates(Family.Ipv4Unicast, withdrawn, [{ attrs: a, prefixes }], ctx, (b) => out.push(b));
  return out;
}

t.test('attribute block of the fixture is 20 octets', async (t) => {
  t.equal(encodeAttributeBlock({ attrs }, C).length, 20);
});

for (const [ctx, max, n24] of [[C, 4096, 1013], [X, 65535, 16373]] as const) {
  t.test(`exactly ${max} octets: one message; one octet more: two`, async (t) => {
    // 23 header/length octets + 20 attribute octets + prefixes.
    const fill = max === 4096 ? [...s24(n24), prefix4(0, 0)] : s24(n24);
    const one = pack(ctx, fill);
    t.equal(one.length, 1);
    t.equal(one[0]!.length, max);
    t.same(decodeUpdate(one[0]!, ctx).message.nlri, fill);
    const two = pack(ctx, [...fill, prefix4(0, 0)]);
    t.equal(two.length, 2);
    t.equal(two[0]!.length, max);
    t.equal(two[1]!.length, 23 + 20 + 1);
  });
  t.test(`withdrawals fill exactly ${max} octets and go first`, async (t) => {
    const n = Math.floor((max - 23) / 4);
    const rest = max - 23 - n * 4;
    const wd = [...s24(n), ...Array.from({ length: rest }, () => prefix4(0, 0))];
    const out = pack(ctx, s24(3), [...wd, prefix4(0, 0)]);
    t.equal(out.length, 3);
    t.equal(out[0]!.length, max);
    t.same(decodeUpdate(out[0]!, ctx).message.withdrawn, wd);
    t.same(decodeUpdate(out[1]!, ctx).message.withdrawn, [prefix4(0, 0)]);
    t.same(decodeUpdate(out[2]!, ctx).message.nlri, s24(3));
  });
}

t.test('GoBGP #2629: 2000 communities do not fit 4096; the rest is still sent, then a typed error', async (t) => {
  const big: PathAttributes = { ...attrs, communities: Array.from({ length: 2000 }, (_, i) => i) };
  const out: Buffer[] = [];
  const err = t.throws(() =>
    packUpdates(Family.Ipv4Unicast, [prefix4(1 << 24, 8)], [{ attrs, prefixes: s24(2) }, { attrs: big, prefixes: s24(5) }, { attrs, prefixes: s24(1) }], C, (b) => out.push(b)),
  ) as EncodeError;
  t.ok(err instanceof EncodeError);
  t.equal(err.code, 'ERR_BGP_ATTRS_TOO_LARGE');
  t.same(err.groups, [1]);
  t.equal(out.length, 3, 'withdrawal + the two groups that fit');
  const ext: Buffer[] = [];
  packUpdates(Family.Ipv4Unicast, [], [{ attrs: big, prefixes: s24(5) }], X, (b) => ext.push(b));
  t.equal(ext.length, 1, 'fits with RFC 8654 Extended Message');
  t.same(decodeUpdate(ext[0]!, X).message.attrs?.communities?.length, 2000);
});

t.test('attributes leaving room for exactly one /24: one prefix per message', async (t) => {
  let found = false;
  for (let c = 900; c < 1100 && !found; c++) {
    const a: PathAttributes = { ...attrs, communities: Array.from({ length: c }, (_, i) => i) };
    const room = 4096 - 23 - encodeAttributeBlock({ attrs: a }, C).length;
    if (room < 4 || room >= 8) continue;
    found = true;
    const out = pack(C, s24(3), [], a);
    t.equal(out.length, 3);
    for (const b of out) t.equal(b.length, 4096 - (room - 4), `room ${room}: one /24 per message`);
  }
  t.ok(found);
});

t.test('IPv6 and End-of-RIB', async (t) => {
  const out: Buffer[] = [];
  packUpdates(Family.Ipv6Unicast, [], [{ attrs: { origin: 0, asPath: [], nextHop: 1 }, nextHop: '2001:db8::1', prefixes: ['\x20\x20\x01\x0d\xb8'] }], C, (b) => out.push(b));
  const o = decodeUpdate(out[0]!, C);
  t.same(o.errors, []);
  t.equal(o.message.attrs?.nextHop, undefined, 'no NEXT_HOP attribute with MP_REACH_NLRI only');
  t.same(o.message.mpReach?.nlri, ['\x20\x20\x01\x0d\xb8']);
  t.equal(decodeUpdate(encodeEndOfRib(Family.Ipv6Unicast, C), C).endOfRib, Family.Ipv6Unicast);
  t.equal(decodeUpdate(encodeEndOfRib(Family.Ipv4Unicast, C), C).endOfRib, Family.Ipv4Unicast);
});
