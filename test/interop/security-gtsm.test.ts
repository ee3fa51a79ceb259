// GTSM (RFC 5082, `ttl-security`) between wren and BIRD 2 (`ttl security on`), eBGP.
//
// Direct links (wren in the middle of a star):
//   d1  BIRD ttl security, passive       -> wren connects (TTL 255 / IP_MINTTL 255 before the SYN)
//   d2  BIRD ttl security, active        -> wren accepts (listener sends SYN-ACKs with TTL 255;
//                                           the accepted socket gets TTL 255 and IP_MINTTL 255)
//   d3  BIRD without ttl security, passive -> BIRD's eBGP session packets leave with TTL 1: wren
//                                           drops them (its OPEN never arrives), no session
// Every packet wren sends to a GTSM peer has TTL 255, and arrives with 255 on a direct link.
//
// One router between them (namespace r forwarding, so TTL 255 arrives as 254), BIRD with
// `multihop 2; ttl security on` (its minimum TTL is 254):
//   h1  BIRD passive: wren connects. ttl-security 1 (minimum 255): BIRD's SYN-ACK (254) is
//       dropped, no session on either side. After a reload with ttl-security 2: Established.
//   h2  BIRD active: wren accepts. ttl-security 1: the handshake completes (the listener cannot
//       check per peer), then wren reads the TTL of the saved SYN (254 < 255) and resets the
//       connection before reading BIRD's OPEN or sending anything: logged with both TTLs, BIRD
//       never gets an OPEN and never reaches Established, not even for a moment.
//       ttl-security 2: up. A raw client from BIRD's own address with the default TTL (64,
//       arrives as 63) is then reset the same way while BIRD's session stays up.
import t from 'tap';
import { Bird2Speaker, labFor, requireLab, waitFor } from '../lab/lib/index.js';
import type { Capture, NeighborConfig, SpeakerConfig } from '../lab/lib/index.js';
import { WREN_AS, addSpoke, neighbor, runRawPeer, sleep, waitAllEstablished, wrenOn } from './sessions-lib.js';
import type { WrenSpeaker } from '../lab/lib/index.js';

const PEER_AS = 65001;
const QUIET_MS = 10_000;

function birdCfg(routerId: string, wrenAddr: string, n: Omit<NeighborConfig, 'address' | 'remoteAs'>, local?: string): SpeakerConfig {
  return { routerId, localAs: PEER_AS, neighbors: [{ address: wrenAddr, remoteAs: WREN_AS, ...n, ...(local === undefined ? {} : { localAddress: local }) }] };
}

/**
 * TTLs of the SYNs and data segments from `src` in a capture: what the daemons' sockets send.
 * (Replies the kernel makes without a socket — an RST to a closed port, a TIME-WAIT ACK — use the
 * default TTL 64 and are left out.)
 */
async function ttlsFrom(cap: Capture, src: string): Promise<number[]> {
  const frames = await cap.json(`ip.src == ${src} && (tcp.flags.syn == 1 || tcp.len > 0)`);
  return frames.map((f) => Number((f as { _source?: { layers?: Record<string, Record<string, unknown>> } })._source?.layers?.['ip']?.['ip.ttl'] ?? -1));
}

/** wren's log lines (pino JSON) saying a ttl-security peer's connection was refused at accept. */
function gtsmRefusals(wren: WrenSpeaker, peer: string): { ttl: number; minTtl: number }[] {
  const out: { ttl: number; minTtl: number }[] = [];
  for (const line of wren.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { level?: string; msg?: string; peer?: string; ttl?: number; minTtl?: number };
    if (l.peer === peer && l.msg?.startsWith('connection refused by ttl-security') === true && l.level === 'warn') out.push({ ttl: l.ttl ?? -1, minTtl: l.minTtl ?? -1 });
  }
  return out;
}

