// Sessions Must-show 2: OPEN errors against real daemons and a raw test peer — the right
// NOTIFICATION on the wire (code/subcode/data) and the right error on both ends.
import t from 'tap';
import { labFor, requireLab, Bird2Speaker, waitFor } from '../lab/lib/index.js';
import type { BgpWireMessage } from '../lab/lib/index.js';
import { WREN_AS, addSpoke, neighbor, notificationData, runRawPeer, wrenOn } from './sessions-lib.js';

if (await requireLab(t, ['bird2', 'tshark'])) {
  t.test('bad peer AS (both ways), bad BGP identifier with BIRD 2; bad hold time, zero identifier, missing capability from a raw peer', async (t) => {
    const lab = await labFor(t);
    const w = await lab.addHost('wren');
    const asW = await addSpoke(lab, w, 1, 'asw'); // wren expects the wrong AS
    const asB = await addSpoke(lab, w, 2, 'asb'); // BIRD expects the wrong AS
    const id = await addSpoke(lab, w, 3, 'id'); // iBGP, BIRD uses wren's router id
    const raw = await addSpoke(lab, w, 4, 'raw'); // raw test peer
    const wren = wrenOn(w, [
      { address: asW.peer4, remoteAs: 65099, source: asW.wren4 },
      { address: asB.peer4, remoteAs: 65002, source: asB.wren4 },
      { address: id.peer4, remoteAs: WREN_AS, passive: true, source: id.wren4 },
      // The raw peer connects to wren; wren waits for it.
      { address: raw.peer4, remoteAs: 65004, passive: true, source: raw.wren4 },
      { address: raw.peer6, remoteAs: 65004, passive: true, source: raw.wren6 },
    ]);
    const birdAsW = new Bird2Speaker(asW.host, { routerId: '10.0.0.21', localAs: 65001, neighbors: [{ address: asW.wren4, remoteAs: WREN_AS, localAddress: asW.peer4 }] });
    const birdAsB = new Bird2Speaker(asB.host, { routerId: '10.0.0.22', localAs: 65002, neighbors: [{ address: asB.wren4, remoteAs: 65077, localAddress: asB.peer4 }] });
    const birdId = new Bird2Speaker(id.host, { routerId: '10.0.0.50', localAs: WREN_AS, neighbors: [{ address: id.wren4, remoteAs: WREN_AS, localAddress: id.peer4 }] });
    const caps = await Promise.all([asW, asB, id, raw].map((s) => w.capture(s.wrenIf, { name: `err-${s.host.name}` })));
    await wren.start();
    await Promise.all([birdAsW.start(), birdAsB.start(), birdId.start()]);

    // Raw peer: OPENs no configurable daemon will send. After each error wren waits out its
    // error-wait back-off in Idle (refusing connections); start each try once it accepts again.
    const accepting = (addr: string) =>
      waitFor(async () => ((await neighbor(wren, addr)).state === 'Active' ? true : undefined), { timeoutMs: 15_000, intervalMs: 100, what: `wren accepting ${addr}` });
    await accepting(raw.peer4);
    const holdOne = await runRawPeer(raw.host, { mode: 'open', host: raw.wren4, port: 179, localAddress: raw.peer4, myAs: 65004, holdTimeSec: 1, bgpId: '10.0.0.24', timeoutMs: 8000 }, 'raw-hold');
    await accepting(raw.peer4);
    const zeroId = await runRawPeer(raw.host, { mode: 'open', host: raw.wren4, port: 179, localAddress: raw.peer4, myAs: 65004, bgpId: '0.0.0.0', timeoutMs: 8000 }, 'raw-id0');
    const wrenAfterId0 = await neighbor(wren, raw.peer4);
    // An IPv6 session whose OPEN offers IPv4 unicast only: the session's family is missing.
    await accepting(raw.peer6);
    const noFamily = await runRawPeer(raw.host, { mode: 'open', host: raw.wren6, port: 179, localAddress: raw.peer6, myAs: 65004, bgpId: '10.0.0.24', families: ['ipv4'], timeoutMs: 8000 }, 'raw-nofam');

    const notif = (evs: Awaited<ReturnType<typeof runRawPeer>>) => evs.filter((e) => e.event === 'message' && e.type === 'notification');
    t.same(notif(holdOne).map((e) => (e.event === 'message' ? [e.code, e.subcode, e.data] : [])), [[2, 6, '']], 'hold time 1: wren sends 2/6 Unacceptable Hold Time, no data');
    t.ok(holdOne.some((e) => e.event === 'close'), 'and closes the connection');
    t.same(notif(zeroId).map((e) => (e.event === 'message' ? [e.code, e.subcode, e.data] : [])), [[2, 3, '']], 'BGP Identifier 0: wren sends 2/3 Bad BGP Identifier');
    t.equal(wrenAfterId0.lastError, 'BGP Error: Bad BGP identifier', 'wren: lastError after identifier 0');
    t.same(
      notif(noFamily).map((e) => (e.event === 'message' ? [e.code, e.subcode, e.data] : [])),
      [[2, 7, '010400020001']],
      'IPv6 session, no IPv6 unicast offered: 2/7 Unsupported Capability with the Multiprotocol capability 2/1 as data',
    );
    t.equal((await neighbor(wren, raw.peer6)).lastError, 'BGP Error: Unsupported capability', 'wren: lastError for the missing capability');

    // BIRD sessions: errors on both ends.
    // Each retry overwrites lastError (a refused or reset reconnect reads "Socket: ..."), as in
    // BIRD: wait until the error the test is about is what both ends show.
    const wrenShows = (addr: string, re: RegExp) =>
      waitFor(async () => (re.test((await neighbor(wren, addr)).lastError) ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: `wren ${addr} lastError ${re}` });
    await wrenShows(asW.peer4, /^BGP Error: Bad peer AS$/);
    t.pass('wren: BGP Error: Bad peer AS (it refused the AS it did not expect)');
    await wrenShows(asB.peer4, /^Received: Bad peer AS$/);
    t.pass('wren: Received: Bad peer AS (BIRD refused wren\'s AS)');
    await wrenShows(id.peer4, /^(BGP Error|Received): Bad BGP identifier$/);
    t.pass('wren: Bad BGP identifier (same router id on iBGP)');
    const stW = await waitFor(async () => {
      const s = await birdAsW.peerState(asW.wren4);
      return s.lastError !== undefined ? s : undefined;
    }, { timeoutMs: 20_000, what: 'BIRD asw error' });
    const stB = await waitFor(async () => {
      const s = await birdAsB.peerState(asB.wren4);
      return s.lastError !== undefined ? s : undefined;
    }, { timeoutMs: 20_000, what: 'BIRD asb error' });
    const stI = await waitFor(async () => {
      const s = await birdId.peerState(id.wren4);
      return s.lastError !== undefined ? s : undefined;
    }, { timeoutMs: 20_000, what: 'BIRD id error' });

    t.equal(stW.lastError, 'Received: Bad peer AS', 'BIRD: Received: Bad peer AS');
    t.equal(stB.lastError, 'BGP Error: Bad peer AS', 'BIRD: BGP Error: Bad peer AS');
    t.match(stI.lastError ?? '', /^(BGP Error|Received): Bad BGP identifier$/, 'BIRD: same router id on iBGP');
    t.not((await neighbor(wren, asW.peer4)).state, 'Established');
    t.not((await neighbor(wren, id.peer4)).state, 'Established');

    for (const c of caps) await c.stop();
    const [capW, capB, capI, capR] = await Promise.all(caps.map((c) => c.notifications()));
    const one = (ms: BgpWireMessage[], src: string): string[] => ms.filter((m) => m.src === src).map((m) => `${m.errorCode}/${m.errorSubcode}:${notificationData(m)}`);
    // RFC 4271 §6.2 defines no Data for Bad Peer AS; wren sends none. BIRD sends the 2-octet AS it saw.
    t.ok(one(capW ?? [], asW.wren4).length > 0 && one(capW ?? [], asW.wren4).every((x) => x === '2/2:'), `wire: wren -> BIRD 2/2 (${one(capW ?? [], asW.wren4).join(' ')})`);
    t.ok(one(capB ?? [], asB.peer4).length > 0 && one(capB ?? [], asB.peer4).every((x) => x.startsWith('2/2')), `wire: BIRD -> wren 2/2 (${one(capB ?? [], asB.peer4).join(' ')})`);
    t.same(one(capB ?? [], asB.wren4), [], 'wire: wren sent nothing back to a NOTIFICATION');
    t.ok(one(capI ?? [], id.wren4).length > 0 && one(capI ?? [], id.wren4).every((x) => x === '2/3:'), `wire: wren -> BIRD 2/3 Bad BGP Identifier (${one(capI ?? [], id.wren4).join(' ')})`);
    // (tshark decodes 2/7's Data as capabilities, not as one field; the raw peer checked the bytes.)
    t.same(
      [...new Set([...one(capR ?? [], raw.wren4), ...one(capR ?? [], raw.wren6)].map((x) => (x.startsWith('2/7') ? '2/7' : x)))].sort(),
      ['2/3:', '2/6:', '2/7'],
      'wire: the raw peer got exactly 2/6, 2/3 and 2/7 from wren',
    );
  });
}
