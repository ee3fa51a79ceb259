/**
 * Property tests: for generated valid messages, decode(encode(m)) is m with no RFC 7606 error,
 * and encode(decode(bytes)) is the same bytes. Seeded; the seed is printed on failure.
 */
import t from 'tap';
import { Buffer } from 'node:buffer';
import { decodeUpdate, encodeUpdate } from '../../proto/update.js';
import { packUpdates } from '../../proto/packer.js';
import { Family } from '../../proto/types.js';
import type { CodecContext, UpdateMessage } from '../../proto/types.js';
import type { Prefix } from '../../proto/prefix.js';
import { Rng, genContext, genFullTable, genUpdate, genPrefix6 } from './gen.js';

const SEED = Number(process.env['WREN_SEED'] ?? 0x5eed1234);
const CASES = Number(process.env['WREN_CASES'] ?? 3000);

function needsAttrs(m: UpdateMessage): boolean {
  return m.nlri.length > 0 || m.mpReach !== undefined;
}

t.test(`decode(encode(m)) == m over ${CASES} generated UPDATEs (seed ${SEED})`, async (t) => {
  const rng = new Rng(SEED);
  let checked = 0;
  for (let i = 0; i < CASES; i++) {
    const ctx = genContext(rng);
    const msg = genUpdate(rng, ctx);
    let bytes: Buffer;
    try {
      bytes = encodeUpdate(msg, ctx);
    } catch (e) {
      t.fail(`seed ${SEED} case ${i}: encode threw ${String(e)}`);
      return;
    }
    const out = decodeUpdate(bytes, ctx);
    const same = t.same(out.message, msg, `case ${i}`);
    const clean = needsAttrs(msg) ? t.equal(out.errors.length, 0, `case ${i} no errors`) : true;
    const again = t.equal(encodeUpdate(out.message, ctx).toString('hex'), bytes.toString('hex'), `case ${i} re-encode`);
    if (!same || !clean || !again) {
      t.comment(`reproduce: WREN_SEED=${SEED}, failing case ${i}, ctx ${JSON.stringify({ ...ctx, addPath: [...ctx.addPath] })}`);
      return;
    }
    checked++;
  }
  t.equal(checked, CASES);
});

t.test('packed messages decode back to the groups, within the size limit', async (t) => {
  for (const extendedMessage of [false, true]) {
    for (const addPath of [false, true]) {
      const ctx: CodecContext = { fourOctetAs: true, extendedMessage, addPath: new Set(addPath ? [Family.Ipv4Unicast, Family.Ipv6Unicast] : []) };
      const table = genFullTable(SEED, 20000, 500);
      const withdrawn = table.groups.slice(0, 5).flatMap((g) => g.prefixes);
      const got = new Map<number, Prefix[]>();
      const gotWd: Prefix[] = [];
      const max = extendedMessage ? 65535 : 4096;
      let over = 0;
      packUpdates(Family.Ipv4Unicast, withdrawn, table.groups, ctx, (b) => {
        if (b.length > max) over++;
        const o = decodeUpdate(b, ctx);
        gotWd.push(...o.message.withdrawn);
        if (o.message.nlri.length > 0) {
          const key = o.message.attrs?.asPath?.[0]?.asns.join(',') ?? '';
          void key;
          const id = table.groups.findIndex((g) => g.prefixes.includes(o.message.nlri[0]!));
          got.set(id, [...(got.get(id) ?? []), ...o.message.nlri]);
          t.same(o.message.attrs, table.groups[id]!.attrs) || t.comment(`seed ${SEED}`);
        }
      });
      t.equal(over, 0, `no message above ${max}`);
      t.same(gotWd, withdrawn, 'withdrawals in order');
      let all = true;
      table.groups.forEach((g, i) => {
        if (JSON.stringify(got.get(i)) !== JSON.stringify(g.prefixes)) all = false;
      });
      t.ok(all, `every group's prefixes arrive in order (ext=${extendedMessage} addPath=${addPath})`);
    }
  }
});

t.test('IPv6 packing round-trips through MP_REACH / MP_UNREACH', async (t) => {
  const rng = new Rng(SEED);
  const ctx: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
  const prefixes = Array.from({ length: 3000 }, () => genPrefix6(rng));
  const withdrawn = Array.from({ length: 2000 }, () => genPrefix6(rng));
  const seenReach: Prefix[] = [];
  const seenWd: Prefix[] = [];
  packUpdates(Family.Ipv6Unicast, withdrawn, [{ attrs: { origin: 0, asPath: [] }, nextHop: '2001:db8::1', linkLocal: 'fe80::1', prefixes }], ctx, (b) => {
    t.ok(b.length <= 4096);
    const o = decodeUpdate(b, ctx);
    t.equal(o.errors.length, 0);
    if (o.message.mpReach) {
      t.equal(o.message.mpReach.nextHop, '2001:db8::1');
      t.equal(o.message.mpReach.linkLocal, 'fe80::1');
      seenReach.push(...o.message.mpReach.nlri);
    }
    if (o.message.mpUnreach) seenWd.push(...o.message.mpUnreach.withdrawn);
  });
  t.same(seenReach, prefixes);
  t.same(seenWd, withdrawn);
});
