// Reloads with real peers. wren peers with BIRD 2 (p1, p2, p4) and GoBGP (p3) over iBGP, each on
// its own link. For each kind of change the test records every session's `since` (bgpctl show
// neighbors --json) before the reload, applies it with `bgpctl reload` (or SIGHUP), and checks
// which sessions reset and which stayed up, and — from a capture on wren's side of every link —
// which NOTIFICATIONs wren sent, as config/diff.ts and ARCHITECTURE.md define it:
//   peer added            -> only the new session comes up
//   policy only           -> (blocks, pools, disable-bgp-export) nothing resets; the routes change
//   one peer's next-hop   -> export policy: nothing resets, and the routes wren learned from that
//                            peer stay in its RIB (the Adj-RIB-Out is recomputed, not the Adj-RIB-In)
//   one peer's hold time  -> only that session resets, Cease / Other Configuration Change (6/6)
//   one peer's add-path   -> same, on the GoBGP peer (a capability in OPEN)
//   peer removed          -> only that session closes, Cease / Peer De-configured (6/3)
//   broken or half-written file -> `bgpctl reload` exits 1 with FILE:LINE:COL, nothing changes
//   SIGHUP                -> the same reload as bgpctl
//   router-id             -> every session resets with Cease / Other Configuration Change
// The JSON log is checked along the way: one `fsm.transition` line per state change (peer, from,
// to, reason) and one `config.reload` line per reload (the changes, or the errors).
import t from 'tap';
import type { Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import type { Capture, Speaker } from '../lab/lib/index.js';
import { labFor, requireLab, waitFor } from '../lab/lib/index.js';
import type { NeighborStatus } from '../../src/status.js';
import { addSpoke, logLines, neighborsByAddr, peerSpeaker, waitEstablished, wrenOn, wrenPeer } from './star.js';
import type { Spoke } from './star.js';

const B1 = '172.18.64.0/26';
const B2 = '172.18.65.0/26';
const B3 = '172.18.66.0/26';
/** Originated by BIRD on p1: wren must keep it through reloads that do not reset p1. */
const P1_ROUTE = '10.71.1.0/24';
const POOL = '172.18.64.0/18';
const CEASE = 6;
const PEER_DECONFIGURED = 3;
const OTHER_CONFIGURATION_CHANGE = 6;

if (await requireLab(t, ['bird2', 'gobgp', 'tshark'])) {
  t.test('reload kinds against BIRD 2 and GoBGP peers', async (t) => {
    const lab = await labFor(t);
    const w = await lab.addHost('w');
    const sp: Spoke[] = [];
    for (const [i, name] of ['p1', 'p2', 'p3', 'p4'].entries()) sp.push(await addSpoke(lab, w, i + 1, name));
    const [p1, p2, p3, p4] = sp as [Spoke, Spoke, Spoke, Spoke];
    const peers = new Map<Spoke, Speaker>([
      [p1, peerSpeaker('bird2', p1, [P1_ROUTE])],
      [p2, peerSpeaker('bird2', p2)],
      [p3, peerSpeaker('gobgp', p3)],
      [p4, peerSpeaker('bird2', p4)],
    ]);
    const peer = (s: Spoke): Speaker => peers.get(s)!;

    // wren's config is rebuilt from this state for every step.
    const state = {
      routerId: '10.0.0.50',
      peers: new Map<Spoke, Record<string, unknown>>([
        [p1, {}],
        [p2, {}],
        [p3, {}],
      ]),
      blocks: [B1],
      pools: [{ cidr: POOL, 'ipip-mode': 'Never', 'disable-bgp-export': false }] as Record<string, unknown>[],
    };
    const extra = () => ({
      'router-id': state.routerId,
      blocks: state.blocks,
      pools: state.pools,
      peers: [...state.peers].map(([s, over]) => wrenPeer(s, over)),
    });
    const wren = wrenOn(w, extra());
    await Promise.all([...peers.values()].map((p) => p.start()));
    await wren.start();
    await waitEstablished(wren, [p1.peerAddr, p2.peerAddr, p3.peerAddr]);
    await peer(p1).waitForRoute(B1);
    await peer(p3).waitForRoute(B1);
    t.equal((await peer(p4).peerState(p4.wrenAddr)).state === 'Established', false, 'p4 is not up before wren knows it');

    let reloads = 0;
    const reloadLogs = () => logLines(wren).filter((l) => l['event'] === 'config.reload' && 'ok' in l);

    /** Apply the current state with `bgpctl reload`; returns its stdout (the change list). */
    async function reload(t: Test): Promise<string> {
      await wren.setExtra(extra());
      const r = await wren.ctlText(['reload']);
      t.equal(r.code, 0, `bgpctl reload exits 0 (${r.stderr.trim()})`);
      reloads++;
      await waitFor(async () => reloadLogs().length >= reloads || undefined, { timeoutMs: 5000, what: 'config.reload log line' });
      const line = reloadLogs()[reloads - 1]!;
      const listed = r.stdout.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4));
      t.same(line['changes'], listed, 'one config.reload log line, with the same changes bgpctl printed');
      return r.stdout;
    }

    interface Expect {
      readonly reset: readonly Spoke[];
      readonly same: readonly Spoke[];
      /** NOTIFICATION wren sends to each reset/removed peer (code 6 with this subcode). */
      readonly subcode?: number;
      /** Removed peers: gone from wren's table after the reload. */
      readonly removed?: readonly Spoke[];
      readonly added?: readonly Spoke[];
    }

    /** Run one reload step with captures on every link and check sessions and the wire. */
    async function step(t: Test, apply: () => Promise<void>, ex: Expect): Promise<void> {
      const before = await neighborsByAddr(wren);
      const caps = new Map<Spoke, Capture>();
      await Promise.all(sp.map(async (s) => caps.set(s, await w.capture(s.wrenIf))));
      const logFrom = logLines(wren).length;
      const birdReceived = (s: Spoke): string[] => peer(s).logs().split('\n').filter((l) => / Received: /.test(l));
      const birdBefore = new Map(sp.filter((s) => peer(s).kind === 'bird2').map((s) => [s, birdReceived(s).length]));
      await apply();
      const up = [...ex.reset, ...ex.same, ...(ex.added ?? [])].map((s) => s.peerAddr);
      const after = await waitFor(
        async () => {
          const m = await neighborsByAddr(wren);
          const ok = up.every((a) => m.get(a)?.state === 'Established') && ex.reset.every((s) => m.get(s.peerAddr)!.sinceMs !== before.get(s.peerAddr)!.sinceMs);
          return ok ? m : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'sessions back up after the reload' },
      );
      // Give a wrongly reset session time to show up as one.
      await new Promise((r) => setTimeout(r, 1500));
      const settled = await neighborsByAddr(wren);
      for (const s of ex.same) {
        t.equal(settled.get(s.peerAddr)?.sinceMs, before.get(s.peerAddr)?.sinceMs, `${s.name} (${peer(s).kind}) stayed up: since unchanged`);
        t.equal(settled.get(s.peerAddr)?.state, 'Established', `${s.name} Established`);
      }
      for (const s of ex.reset) {
        t.not(after.get(s.peerAddr)?.sinceMs, before.get(s.peerAddr)?.sinceMs, `${s.name} (${peer(s).kind}) was reset: since changed`);
        t.equal(settled.get(s.peerAddr)?.state, 'Established', `${s.name} Established again`);
      }
      for (const s of ex.removed ?? []) t.notOk(settled.has(s.peerAddr), `${s.name} is no longer a neighbour`);
      for (const s of ex.added ?? []) t.equal(settled.get(s.peerAddr)?.state, 'Established', `${s.name} added and Established`);
      await Promise.all([...caps.values()].map((c) => c.stop()));
      for (const s of sp) {
        const fromWren = (await caps.get(s)!.notifications()).filter((n) => n.src === s.wrenAddr);
        if (ex.reset.includes(s) || (ex.removed ?? []).includes(s)) {
          t.same(
            fromWren.map((n) => [n.errorCode, n.errorSubcode]),
            [[CEASE, ex.subcode]],
            `wren sent ${s.name} one NOTIFICATION Cease/${ex.subcode === PEER_DECONFIGURED ? 'Peer De-configured' : 'Other Configuration Change'}`,
          );
        } else {
          t.same(fromWren, [], `no NOTIFICATION to ${s.name}`);
        }
        const fromPeer = (await caps.get(s)!.notifications()).filter((n) => n.src === s.peerAddr);
        t.same(fromPeer, [], `${s.name} sent no NOTIFICATION`);
      }
      // BIRD's side: what its log says it received (BIRD's wording of the Cease subcode). BIRD
      // writes the line when it processes the NOTIFICATION, which on a loaded machine can trail
      // wren's view of the reset: give it a few seconds before reading.
      for (const [s, n] of birdBefore) {
        if (!(ex.reset.includes(s) || (ex.removed ?? []).includes(s))) continue;
        await waitFor(() => (birdReceived(s).length > n ? true : undefined), { timeoutMs: 10_000, intervalMs: 100, what: `BIRD on ${s.name} logs the NOTIFICATION` }).catch(() => undefined);
      }
      for (const [s, n] of birdBefore) {
        const got = birdReceived(s).slice(n);
        if (ex.reset.includes(s) || (ex.removed ?? []).includes(s)) {
          t.equal(got.length, 1, `BIRD on ${s.name} logged one received NOTIFICATION`);
          t.match(got[0], ex.subcode === PEER_DECONFIGURED ? /Received: Peer de-configured/i : /Received: Other configuration change/i, `BIRD on ${s.name}: ${got[0]?.replace(/^.*<RMT> /, '')}`);
        } else {
          t.same(got, [], `BIRD on ${s.name} received no NOTIFICATION`);
        }
      }
      // The log: one fsm.transition per state change of a reset session, with peer/from/to/reason.
      const trans = logLines(wren).slice(logFrom).filter((l) => l['event'] === 'fsm.transition');
      for (const s of [...ex.reset, ...(ex.removed ?? [])]) {
        const mine = trans.filter((l) => l['peer'] === s.peerAddr);
        const down = mine.find((l) => l['from'] === 'Established');
        t.ok(down !== undefined, `${s.name}: log line for leaving Established`);
        t.match(down, { peer: s.peerAddr, name: s.proto, from: 'Established', to: String, reason: /\S/ }, `${s.name}: peer, name, old and new state, reason`);
        if (!(ex.removed ?? []).includes(s)) t.ok(mine.some((l) => l['to'] === 'Established'), `${s.name}: log line for Established again`);
        for (const l of mine) t.not(l['from'], l['to'], 'a transition line is a change of state');
      }
      for (const s of ex.same) t.same(trans.filter((l) => l['peer'] === s.peerAddr), [], `${s.name}: no transitions logged`);
    }

    t.test('peer added: only the new session comes up', async (t) => {
      await step(
        t,
        async () => {
          state.peers.set(p4, {});
          t.match(await reload(t), /peer Global_10_0_4_2 added/);
        },
        { reset: [], same: [p1, p2, p3], added: [p4] },
      );
      await peer(p4).waitForRoute(B1);
    });

    t.test('policy only: blocks, pools, disable-bgp-export; nothing resets', async (t) => {
      await step(
        t,
        async () => {
          state.blocks = [B1, B2];
          t.match(await reload(t), /policy changed \(blocks \+1\/-0/);
          await peer(p1).waitForRoute(B2);
          await peer(p3).waitForRoute(B2);
          state.blocks = [B1];
          t.match(await reload(t), /policy changed \(blocks \+0\/-1/);
          await peer(p1).waitForNoRoute(B2);
          await peer(p3).waitForNoRoute(B2);
          state.pools = [{ cidr: POOL, 'ipip-mode': 'Always', 'disable-bgp-export': false }];
          t.match(await reload(t), /policy changed \(blocks \+0\/-0, pools \+0\/-0\/~1\)/);
          state.pools = [{ cidr: POOL, 'ipip-mode': 'Always', 'disable-bgp-export': true }];
          await reload(t);
          await peer(p1).waitForNoRoute(B1);
          await peer(p3).waitForNoRoute(B1);
          await peer(p4).waitForNoRoute(B1);
          state.pools = [{ cidr: POOL, 'ipip-mode': 'Never', 'disable-bgp-export': false }];
          await reload(t);
          await peer(p1).waitForRoute(B1);
          await peer(p3).waitForRoute(B1);
        },
        { reset: [], same: [p1, p2, p3, p4] },
      );
    });

    t.test("one BIRD peer's next-hop: nothing resets, its routes stay", async (t) => {
      await wren.waitForRoute(P1_ROUTE);
      await step(
        t,
        async () => {
          state.peers.set(p1, { 'next-hop': 'self' });
          t.match(await reload(t), /peer Global_10_0_1_2 changed \(nextHop\)/);
        },
        { reset: [], same: [p1, p2, p3, p4] },
      );
      const held = await wren.routes(P1_ROUTE);
      t.equal(held.filter((r) => !r.local).length, 1, `wren still holds ${P1_ROUTE} from p1 after the reload`);
      state.peers.set(p1, {});
      await reload(t);
      t.equal((await wren.routes(P1_ROUTE)).length, 1, 'and after the change back');
    });

    t.test("one BIRD peer's hold time: only that session resets", async (t) => {
      await step(
        t,
        async () => {
          state.peers.set(p2, { hold: 9, keepalive: 3 });
          t.match(await reload(t), /peer Global_10_0_2_2 changed \(holdTimeSec, keepaliveSec\): session reset/);
        },
        { reset: [p2], same: [p1, p3, p4], subcode: OTHER_CONFIGURATION_CHANGE },
      );
    });

    t.test("the GoBGP peer's add-path: only that session resets", async (t) => {
      await step(
        t,
        async () => {
          state.peers.set(p3, { 'add-path': 'rx' });
          t.match(await reload(t), /peer Global_10_0_3_2 changed \(addPath\): session reset/);
        },
        { reset: [p3], same: [p1, p2, p4], subcode: OTHER_CONFIGURATION_CHANGE },
      );
      const n = (await neighborsByAddr(wren)).get(p3.peerAddr) as NeighborStatus;
      t.ok(n.capabilities.local.some((c) => /add-?path/i.test(c)), `wren now offers ADD-PATH to p3 (${n.capabilities.local.join(', ')})`);
    });

    t.test('peer removed: only that session closes, Cease / Peer De-configured', async (t) => {
      await step(
        t,
        async () => {
          state.peers.delete(p4);
          t.match(await reload(t), /peer Global_10_0_4_2 removed/);
        },
        { reset: [], same: [p1, p2, p3], removed: [p4], subcode: PEER_DECONFIGURED },
      );
      await waitFor(async () => (await peer(p4).peerState(p4.wrenAddr)).state !== 'Established' || undefined, { timeoutMs: 10_000, what: 'p4 down' });
    });

    t.test('broken files: errors with FILE:LINE:COL, the running config stays', async (t) => {
      const good = await readFile(wren.configFile, 'utf8');
      const statusBefore = await wren.ctl<{ configLoadedMs: number }>(['show', 'status']);
      const cases: [string, string][] = [
        ['syntax error', good.replace(/"asn": 65000,/, '"asn": 65000,,\n  "bogus": [1,')],
        ['half-written file', good.slice(0, Math.floor(good.length / 2))],
        ['invalid value', good.replace(/"router-id": "[^"]+"/, '"router-id": "10.0.0.500"')],
      ];
      await step(
        t,
        async () => {
          for (const [what, text] of cases) {
            await writeFile(wren.configFile, text);
            const r = await wren.ctlText(['reload']);
            t.equal(r.code, 1, `${what}: bgpctl reload exits 1`);
            const out = r.stdout + r.stderr;
            t.match(out, new RegExp(`${wren.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: \\S`), `${what}: FILE:LINE:COL: message (${out.trim().split('\n')[0]})`);
            reloads++;
            const line = reloadLogs()[reloads - 1];
            t.match(line, { ok: false, level: 'error', errors: [String] }, `${what}: logged with its errors`);
          }
        },
        { reset: [], same: [p1, p2, p3] },
      );
      const statusAfter = await wren.ctl<{ configLoadedMs: number; routerId: string }>(['show', 'status']);
      t.equal(statusAfter.configLoadedMs, statusBefore.configLoadedMs, 'config load time unchanged');
      t.equal(statusAfter.routerId, '10.0.0.50', 'router id of the running config');
      t.same([...(await neighborsByAddr(wren)).keys()].sort(), [p1.peerAddr, p2.peerAddr, p3.peerAddr], 'the running neighbours');
      t.ok((await peer(p1).routes(B1)).length > 0, 'routes still announced');
      await writeFile(wren.configFile, good);
    });

    t.test('SIGHUP reloads like bgpctl reload', async (t) => {
      await step(
        t,
        async () => {
          state.blocks = [B1, B3];
          await wren.setExtra(extra());
          t.ok(wren.process?.signal('SIGHUP'), 'SIGHUP sent');
          reloads++;
          await waitFor(async () => reloadLogs().length >= reloads || undefined, { timeoutMs: 5000, what: 'config.reload log line' });
          t.match(reloadLogs()[reloads - 1], { ok: true, changes: [/policy changed \(blocks \+1\/-0/] });
          await peer(p1).waitForRoute(B3);
          await peer(p3).waitForRoute(B3);
        },
        { reset: [], same: [p1, p2, p3] },
      );
    });

    t.test('router-id: every session resets', async (t) => {
      await step(
        t,
        async () => {
          state.routerId = '10.0.0.51';
          t.match(await reload(t), /global reset \(router-id 10\.0\.0\.50 -> 10\.0\.0\.51\)/);
        },
        { reset: [p1, p2, p3], same: [], subcode: OTHER_CONFIGURATION_CHANGE },
      );
      const st = await wren.ctl<{ routerId: string }>(['show', 'status']);
      t.equal(st.routerId, '10.0.0.51');
      await peer(p1).waitForRoute(B3);
    });
  });
}
