// Limits and load against a bgpd on 127.0.0.1 (no namespaces needed): per-peer max-prefix (warn,
// and restart with Cease / Maximum Number of Prefixes Reached + AFI/SAFI/limit on the wire, RFC
// 4486 §4), a peer that stops reading while wren has a large table and churn for it (hold timer;
// RFC 9687 send hold timer when it keeps sending KEEPALIVEs), 10k connection attempts from
// unconfigured addresses. A witness peer's session must never notice any of it; RSS is measured.
import t from 'tap';
import { prefix4 } from '../../proto/prefix.js';
import type { PathAttributes } from '../../proto/types.js';
import net from 'node:net';
import { RawBgp } from './lib/raw-bgp.js';
import { LocalWren, ctl, ctlNeighbor, pathsFrom, rssKiB, sleep, until } from './lib/wren-proc.js';

const W = '127.0.0.3';
const WARN = '127.0.0.4';
const RESTART = '127.0.0.5';
const FEED = '127.0.0.6';
const SLOW = '127.0.0.7';
const SLOW2 = '127.0.0.8';

const attrs = (asn: number, nh: number, med = 0): PathAttributes => ({ origin: 0, asPath: [{ type: 2, asns: [asn] }], nextHop: nh, med });
const nh = (a: string): number => a.split('.').reduce((x, o) => ((x << 8) | Number(o)) >>> 0, 0);
/** n distinct /24s starting at first.0.0.0. */
const slash24s = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => prefix4(((first << 24) | (i << 8)) >>> 0, 24));

