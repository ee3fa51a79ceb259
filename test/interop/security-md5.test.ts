// TCP MD5 (RFC 2385) end to end: wren in the middle of a star (listening on a dual-stack `::`
// socket, so IPv4 peers are keyed by their v4-mapped address), with
//   b1  BIRD 2, password, passive        -> wren connects (addon connect, key before the SYN)
//   b2  BIRD 2, no password, active      -> the same listener still takes unsigned peers
//   b3  BIRD 2, password, active         -> wren accepts (the key is on the listener)
//   g4  GoBGP, password, both active
//   b5  BIRD 2, a different password     -> no session, no OPEN on the wire
// then a reload that changes b1's password: only b1 resets, and comes back once BIRD has the new
// key too. Every SYN on the keyed links carries the MD5 option (tshark `tcp.options.md5`).
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Bird2Speaker, GobgpSpeaker, bird2Config, labFor, requireLab, waitFor } from '../lab/lib/index.js';
import type { Capture, NeighborConfig, SpeakerConfig } from '../lab/lib/index.js';
import { WREN_AS, addSpoke, neighbor, sleep, waitAllEstablished, wrenOn } from './sessions-lib.js';

const PEER_AS = 65000; // iBGP: the password is all that differs between the peers
const PASSWORD = 'wren-md5-key';
const NEW_PASSWORD = 'rotated key 2';
/** How long a blocked session is watched. BIRD retries every second. */
const QUIET_MS = 8000;

interface SynInfo {
  readonly src: string;
  readonly ack: boolean;
  readonly md5: boolean;
}

type Layers = Record<string, Record<string, unknown>>;

function layersOf(f: unknown): Layers {
  return (f as { _source?: { layers?: Layers } })._source?.layers ?? {};
}

/** Frame numbers of the frames matching a display filter. */
async function frameNumbers(cap: Capture, filter: string): Promise<Set<string>> {
  return new Set((await cap.json(filter)).map((f) => String(layersOf(f)['frame']?.['frame.number'] ?? '')));
}

/** SYN and SYN-ACK segments of a capture, with whether each carries the TCP MD5 option. */
async function syns(cap: Capture): Promise<SynInfo[]> {
  const frames = await cap.json('tcp.flags.syn == 1');
  const acks = await frameNumbers(cap, 'tcp.flags.syn == 1 && tcp.flags.ack == 1');
  const signed = await frameNumbers(cap, 'tcp.flags.syn == 1 && tcp.options.md5');
  return frames.map((f) => {
    const l = layersOf(f);
    const no = String(l['frame']?.['frame.number'] ?? '');
    return { src: String(l['ip']?.['ip.src'] ?? ''), ack: acks.has(no), md5: signed.has(no) };
  });
}

function birdCfg(routerId: string, wrenAddr: string, n: Omit<NeighborConfig, 'address' | 'remoteAs'>): SpeakerConfig {
  return { routerId, localAs: PEER_AS, neighbors: [{ address: wrenAddr, remoteAs: WREN_AS, ...n }] };
}

async function checkSigned(t: Test, cap: Capture, wrenAddr: string, peerAddr: string, wrenOpens: boolean): Promise<void> {
  await cap.stop();
  const all = await syns(cap);
  const fromWren = all.filter((s) => s.src === wrenAddr);
  const fromPeer = all.filter((s) => s.src === peerAddr);
  const opener = wrenOpens ? fromWren : fromPeer;
  const answerer = wrenOpens ? fromPeer : fromWren;
  t.ok(opener.some((s) => !s.ack), `${wrenOpens ? 'wren' : 'the peer'} sent SYNs (${opener.length})`);
  t.ok(answerer.some((s) => s.ack), `${wrenOpens ? 'the peer' : 'wren'} answered with SYN-ACKs`);
  t.same(
    all.filter((s) => !s.md5),
    [],
    `every SYN and SYN-ACK carries the MD5 option (${all.length} seen)`,
  );
}

