import t from 'tap';
import { AttrStore, canonicalKey, hashAttrs } from '../../rib/attrs.js';
import type { BestReason, DecisionOptions, PathView } from '../../rib/decision.js';
import { DEFAULT_DECISION_OPTIONS, compare, select } from '../../rib/decision.js';
import { ip, pathView, seq } from './helpers.js';

const opts = (o: Partial<DecisionOptions> = {}): DecisionOptions => ({ ...DEFAULT_DECISION_OPTIONS, ...o });

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  const out: T[][] = [];
  xs.forEach((x, i) => {
    for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}

t.test('interning: one frozen set per distinct attributes + next hop, refcounted', async (t) => {
  const st = new AttrStore();
  const a = st.intern({ origin: 0, asPath: [seq(1, 2)], nextHop: ip('10.0.0.1'), communities: [1, 2] }, ip('10.0.0.1'));
  const b = st.intern({ communities: [1, 2], asPath: [seq(1, 2)], origin: 0 }, ip('10.0.0.1'));
  t.equal(a, b, 'same set regardless of field order / NEXT_HOP attribute');
  t.ok(Object.isFrozen(a) && Object.isFrozen(a.attrs) && Object.isFrozen(a.attrs.asPath));
  t.equal(a.attrs.nextHop, undefined, 'NEXT_HOP lives on the set, not in attrs');
  const c = st.intern({ origin: 0, asPath: [seq(1, 2)], communities: [1, 2] }, ip('10.0.0.2'));
  t.not(a, c, 'next hop is part of the identity');
  t.same(st.counts(), { sets: 2, refs: 3 });
  st.unref(a);
  st.unref(b);
  t.same(st.counts(), { sets: 1, refs: 1 });
  t.notOk(st.isLive(a));
  t.throws(() => st.unref(a), /no references/);
  t.equal(hashAttrs({ origin: 0 }, 1), hashAttrs({ origin: 0 }, 1));
  t.not(canonicalKey({ origin: 0 }, 1), canonicalKey({ origin: 1 }, 1));
  t.equal(st.lookup({ origin: 0, asPath: [seq(1, 2)], communities: [1, 2] }, ip('10.0.0.2')), c);
});

interface StepCase {
  what: string;
  reason: BestReason;
  better: PathView;
  worse: PathView;
  opts?: Partial<DecisionOptions>;
}

t.test('every step of the decision process (RFC 4271 §9.1.2.2, RFC 4456 §9), both orders', async (t) => {
  const st = new AttrStore();
  const base = { origin: 0 as const, asPath: [seq(65001, 65002)], localPref: 100 };
  const cases: StepCase[] = [
    { what: 'locally originated beats learned (BIRD preference)', reason: 'local', better: pathView(st, { origin: 0, asPath: [] }, { kind: 'local', address: 0 }), worse: pathView(st, { ...base, localPref: 1000 }, {}) },
    { what: 'highest LOCAL_PREF', reason: 'localPref', better: pathView(st, { ...base, localPref: 200 }, {}), worse: pathView(st, base, {}) },
    { what: 'shortest AS_PATH', reason: 'asPathLength', better: pathView(st, { ...base, asPath: [seq(65001)] }, {}), worse: pathView(st, base, {}) },
    { what: 'AS_SET counts 1', reason: 'asPathLength', better: pathView(st, { ...base, asPath: [seq(65001), { type: 1, asns: [1, 2, 3] }] }, {}), worse: pathView(st, { ...base, asPath: [seq(65001, 2, 3)] }, {}) },
    { what: 'confederation segments count 0', reason: 'asPathLength', better: pathView(st, { ...base, asPath: [{ type: 3, asns: [1, 2, 3] }, seq(65001)] }, {}), worse: pathView(st, base, {}) },
    { what: 'lowest ORIGIN', reason: 'origin', better: pathView(st, base, {}), worse: pathView(st, { ...base, origin: 2 }, {}) },
    { what: 'lowest MED, same neighbour AS', reason: 'med', better: pathView(st, { ...base, med: 5 }, {}), worse: pathView(st, { ...base, med: 10 }, {}) },
    { what: 'missing MED is 0 (RFC 4271)', reason: 'med', better: pathView(st, base, {}), worse: pathView(st, { ...base, med: 1 }, {}) },
    { what: 'missing MED as worst (option)', reason: 'med', better: pathView(st, { ...base, med: 1 }, {}), worse: pathView(st, base, {}), opts: { missingMedAsWorst: true } },
    { what: 'always-compare-med across ASes', reason: 'med', better: pathView(st, { ...base, asPath: [seq(7, 8)], med: 1 }, {}), worse: pathView(st, { ...base, med: 9 }, {}), opts: { alwaysCompareMed: true } },
    { what: 'eBGP over iBGP', reason: 'ebgpOverIbgp', better: pathView(st, base, { kind: 'ebgp' }), worse: pathView(st, base, { kind: 'ibgp' }) },
    {
      what: 'lowest IGP cost (resolver)', reason: 'igpCost',
      better: pathView(st, base, { nextHop: ip('10.0.0.1') }), worse: pathView(st, base, { nextHop: ip('10.0.0.2') }),
      opts: { resolver: (nh) => ({ reachable: true, igpCost: nh === ip('10.0.0.1') ? 1 : 5 }) },
    },
    { what: 'lowest router id', reason: 'routerId', better: pathView(st, base, { routerId: ip('1.1.1.1') }), worse: pathView(st, base, { routerId: ip('2.2.2.2') }) },
    { what: 'ORIGINATOR_ID stands in for router id (RFC 4456 §9)', reason: 'routerId', better: pathView(st, { ...base, originatorId: ip('0.0.0.9') }, { routerId: ip('9.9.9.9') }), worse: pathView(st, base, { routerId: ip('1.1.1.1') }) },
    { what: 'shortest CLUSTER_LIST', reason: 'clusterListLength', better: pathView(st, { ...base, originatorId: 5, clusterList: [1] }, { routerId: 7 }), worse: pathView(st, { ...base, originatorId: 5, clusterList: [1, 2] }, { routerId: 7 }) },
    { what: 'lowest peer address', reason: 'peerAddress', better: pathView(st, base, { address: ip('10.0.0.1') }), worse: pathView(st, base, { address: ip('10.0.0.2') }) },
    { what: 'IPv6 peer addresses by value', reason: 'peerAddress', better: pathView(st, base, { address: 'fd00::9' }), worse: pathView(st, base, { address: 'fd00::10' }) },
    { what: 'ADD-PATH: lowest path id from one peer', reason: 'pathId', better: pathView(st, base, {}, 1), worse: pathView(st, base, {}, 2) },
  ];
  for (const c of cases) {
    const o = opts(c.opts);
    t.same(compare(c.better, c.worse, o), { winner: -1, reason: c.reason }, `${c.what}: compare(better, worse)`);
    t.same(compare(c.worse, c.better, o), { winner: 1, reason: c.reason }, `${c.what}: compare(worse, better)`);
    for (const order of [[c.better, c.worse], [c.worse, c.better]]) {
      const sel = select(order, o);
      t.equal(order[sel.best], c.better, `${c.what}: select picks the better in either order`);
      t.equal(sel.reason, c.reason, `${c.what}: select reason`);
    }
  }
  t.same(compare(cases[1]!.better, cases[1]!.better), { winner: 0, reason: 'equal' });
});

t.test('MED is not compared between different neighbour ASes by default', async (t) => {
  const st = new AttrStore();
  const a = pathView(st, { origin: 0, asPath: [seq(1, 9)], med: 50 }, { routerId: 1 });
  const b = pathView(st, { origin: 0, asPath: [seq(2, 9)], med: 10 }, { routerId: 2 });
  t.same(compare(a, b), { winner: -1, reason: 'routerId' });
});

t.test('clusterListBeforeRouterId option gives BIRD/FRR order', async (t) => {
  const st = new AttrStore();
  const a = pathView(st, { origin: 0, clusterList: [1, 2] }, { routerId: 1 });
  const b = pathView(st, { origin: 0, clusterList: [1] }, { routerId: 2 });
  t.same(compare(a, b), { winner: -1, reason: 'routerId' });
  t.same(compare(a, b, opts({ clusterListBeforeRouterId: true })), { winner: 1, reason: 'clusterListLength' });
});

t.test('deterministic regardless of arrival order: all permutations (MED non-transitivity)', async (t) => {
  const st = new AttrStore();
  // Deterministic-MED case: A(AS1, MED 10, rid 3), B(AS1, MED 20, rid 1), C(AS2, MED 5, rid 2),
  // D(AS2, MED 7, rid 4). A pairwise running-best scan depends on order (B beats C on router id,
  // A beats B on MED, C beats A on router id...); RFC elimination does not.
  const paths = [
    pathView(st, { origin: 0, asPath: [seq(1, 9)], med: 10 }, { routerId: 3, address: ip('10.0.0.3'), nextHop: ip('10.0.0.3') }),
    pathView(st, { origin: 0, asPath: [seq(1, 9)], med: 20 }, { routerId: 1, address: ip('10.0.0.1'), nextHop: ip('10.0.0.1') }),
    pathView(st, { origin: 0, asPath: [seq(2, 9)], med: 5 }, { routerId: 2, address: ip('10.0.0.2'), nextHop: ip('10.0.0.2') }),
    pathView(st, { origin: 0, asPath: [seq(2, 8)], med: 7 }, { routerId: 4, address: ip('10.0.0.4'), nextHop: ip('10.0.0.4') }),
  ];
  const ref = select(paths);
  // B is removed by A's lower MED (same AS 1); D by C (same AS 2); A vs C tie-break on router id -> C.
  t.equal(paths[ref.best], paths[2]);
  t.equal(ref.outcome[1], 'med');
  t.equal(ref.outcome[3], 'med');
  let n = 0;
  for (const perm of permutations(paths)) {
    const sel = select(perm);
    if (perm[sel.best] !== paths[2]) t.fail(`permutation ${n} chose another best`);
    t.same(sel.multipath.map((i) => perm[i]).sort(), ref.multipath.map((i) => paths[i]).sort());
    n++;
  }
  t.equal(n, 24);
});

t.test('ineligible: unresolvable next hop', async (t) => {
  const st = new AttrStore();
  const a = pathView(st, { origin: 0, localPref: 500 }, { nextHop: ip('10.9.9.9') });
  const b = pathView(st, { origin: 0 }, { nextHop: ip('10.0.0.1') });
  const sel = select([a, b], opts({ resolver: (nh) => ({ reachable: nh !== ip('10.9.9.9'), igpCost: 0 }) }));
  t.equal(sel.best, 1);
  t.equal(sel.outcome[0], 'nextHopUnresolvable');
  t.equal(select([a], opts({ resolver: () => ({ reachable: false, igpCost: 0 }) })).best, -1);
});

t.test('ECMP multipath set', async (t) => {
  const st = new AttrStore();
  const mk = (nh: string, rid: number, over = {}) => pathView(st, { origin: 0, asPath: [seq(1)], ...over }, { nextHop: ip(nh), routerId: rid, address: ip(nh) });
  const a = mk('10.0.0.1', 1);
  const b = mk('10.0.0.2', 2);
  const c = mk('10.0.0.3', 3, { med: 5 }); // worse MED: not equal
  const d = pathView(st, { origin: 0, asPath: [seq(1)] }, { nextHop: ip('10.0.0.1'), routerId: 4, address: ip('10.0.0.4') }); // same next hop as a
  const e = mk('10.0.0.5', 5, { localPref: 50 });
  const sel = select([e, d, c, b, a]);
  t.same(sel.multipath.map((i) => [e, d, c, b, a][i]), [a, b], 'best first, distinct next hops, equal through IGP cost');
  t.same(select([a, b], opts({ multipath: false })).multipath, [0]);
  t.same(select([a, b], opts({ maxPaths: 1 })).multipath.length, 1);
});