/** A TCP port free on 127.0.0.1 right now (for the metrics listener). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

t.test('limits and load', async (t) => {
  const metricsPort = await freePort();
  const wren = new LocalWren([
    { address: W, asn: 65002 },
    { address: WARN, asn: 65004, extra: { 'max-prefix': { limit: 100, action: 'warn' } } },
    { address: RESTART, asn: 65005, extra: { 'max-prefix': { limit: 100, action: 'restart' } } },
    { address: FEED, asn: 65006 },
    { address: SLOW, asn: 65007, extra: { hold: 9, keepalive: 3 } },
    { address: SLOW2, asn: 65008, extra: { hold: 9, keepalive: 3 } },
  ], { metrics: { listen: `127.0.0.1:${metricsPort}` } });
  t.teardown(() => wren.close());
  await wren.start();
  const target = (a: string) => () => RawBgp.tcp({ host: '127.0.0.1', port: wren.port, localAddress: a });
  const witness = await RawBgp.establish(target(W), { asn: 65002, bgpId: W, holdTimeSec: 9 });
  t.teardown(() => witness.destroy());
  await witness.sendAll([witness.announce(['10.99.0.0/24'], attrs(65002, nh(W)))]);
  await until(async () => ((await pathsFrom(wren.socket, '10.99.0.0/24', W)).length > 0 ? true : undefined), 30_000, 'witness route');
  const witnessSince = (await ctlNeighbor(wren.socket, W)).sinceMs;
  const witnessOk = async (): Promise<boolean> => {
    const n = await ctlNeighbor(wren.socket, W);
    return n.state === 'Established' && n.sinceMs === witnessSince && witness.isOpen && witness.notifications().length === 0;
  };

  await t.test('max-prefix warn: over the limit is logged once, the session stays', async (t) => {
    const c = await RawBgp.establish(target(WARN), { asn: 65004, bgpId: WARN });
    await c.sendAll(c.packAnnounce(slash24s(30, 150), attrs(65004, nh(WARN))));
    const n = await until(async () => {
      const x = await ctlNeighbor(wren.socket, WARN);
      return x.routes.imported >= 150 ? x : undefined;
    }, 30_000, '150 routes imported');
    t.equal(n.routes.imported, 150, 'all 150 kept (warn only)');
    await sleep(500);
    t.same(c.notifications(), [], 'no NOTIFICATION');
    t.equal(n.state, 'Established');
    t.match(wren.output, /prefix limit 100 exceeded \(1\d\d\)/, 'warning logged');
    t.equal(wren.output.match(/prefix limit 100 exceeded/g)?.length, 1, 'once');
    await c.end();
  });

  await t.test('max-prefix restart: Cease/1 with AFI 1, SAFI 1, limit 100 on the wire; back after error-wait', async (t) => {
    const c = await RawBgp.establish(target(RESTART), { asn: 65005, bgpId: RESTART });
    await c.sendAll(c.packAnnounce(slash24s(31, 101), attrs(65005, nh(RESTART))));
    const n = await c.waitFor(() => c.notifications()[0], 30_000, 'NOTIFICATION');
    t.same({ code: n.code, subcode: n.subcode, data: n.data }, { code: 6, subcode: 1, data: '0001' + '01' + '00000064' }, 'Cease / Maximum Number of Prefixes Reached, data AFI/SAFI/limit');
    await until(async () => ((await ctlNeighbor(wren.socket, RESTART)).routes.imported === 0 ? true : undefined), 30_000, 'routes dropped');
    t.pass('its routes are dropped');
    const again = await RawBgp.establish(target(RESTART), { asn: 65005, bgpId: RESTART }, 30_000);
    await again.sendAll(again.packAnnounce(slash24s(31, 100), attrs(65005, nh(RESTART))));
    await until(async () => ((await ctlNeighbor(wren.socket, RESTART)).routes.imported === 100 ? true : undefined), 30_000, '100 routes');
    await sleep(500);
    t.same(again.notifications(), [], 'at the limit: no NOTIFICATION');
    await again.end();
    t.ok(await witnessOk(), 'witness session untouched');
  });

  const TABLE = 100_000;
  const feeders: RawBgp[] = [];
  await t.test('a peer that stops reading while wren has a large table to send', async (t) => {
    const slow = await RawBgp.establish(target(SLOW), { asn: 65007, bgpId: SLOW, holdTimeSec: 9 });
    const slow2 = await RawBgp.establish(target(SLOW2), { asn: 65008, bgpId: SLOW2, holdTimeSec: 9 });
    // SLOW is wedged: reads nothing, sends nothing. SLOW2 reads nothing but keeps its KEEPALIVEs.
    slow.pause();
    slow.stopKeepalives();
    slow2.pause();
    const rss0 = rssKiB(wren.pid) ?? 0;
    const feeder = await RawBgp.establish(target(FEED), { asn: 65006, bgpId: FEED, holdTimeSec: 30 });
    feeders.push(feeder);
    const table = slash24s(40, TABLE);
    await feeder.sendAll(feeder.packAnnounce(table, attrs(65006, nh(FEED), 0)));
    await until(async () => ((await ctlNeighbor(wren.socket, FEED)).routes.imported === TABLE ? true : undefined), 120_000, 'table imported');
    const rssTable = rssKiB(wren.pid) ?? 0;
    // Churn: the whole table again with a new MED, round after round, so every round is a full
    // table of UPDATEs for the peers that do not read (kernel socket buffers fill within seconds).
    const samples: number[] = [];
    const t0 = Date.now();
    let med = 1;
    let slowDownAt = 0;
    let slow2DownAt = 0;
    while (Date.now() - t0 < 75_000) {
      // A new AS_PATH each round (a MED would not be passed on to another AS, RFC 4271 §5.1.4).
      await feeder.sendAll(feeder.packAnnounce(table, { ...attrs(65006, nh(FEED)), asPath: [{ type: 2, asns: [65006, 64600 + (med++ % 200)] }] }));
      samples.push(rssKiB(wren.pid) ?? 0);
      const [a, b] = await Promise.all([ctlNeighbor(wren.socket, SLOW), ctlNeighbor(wren.socket, SLOW2)]);
      if (slowDownAt === 0 && a.state !== 'Established') slowDownAt = Date.now() - t0;
      if (slow2DownAt === 0 && b.state !== 'Established') slow2DownAt = Date.now() - t0;
      if (slowDownAt > 0 && slow2DownAt > 0) break;
      await sleep(200);
    }
    const rssEnd = rssKiB(wren.pid) ?? 0;
    t.comment(`RSS KiB: before ${rss0}, table of ${TABLE} ${rssTable}, during churn max ${Math.max(...samples)}, end ${rssEnd}; churn rounds ${med - 1}`);
    t.comment(`wedged peer down after ${slowDownAt} ms; non-reading peer with keepalives down after ${slow2DownAt} ms`);
    t.ok(slowDownAt > 0 && slowDownAt < 30_000, 'the wedged peer is dropped by the hold timer (9 s)');
    t.ok(slow2DownAt > 0 && slow2DownAt < 75_000, 'the peer that keeps sending KEEPALIVEs but never reads is dropped (RFC 9687 send hold timer, 2 x hold)');
    t.match((await ctlNeighbor(wren.socket, SLOW)).lastError, /Hold timer expired|hold timer/i, `wedged peer: ${(await ctlNeighbor(wren.socket, SLOW)).lastError}`);
    t.match((await ctlNeighbor(wren.socket, SLOW2)).lastError, /[Ss]end hold timer/, `non-reading peer: ${(await ctlNeighbor(wren.socket, SLOW2)).lastError}`);
    t.ok(Math.max(...samples) - rssTable < 256 * 1024, `churn for non-reading peers grew RSS by ${((Math.max(...samples) - rssTable) / 1024).toFixed(0)} MiB (< 256)`);
    t.ok(await witnessOk(), 'witness session untouched');
    const st = await ctl(wren.socket, 'show status');
    t.ok(st.ok, 'control socket answers');
    slow.destroy();
    slow2.destroy();
  });

  await t.test('10k connection attempts from unconfigured addresses', async (t) => {
    const rss0 = rssKiB(wren.pid) ?? 0;
    let done = 0;
    let closedByWren = 0;
    let bytes = 0;
    const one = (i: number): Promise<void> =>
      new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: wren.port, localAddress: `127.1.${(i >> 8) & 0xff}.${(i & 0xff) || 1}` });
        s.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        s.on('error', () => undefined);
        s.on('end', () => closedByWren++);
        s.on('close', () => {
          done++;
          resolve();
        });
        s.setTimeout(20_000, () => s.destroy());
      });
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i += 200) await Promise.all(Array.from({ length: 200 }, (_, j) => one(i + j)));
    const ms = Date.now() - t0;
    const rss1 = rssKiB(wren.pid) ?? 0;
    t.equal(done, 10_000, `10000 attempts in ${ms} ms`);
    t.equal(bytes, 0, 'not a single BGP byte to an unconfigured address');
    t.ok(closedByWren > 9_900, `wren closed them (${closedByWren})`);
    const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const refused = Number(/^wren_connections_refused_total\{reason="unconfigured"\} (\d+)$/m.exec(scrape)?.[1] ?? -1);
    t.ok(refused >= 10_000, `counted in wren_connections_refused_total{reason="unconfigured"}: ${refused}`);
    t.match(scrape, /^wren_connections_refused_total\{reason="ttl_security"\} 0$/m, 'none refused for ttl-security');
    t.comment(`RSS KiB before ${rss0}, after ${rss1}`);
    t.ok(rss1 - rss0 < 32 * 1024, `RSS flat (+${((rss1 - rss0) / 1024).toFixed(1)} MiB)`);
    t.ok(await witnessOk(), 'witness session untouched');
    t.equal((await ctlNeighbor(wren.socket, FEED)).state, 'Established', 'feeder session untouched');
  });
  for (const f of feeders) f.destroy();
});