if (await requireLab(t, ['bird2', 'gobgp', 'tshark'])) {
  t.test('TCP MD5 with BIRD 2 and GoBGP, next to an unsigned peer, and a key change by reload', async (t) => {
    const lab = await labFor(t);
    const w = await lab.addHost('w');
    const s1 = await addSpoke(lab, w, 1, 'b1');
    const s2 = await addSpoke(lab, w, 2, 'b2');
    const s3 = await addSpoke(lab, w, 3, 'b3');
    const s4 = await addSpoke(lab, w, 4, 'g4');
    const s5 = await addSpoke(lab, w, 5, 'b5');

    const wren = wrenOn(w, [
      { address: s1.peer4, remoteAs: PEER_AS, source: s1.wren4, password: PASSWORD },
      { address: s2.peer4, remoteAs: PEER_AS, source: s2.wren4, passive: true },
      { address: s3.peer4, remoteAs: PEER_AS, source: s3.wren4, password: PASSWORD, passive: true },
      { address: s4.peer4, remoteAs: PEER_AS, source: s4.wren4, password: PASSWORD },
      { address: s5.peer4, remoteAs: PEER_AS, source: s5.wren4, password: 'not-what-bird-has' },
    ]);
    const b1Cfg = birdCfg('10.0.1.2', s1.wren4, { passive: true, password: PASSWORD });
    const b1 = new Bird2Speaker(s1.host, b1Cfg);
    const b2 = new Bird2Speaker(s2.host, birdCfg('10.0.2.2', s2.wren4, {}));
    const b3 = new Bird2Speaker(s3.host, birdCfg('10.0.3.2', s3.wren4, { password: PASSWORD }));
    const g4 = new GobgpSpeaker(s4.host, birdCfg('10.0.4.2', s4.wren4, { password: PASSWORD }));
    const b5 = new Bird2Speaker(s5.host, birdCfg('10.0.5.2', s5.wren4, { password: PASSWORD }));

    const caps = await Promise.all([s1, s2, s3, s5].map((s) => w.capture(s.wrenIf)));
    const [cap1, cap2, cap3, cap5] = caps as [Capture, Capture, Capture, Capture];
    await wren.start();
    await Promise.all([b1.start(), b2.start(), b3.start(), g4.start(), b5.start()]);

    await t.test('signed sessions come up in both directions, with GoBGP, and next to an unsigned one', async (t) => {
      await waitAllEstablished(wren, [s1.peer4, s2.peer4, s3.peer4, s4.peer4], 60_000);
      await b1.waitForState(s1.wren4);
      await b2.waitForState(s2.wren4);
      await b3.waitForState(s3.wren4);
      await g4.waitForState(s4.wren4);
      t.pass('wren and BIRD (x3) and GoBGP all Established');
      await checkSigned(t, cap1, s1.wren4, s1.peer4, true);
      await checkSigned(t, cap3, s3.wren4, s3.peer4, false);
      await cap2.stop();
      const plain = await syns(cap2);
      t.ok(plain.length >= 2, 'the unsigned peer connected through the same listener');
      t.same(
        plain.filter((s) => s.md5),
        [],
        'and no MD5 option on its SYN or on our SYN-ACK',
      );
    });

    await t.test('a wrong password: no session on either side, no OPEN on the wire', async (t) => {
      await sleep(QUIET_MS);
      const n = await neighbor(wren, s5.peer4);
      t.match(n.state, /^(Active|Connect)$/, `wren stays ${n.state}`);
      t.equal(n.messages.in.open, 0, 'wren received no OPEN');
      const bs = await b5.peerState(s5.wren4);
      t.match(bs.state, /^(Active|Connect)$/, `BIRD stays ${bs.state}`);
      await cap5.stop();
      t.same(await cap5.bgpMessages(), [], 'no BGP message at all on the link');
      const s = await syns(cap5);
      t.ok(
        s.some((x) => x.src === s5.wren4 && !x.ack && x.md5),
        'wren kept sending signed SYNs',
      );
      t.notOk(
        s.some((x) => x.ack),
        'none was answered: each side drops the other\'s SYN (bad signature)',
      );
    });

    await t.test('reload with a new password resets only that peer, which comes back with the new key', async (t) => {
      const before = new Map((await wren.neighbors()).map((n) => [n.address, n]));
      const peers = (wren.configObject()['peers'] as Record<string, unknown>[]).map((p) => (p['address'] === s1.peer4 ? { ...p, password: NEW_PASSWORD } : p));
      await wren.setExtra({ peers });
      await wren.reload();
      await waitFor(async () => ((await neighbor(wren, s1.peer4)).state !== 'Established' ? true : undefined), { timeoutMs: 10_000, what: 'b1 reset' });
      await sleep(QUIET_MS);
      const n1 = await neighbor(wren, s1.peer4);
      t.not(n1.state, 'Established', 'wren has the new key, BIRD the old one: no session');
      // BIRD gets the new key (its protocol restarts on the password change).
      await writeFile(join(s1.host.dir, 'bird2.conf'), bird2Config({ ...b1Cfg, neighbors: b1Cfg.neighbors.map((x) => ({ ...x, password: NEW_PASSWORD })) }));
      t.match(await b1.cli('configure'), /Reconfigur/, 'BIRD reconfigured');
      await waitAllEstablished(wren, [s1.peer4], 60_000);
      await b1.waitForState(s1.wren4);
      t.pass('b1 Established again with the new key');
      const after = new Map((await wren.neighbors()).map((n) => [n.address, n]));
      for (const a of [s2.peer4, s3.peer4, s4.peer4]) {
        t.equal(after.get(a)?.state, 'Established', `${a} still Established`);
        t.equal(after.get(a)?.sinceMs, before.get(a)?.sinceMs, `${a} did not flap`);
        t.equal(after.get(a)?.messages.in.open, before.get(a)?.messages.in.open, `${a}: no new OPEN`);
      }
      const n1After = after.get(s1.peer4);
      t.ok((n1After?.sinceMs ?? 0) > (before.get(s1.peer4)?.sinceMs ?? 0), 'b1 is a new session');
      t.equal(n1After?.messages.in.open, 1, 'b1: one OPEN on the new session (the peer was re-created with fresh counters)');
    });
  });
}
