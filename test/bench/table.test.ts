// The benchmark feeder's table generator: deterministic, distinct, martian-free prefixes with a
// realistic length mix, K attribute sets of the promised shape, and UPDATEs that decode back to
// exactly the table (then End-of-RIB).
import t from 'tap';
import { genTable, encodeAnnouncements, encodeWithdrawals, nthSlash26, simpleGroup } from '../../bench/lib/table.js';
import { decodeUpdate } from '../../proto/update.js';
import { Framer } from '../../proto/framer.js';
import { prefix4Address, prefix4Length, prefix6Bytes, prefix6Length } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';
import type { CodecContext } from '../../proto/types.js';
import { AsPathSegmentType } from '../../proto/constants.js';

const ctx: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };

t.test('deterministic per seed, distinct prefixes, no martians', async (t) => {
  const a = genTable({ seed: 7, v4: 20_000, v6: 2_000, attrSets: 1_000, firstAs: 65001, avoidAs: [65000] });
  const b = genTable({ seed: 7, v4: 20_000, v6: 2_000, attrSets: 1_000, firstAs: 65001, avoidAs: [65000] });
  t.same(a.v4.prefixes, b.v4.prefixes, 'same seed, same v4 table');
  t.same(a.v6.prefixes, b.v6.prefixes, 'same seed, same v6 table');
  t.equal(new Set(a.v4.prefixes).size, 20_000);
  t.equal(new Set(a.v6.prefixes).size, 2_000);
  let bad = 0;
  const lens = new Map<number, number>();
  for (const p of a.v4.prefixes) {
    const o = prefix4Address(p) >>> 24;
    if (o === 0 || o === 10 || o === 127 || o >= 224) bad++;
    lens.set(prefix4Length(p), (lens.get(prefix4Length(p)) ?? 0) + 1);
  }
  t.equal(bad, 0, 'no 0/8, 10/8, 127/8 or class D/E');
  const share24 = (lens.get(24) ?? 0) / 20_000;
  t.ok(share24 > 0.5 && share24 < 0.66, `mostly /24 (${share24.toFixed(2)})`);
  t.ok(a.v6.prefixes.every((p) => (prefix6Bytes(p)[0]! & 0xe0) === 0x20 && prefix6Length(p) <= 64), 'IPv6 inside 2000::/3, /64 or shorter');
});

t.test('attribute sets: at most K, AS paths of 1-5 starting with the feeder AS, MED and communities on some', async (t) => {
  const tb = genTable({ seed: 3, v4: 50_000, attrSets: 2_000, firstAs: 65001, avoidAs: [65000] });
  t.ok(tb.v4.groups.length <= 2_000 && tb.v4.groups.length > 1_500, `${tb.v4.groups.length} sets used`);
  t.equal(tb.v4.groups.reduce((n, g) => n + g.prefixes.length, 0), 50_000, 'every prefix in one group');
  let med = 0;
  let comm = 0;
  for (const g of tb.v4.groups) {
    const path = g.attrs.asPath ?? [];
    const seg = path[0]!;
    if (path.length !== 1 || seg.type !== AsPathSegmentType.Sequence || seg.asns[0] !== 65001 || seg.asns.length < 1 || seg.asns.length > 5 || seg.asns.includes(65000)) {
      t.fail(`bad AS path ${JSON.stringify(seg)}`);
    }
    if (g.attrs.med !== undefined) med++;
    if (g.attrs.communities !== undefined) comm++;
  }
  const n = tb.v4.groups.length;
  t.ok(med / n > 0.2 && med / n < 0.4, `MED on ${((med / n) * 100).toFixed(0)}%`);
  t.ok(comm / n > 0.3 && comm / n < 0.5, `communities on ${((comm / n) * 100).toFixed(0)}%`);
});

function decodeAll(chunks: readonly Buffer[]): { nlri: Prefix[]; withdrawn: Prefix[]; eor: number; nextHops: Set<unknown> } {
  const f = new Framer();
  const nlri: Prefix[] = [];
  const withdrawn: Prefix[] = [];
  const nextHops = new Set<unknown>();
  let eor = 0;
  for (const c of chunks) {
    f.push(c);
    for (let m = f.next(); m !== null; m = f.next()) {
      const o = decodeUpdate(m, ctx);
      if (o.endOfRib !== undefined) eor++;
      nlri.push(...o.message.nlri, ...(o.message.mpReach?.nlri ?? []));
      withdrawn.push(...o.message.withdrawn, ...(o.message.mpUnreach?.withdrawn ?? []));
      if (o.message.attrs?.nextHop !== undefined) nextHops.add(o.message.attrs.nextHop);
      if (o.message.mpReach !== undefined) nextHops.add(o.message.mpReach.nextHop);
    }
  }
  return { nlri, withdrawn, eor, nextHops };
}

t.test('encoded announcements and withdrawals decode back to the table', async (t) => {
  const tb = genTable({ seed: 11, v4: 30_000, v6: 3_000, attrSets: 500, firstAs: 65001 });
  const a4 = decodeAll(encodeAnnouncements(tb.v4, 0x0a000002, ctx).chunks);
  t.same(new Set(a4.nlri), new Set(tb.v4.prefixes));
  t.equal(a4.nlri.length, 30_000);
  t.equal(a4.eor, 1, 'End-of-RIB last');
  t.same([...a4.nextHops], [0x0a000002], 'next hop is the feeder');
  const a6 = decodeAll(encodeAnnouncements(tb.v6, 'fd00::2', ctx).chunks);
  t.equal(a6.nlri.length, 3_000);
  t.same(new Set(a6.nlri), new Set(tb.v6.prefixes));
  t.equal(a6.eor, 1);
  const w4 = decodeAll(encodeWithdrawals(tb.v4, ctx).chunks);
  t.same(new Set(w4.withdrawn), new Set(tb.v4.prefixes));
  t.equal(w4.nlri.length, 0);
});

t.test('mesh blocks and kernel routes: consecutive /26s', async (t) => {
  const p = nthSlash26(0x14000000, 3);
  t.equal(prefix4Address(p), 0x140000c0);
  t.equal(prefix4Length(p), 26);
  const g = simpleGroup([p], null);
  t.equal(g.attrs.localPref, 100, 'iBGP groups carry LOCAL_PREF');
  t.same(g.attrs.asPath, []);
});