if (await requireLab(t, ['bird2', 'tshark'])) {
  t.test('GTSM on direct links: both directions up with TTL 255, a peer without GTSM kept out', async (t) => {
    const lab = await labFor(t);
    const w = await lab.addHost('w');
    const d1 = await addSpoke(lab, w, 1, 'd1');
    const d2 = await addSpoke(lab, w, 2, 'd2');
    const d3 = await addSpoke(lab, w, 3, 'd3');
    const wren = wrenOn(w, [
      { address: d1.peer4, remoteAs: PEER_AS, source: d1.wren4, ttlSecurity: 1 },
      { address: d2.peer4, remoteAs: PEER_AS, source: d2.wren4, ttlSecurity: 1, passive: true },
      { address: d3.peer4, remoteAs: PEER_AS, source: d3.wren4, ttlSecurity: 1 },
    ]);
    const b1 = new Bird2Speaker(d1.host, birdCfg('10.0.1.2', d1.wren4, { passive: true, ttlSecurity: 1 }));
    const b2 = new Bird2Speaker(d2.host, birdCfg('10.0.2.2', d2.wren4, { ttlSecurity: 1 }));
    const b3 = new Bird2Speaker(d3.host, birdCfg('10.0.3.2', d3.wren4, { passive: true }));
    const [cap1, cap2, cap3] = (await Promise.all([d1, d2, d3].map((s) => w.capture(s.wrenIf)))) as [Capture, Capture, Capture];
    await wren.start();
    await Promise.all([b1.start(), b2.start(), b3.start()]);

    await waitAllEstablished(wren, [d1.peer4, d2.peer4], 60_000);
    await b1.waitForState(d1.wren4);
    await b2.waitForState(d2.wren4);
    t.equal((await neighbor(wren, d1.peer4)).state, 'Established', 'wren active: Established');
    t.equal((await neighbor(wren, d2.peer4)).state, 'Established', 'wren passive: Established');
    await sleep(QUIET_MS);
    const n3 = await neighbor(wren, d3.peer4);
    t.not(n3.state, 'Established', `BIRD without GTSM: wren stays ${n3.state}`);
    t.equal(n3.messages.in.open, 0, 'no BGP message from it got through IP_MINTTL');
    t.not((await b3.peerState(d3.wren4)).state, 'Established', 'BIRD not Established either');
    for (const [cap, s, who] of [
      [cap1, d1, 'active'],
      [cap2, d2, 'passive'],
      [cap3, d3, 'to the peer without GTSM'],
    ] as const) {
      await cap.stop();
      const mine = await ttlsFrom(cap, s.wren4);
      t.ok(mine.length > 0, `wren sent segments (${who}: ${mine.length})`);
      t.same([...new Set(mine)], [255], `every segment wren sent ${who} has TTL 255`);
    }
    t.same([...new Set(await ttlsFrom(cap1, d1.peer4))], [255], "BIRD's segments arrive with TTL 255 on a direct link");
    // BIRD's listening socket always sends with TTL 255 (its SYN-ACK passes); the session socket
    // of a direct eBGP peer without GTSM uses TTL 1, and those segments are dropped.
    t.ok((await ttlsFrom(cap3, d3.peer4)).includes(1), 'BIRD without GTSM sends its eBGP session with TTL 1');
  });

  t.test('GTSM across a router: ttl-security 1 keeps BIRD out, 2 lets it in', async (t) => {
    const lab = await labFor(t);
    const w = await lab.addHost('w');
    const r = await lab.addHost('r');
    const h1 = await lab.addHost('h1');
    const h2 = await lab.addHost('h2');
    const wr = await lab.link(w, r, { a: ['10.1.0.1/24'], b: ['10.1.0.254/24'] });
    await lab.link(r, h1, { a: ['10.2.1.254/24'], b: ['10.2.1.2/24'] });
    await lab.link(r, h2, { a: ['10.2.2.254/24'], b: ['10.2.2.2/24'] });
    await r.sysctl('net.ipv4.ip_forward', '1');
    await w.setDefaultRoute('10.1.0.254');
    await h1.setDefaultRoute('10.2.1.254');
    await h2.setDefaultRoute('10.2.2.254');

    const peers = (hops: number): (NeighborConfig & { source: string })[] => [
      { address: '10.2.1.2', remoteAs: PEER_AS, source: '10.1.0.1', ttlSecurity: hops },
      { address: '10.2.2.2', remoteAs: PEER_AS, source: '10.1.0.1', ttlSecurity: hops, passive: true },
    ];
    const wren = wrenOn(w, peers(1));
    const b1 = new Bird2Speaker(h1, birdCfg('10.2.1.2', '10.1.0.1', { passive: true, ttlSecurity: 2, multihop: 2 }, '10.2.1.2'));
    const b2 = new Bird2Speaker(h2, birdCfg('10.2.2.2', '10.1.0.1', { ttlSecurity: 2, multihop: 2 }, '10.2.2.2'));
    const cap = await w.capture(wr.ifA);
    await wren.start();
    await Promise.all([b1.start(), b2.start()]);

    await t.test('ttl-security 1: no session', async (t) => {
      // BIRD's state, polled through the quiet period: a reset before wren's OPEN leaves it no
      // way to Established, however briefly.
      const birdStates = new Set<string>();
      const until = Date.now() + QUIET_MS;
      while (Date.now() < until) {
        birdStates.add((await b2.peerState('10.1.0.1')).state);
        await sleep(200);
      }
      const n1 = await neighbor(wren, '10.2.1.2');
      const n2 = await neighbor(wren, '10.2.2.2');
      t.match(n1.state, /^(Active|Connect)$/, `wren connects: stays ${n1.state} (BIRD's SYN-ACK arrives with TTL 254)`);
      t.equal(n1.messages.in.open, 0);
      t.not((await b1.peerState('10.1.0.1')).state, 'Established', 'BIRD (passive) not Established');
      t.equal(n2.state, 'Active', 'wren accepts: its session never left Active');
      t.equal(n2.messages.in.open, 0, "BIRD's OPEN was never read");
      t.equal(n2.messages.out.open, 0, 'wren sent no OPEN on the refused connections');
      t.equal(n2.messages.in.bytes + n2.messages.out.bytes, 0, 'not a byte either way');
      const refusals = gtsmRefusals(wren, '10.2.2.2');
      t.ok(refusals.length >= 1, `BIRD's connections refused at accept: ${refusals.length}`);
      t.same([...new Set(refusals.map((r) => `${r.ttl}<${r.minTtl}`))], ['254<255'], 'logged at warn with the SYN TTL 254 and the minimum 255');
      t.notOk(birdStates.has('Established'), `BIRD (active) never Established: seen ${[...birdStates].join(', ')}`);
      t.notMatch(b2.logs(), /session established/i, 'BIRD never logged an established session');
      await cap.stop();
      const birdTtls = [...new Set([...(await ttlsFrom(cap, '10.2.1.2')), ...(await ttlsFrom(cap, '10.2.2.2'))])];
      t.same(birdTtls, [254], "BIRD's segments arrive at wren with TTL 254");
      const toH2 = await cap.json('ip.src == 10.1.0.1 && ip.dst == 10.2.2.2 && tcp.len > 0');
      t.equal(toH2.length, 0, 'no data segment from wren to BIRD (active)');
      const rsts = await cap.json('ip.src == 10.1.0.1 && ip.dst == 10.2.2.2 && tcp.flags.reset == 1');
      t.ok(rsts.length >= refusals.length, `each refused connection was reset (${rsts.length} RSTs)`);
    });

    await t.test('reload to ttl-security 2: both Established', async (t) => {
      await wren.setExtra({ peers: wrenOn(w, peers(2)).configObject()['peers'] });
      await wren.reload();
      await waitAllEstablished(wren, ['10.2.1.2', '10.2.2.2'], 60_000);
      await b1.waitForState('10.1.0.1');
      await b2.waitForState('10.1.0.1');
      await sleep(3000);
      await waitFor(async () => ((await neighbor(wren, '10.2.1.2')).state === 'Established' ? true : undefined), { timeoutMs: 5000, what: 'h1 stays up' });
      t.equal((await neighbor(wren, '10.2.2.2')).state, 'Established', 'stays up');
      t.match(b2.logs(), /session established/i, 'BIRD logs it now (the pattern checked while refused is the right one)');
      t.pass('up over one router hop with ttl-security 2 (minimum TTL 254)');
    });

    await t.test("a default-TTL client from the GTSM peer's own address is reset at accept", async (t) => {
      const before = await neighbor(wren, '10.2.2.2');
      const refusedBefore = gtsmRefusals(wren, '10.2.2.2').length;
      const ev = await runRawPeer(h2, { mode: 'open', host: '10.1.0.1', port: 179, localAddress: '10.2.2.2', myAs: PEER_AS, timeoutMs: 5000 });
      // The handshake completes (the listener serves every peer); when the RST arrives in the same
      // poll as the handshake's end, Node reports the reset instead of 'connect'. ECONNRESET rather
      // than ECONNREFUSED shows the connection was established either way.
      t.ok(ev[0]?.event === 'connected' || (ev[0]?.event === 'close' && ev[0]?.error === 'ECONNRESET'), `the handshake completed, then the reset (${JSON.stringify(ev[0])})`);
      t.notOk(ev.some((e) => e.event === 'message'), 'no BGP message from wren');
      t.match(ev.at(-1), { event: 'close', bytes: 0, error: 'ECONNRESET' }, 'reset, not a byte sent');
      const refusals = gtsmRefusals(wren, '10.2.2.2').slice(refusedBefore);
      t.same(refusals, [{ ttl: 63, minTtl: 254 }], 'logged: TTL 64 arrived as 63, below the minimum 254');
      const after = await neighbor(wren, '10.2.2.2');
      t.equal(after.state, 'Established', "BIRD's session is untouched");
      t.equal(after.messages.in.open, before.messages.in.open, 'no OPEN was read from the raw client');
      t.equal(after.sinceMs, before.sinceMs, 'no state change');
    });
  });
}
