/** RFC 6793 §4.2.2 / §4.2.3 and RFC 4271 §9.1.2.2. */
import t from 'tap';
import { AS_TRANS } from '../../proto/constants.js';
import { asPathLength, fromTwoOctet, mergeAs4Path, reconstructAs4, toTwoOctet } from '../../proto/as4.js';
import type { AsPathSegment } from '../../proto/types.js';
import { Rng, genAsPath } from './gen.js';

const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
const set = (...asns: number[]): AsPathSegment => ({ type: 1, asns });
const cseq = (...asns: number[]): AsPathSegment => ({ type: 3, asns });
const cset = (...asns: number[]): AsPathSegment => ({ type: 4, asns });

t.test('asPathLength: SET counts 1, confederation segments 0', async (t) => {
  t.equal(asPathLength([]), 0);
  t.equal(asPathLength([seq(1, 2, 3)]), 3);
  t.equal(asPathLength([seq(1, 2), set(3, 4, 5)]), 3);
  t.equal(asPathLength([cseq(64512, 64513), cset(64514), seq(1)]), 1);
});

t.test('mergeAs4Path (RFC 6793 §4.2.3)', async (t) => {
  // OLD speaker 65001 prepended itself to a path of two 4-octet ASNs.
  t.same(mergeAs4Path([seq(65001, AS_TRANS, AS_TRANS)], [seq(200000, 200001)]), [seq(65001, 200000, 200001)]);
  t.same(mergeAs4Path([seq(AS_TRANS, AS_TRANS)], [seq(200000, 200001)]), [seq(200000, 200001)]);
  // AS4_PATH longer than AS_PATH: ignored.
  t.same(mergeAs4Path([seq(65001)], [seq(200000, 200001)]), [seq(65001)]);
  // Sets count 1; a leading confed segment is kept.
  t.same(mergeAs4Path([cseq(64512), seq(65001, AS_TRANS), set(AS_TRANS, 3)], [seq(200000), set(200001, 3)]), [cseq(64512), seq(65001, 200000), set(200001, 3)]);
  // Confed segments in AS4_PATH are dropped (RFC 6793 §6).
  t.same(mergeAs4Path([seq(AS_TRANS)], [cseq(64512), seq(200000)]), [seq(200000)]);
});

t.test('reconstructAs4: the AGGREGATOR rules', async (t) => {
  const agg4 = { asn: 200000, address: 1 };
  // AGGREGATOR is AS_TRANS: AS4_AGGREGATOR replaces it, AS4_PATH used.
  t.same(reconstructAs4([seq(AS_TRANS)], [seq(200000)], { asn: AS_TRANS, address: 1 }, agg4), { asPath: [seq(200000)], aggregator: agg4 });
  // AGGREGATOR not AS_TRANS with AS4_AGGREGATOR present: both AS4_* ignored.
  t.same(reconstructAs4([seq(AS_TRANS)], [seq(200000)], { asn: 65001, address: 1 }, agg4), { asPath: [seq(AS_TRANS)], aggregator: { asn: 65001, address: 1 } });
  t.same(reconstructAs4([seq(65001)], undefined, undefined, undefined), { asPath: [seq(65001)] });
});

t.test('toTwoOctet / fromTwoOctet (RFC 6793 §4.2.2)', async (t) => {
  const attrs = { origin: 0 as const, asPath: [cseq(64512), seq(200000, 65001)], aggregator: { asn: 200000, address: 7 } };
  const two = toTwoOctet(attrs);
  t.same(two.asPath, [cseq(64512), seq(AS_TRANS, 65001)]);
  t.same(two.as4Path, [seq(200000, 65001)], 'no confed segments in AS4_PATH');
  t.same(two.aggregator, { asn: AS_TRANS, address: 7 });
  t.same(two.as4Aggregator, { asn: 200000, address: 7 });
  t.same(fromTwoOctet(two), attrs);
  t.same(toTwoOctet({ asPath: [seq(65001)] }), { asPath: [seq(65001)] }, 'no AS4_PATH when every ASN fits');
});

t.test('property: fromTwoOctet(toTwoOctet(path)) == path (seeded)', async (t) => {
  const seed = 0xa54;
  const rng = new Rng(seed);
  let ok = 0;
  for (let i = 0; i < 2000; i++) {
    // Sets and sequences: RFC 6793 keeps 4-octet ASNs of confederation segments as AS_TRANS.
    const path = genAsPath(rng, true, false);
    // Adjacent sequences merge on reconstruction; compare by flattening ASNs per kind.
    const back = fromTwoOctet(toTwoOctet({ asPath: path })).asPath!;
    if (asPathLength(back) === asPathLength(path) && JSON.stringify(back.flatMap((s) => s.asns)) === JSON.stringify(path.flatMap((s) => s.asns))) ok++;
    else {
      t.fail(`seed ${seed} case ${i}: ${JSON.stringify(path)} -> ${JSON.stringify(back)}`);
      break;
    }
  }
  t.equal(ok, 2000);
});
