// peerRouteCounts is what `show protocols all` and the metrics read for every peer: it must agree
// with a walk of the tables after any sequence of announcements, withdrawals and session losses.
import t from 'tap';
import { Rib } from '../../rib/rib.js';
import { announce, ibgpAttrs, ip, peer, pfx, withdraw } from './helpers.js';

function mkRib(): Rib {
  const pool = { cidr: pfx('172.18.0.0/16'), ipipMode: 'Always' as const, vxlanMode: 'Never' as const, disableBgpExport: false };
  return new Rib({
    asn: 64512, routerId: ip('10.0.0.254'), nodeAddress: { address: ip('10.0.0.254'), length: 24 },
    pools: [pool], exportPolicy: { pools: [pool], extraExport: [], exportOutsidePools: true }, kernel: { tunnelDevice: 'tunl0' },
  });
}

function drainAll(rib: Rib): void {
  for (let i = 0; i < 10_000 && rib.drain(64).more; i++);
}

function walked(rib: Rib, id: string): { imported: number; exported: number; preferred: number } {
  let imported = 0;
  for (const paths of rib.adjRibIn(id).values()) imported += paths.length;
  let preferred = 0;
  rib.forEachBest((_p, _b, from) => {
    if (from === id) preferred++;
  });
  return { imported, exported: rib.adjRibOut(id).size, preferred };
}

t.test('counters equal a walk of the tables, step by step', async (t) => {
  const rib = mkRib();
  const peers = [peer('10.0.0.1'), peer('10.0.0.2'), peer('10.0.0.3', { asn: 65003 })];
  for (const p of peers) rib.handle({ type: 'peerUp', peer: p }, 0);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const check = (what: string) => {
    drainAll(rib);
    for (const p of peers) t.same(rib.peerRouteCounts(p.id), walked(rib, p.id), `${what}: ${p.id}`);
    let bests = 0;
    rib.forEachBest(() => {
      bests++;
    });
    t.equal(rib.stats().bestV4, bests, `${what}: the best-path counter equals a walk`);
  };
  for (let step = 0; step < 40; step++) {
    const p = peers[rnd(peers.length)]!;
    const prefixes = Array.from({ length: 1 + rnd(20) }, () => pfx(`172.18.${rnd(8)}.${rnd(4) * 64}/26`) as number);
    if (rnd(3) === 0) rib.handle({ type: 'update', peer: p.id, message: withdraw(prefixes) }, 0);
    else {
      const attrs = p.asn === 65003 ? { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65003] }], nextHop: ip('10.0.0.3') } : ibgpAttrs(p.id, { localPref: 100 + rnd(2) });
      rib.handle({ type: 'update', peer: p.id, message: announce(prefixes, attrs) }, 0);
    }
    if (step % 5 === 4) check(`after step ${step}`);
  }
  rib.handle({ type: 'peerDown', peer: peers[0]!.id, graceful: false }, 0);
  check('after a session loss');
  t.same(rib.peerRouteCounts(peers[0]!.id), { imported: 0, exported: 0, preferred: 0 }, 'a peer that is down holds nothing');
  t.same(rib.peerRouteCounts('10.9.9.9'), { imported: 0, exported: 0, preferred: 0 }, 'an unknown peer counts zero');
});
