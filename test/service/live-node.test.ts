// One running wren in a namespace with a real BIRD 2 peer, seen the ways an operator sees it:
//  - GET /metrics (curl inside the namespace): per-peer state and counters that agree with
//    `bgpctl show neighbors --json`, RIB size, kernel routes and sync errors (the node has no
//    tunl0, so the route learned in an IPIP pool cannot be written: ENODEV), event-loop delay,
//    memory; 404 for anything but GET /metrics; the gauges follow a session going down.
//  - Debian's BIRD 1.6 birdc (-s on wren's BIRD-compatible socket): show protocols, show protocols
//    all, show route, show status in BIRD's format and consistent with the session; calicoctl's
//    parser (src/control/calico-parse.ts) turns the live `show protocols` into the expected table.
//  - The JSON log: one line per kernel sync error, and `bgpctl log level debug` changes the level
//    live (the next control command logs a debug line; before it, none).
process.env['TZ'] = 'UTC';
import t from 'tap';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import type { NeighborStatus } from '../../src/status.js';
import { parseCalicoProtocols } from '../../src/control/calico-parse.js';
import { bird1Paths, labFor, requireLab, waitFor } from '../lab/lib/index.js';
import { addSpoke, logLines, peerSpeaker, waitEstablished, wrenOn, wrenPeer } from './star.js';

const BLOCK = '172.18.64.0/26';
const PEER_BLOCK = '172.18.96.0/26';
const METRICS = '127.0.0.1:9179';

function run(bin: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 15_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** Samples of one scrape as `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const i = l.lastIndexOf(' ');
    m.set(l.slice(0, i), Number(l.slice(i + 1)));
  }
  return m;
}

/** What calicoctl does: connect to the BIRD socket, send one command, read up to the 0000 line. */
function rawBird(path: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let sent = false;
    const c = connect(path);
    c.setEncoding('utf8');
    c.on('error', reject);
    c.setTimeout(10_000, () => c.destroy(new Error(`no complete reply to ${command}`)));
    c.on('data', (d: string) => {
      buf += d;
      if (!sent && buf.includes('\n')) {
        sent = true;
        c.write(`${command}\n`);
      }
      if (sent && /(^|\n)0000[ -]?[^\n]*\n?$/.test(buf.slice(buf.indexOf('\n') + 1))) {
        c.end();
        resolve(buf);
      }
    });
  });
}

const b1 = bird1Paths();

if (await requireLab(t, ['bird2'])) {
  t.test('a running wren: metrics, birdc, logs', async (t) => {
    if (b1 instanceof Error) {
      t.fail(b1.message);
      return;
    }
    const lab = await labFor(t);
    const w = await lab.addHost('w');
    const s = await addSpoke(lab, w, 1, 'p1');
    const bird = peerSpeaker('bird2', s, [PEER_BLOCK]);
    const wren = wrenOn(
      w,
      {
        blocks: [BLOCK],
        pools: [{ cidr: '172.18.64.0/18', 'ipip-mode': 'Always' }],
        peers: [wrenPeer(s)],
        kernel: { program: true, persist: false },
        metrics: { listen: METRICS },
      },
      'info',
    );
    await bird.start();
    await wren.start();
    const est = (await waitEstablished(wren, [s.peerAddr])).get(s.peerAddr) as NeighborStatus;
    await bird.waitForRoute(BLOCK);
    await wren.waitForRoute(PEER_BLOCK);
    const scrape = async (path = '/metrics', method = 'GET') => {
      const r = await w.exec('curl', ['-s', '-X', method, '-o', '-', '-w', '\\n%{http_code} %{content_type}', `http://${METRICS}${path}`]);
      const i = r.stdout.lastIndexOf('\n');
      return { body: r.stdout.slice(0, i), status: r.stdout.slice(i + 1) };
    };

    t.test('metrics', async (t) => {
      // The blocked kernel write is retried with back-off: wait for it to be counted.
      const text = await waitFor(
        async () => {
          const r = await scrape();
          return (samples(r.body).get('wren_kernel_sync_errors_total') ?? 0) >= 1 ? r : undefined;
        },
        { timeoutMs: 15_000, what: 'a kernel sync error in /metrics' },
      );
      t.equal(text.status, '200 text/plain; version=0.0.4; charset=utf-8', 'HTTP 200, Prometheus text format');
      const m = samples(text.body);
      const peer = `peer="${s.peerAddr}",name="${s.proto}"`;
      t.equal(m.get(`wren_bgp_peer_up{${peer}}`), 1, 'peer up');
      t.equal(m.get(`wren_bgp_peer_state{${peer},state="Established"}`), 1, 'state Established');
      t.equal(m.get(`wren_bgp_peer_state{${peer},state="Idle"}`), 0);
      const n = (await wren.neighbors())[0]!;
      t.equal(m.get(`wren_bgp_peer_since_seconds{${peer}}`), n.sinceMs / 1000, 'since agrees with bgpctl');
      t.equal(n.sinceMs, est.sinceMs, 'the session has not flapped');
      t.equal(m.get(`wren_bgp_messages_received_total{${peer},type="open"}`), 1, 'one OPEN received');
      t.equal(m.get(`wren_bgp_messages_sent_total{${peer},type="open"}`), 1, 'one OPEN sent');
      t.ok((m.get(`wren_bgp_messages_received_total{${peer},type="update"}`) ?? 0) >= 1, 'UPDATEs received');
      t.ok((m.get(`wren_bgp_messages_sent_total{${peer},type="update"}`) ?? 0) >= 1, 'UPDATEs sent');
      t.ok((m.get(`wren_bgp_messages_received_total{${peer},type="keepalive"}`) ?? 0) >= 1, 'KEEPALIVEs received');
      t.ok((m.get(`wren_bgp_bytes_received_total{${peer}}`) ?? 0) > 19, 'bytes received');
      t.equal(m.get(`wren_bgp_prefixes_received{${peer}}`), 1, 'one prefix from BIRD');
      t.equal(m.get(`wren_bgp_prefixes_advertised{${peer}}`), 1, 'our block advertised');
      t.equal(m.get('wren_rib_routes{family="ipv4"}'), 2, 'Loc-RIB: our block and BIRD’s');
      t.equal(m.get('wren_rib_routes{family="ipv6"}'), 0);
      t.equal(m.get('wren_kernel_routes{state="desired"}'), 2, 'kernel: two routes desired');
      t.equal(m.get('wren_kernel_routes{state="installed"}'), 1, 'the blackhole installed');
      t.equal(m.get('wren_kernel_routes{state="failed"}'), 1, 'the tunl0 route failed');
      t.ok((m.get('wren_uptime_seconds') ?? 0) > 0, 'uptime');
      for (const q of ['p50', 'p99', 'max']) {
        const v = m.get(`wren_event_loop_delay_${q}_seconds`) ?? -1;
        t.ok(v > 0 && v < 1, `event-loop delay ${q} ${v}s`);
      }
      t.ok((m.get('wren_process_resident_memory_bytes') ?? 0) > 20e6, 'RSS');
      t.ok((m.get('wren_process_heap_used_bytes') ?? 0) > 1e6, 'heap');
      t.equal((await scrape('/')).status.split(' ')[0], '404', 'GET / is 404');
      t.equal((await scrape('/metricsx')).status.split(' ')[0], '404', 'GET /metricsx is 404');
      t.equal((await scrape('/metrics', 'POST')).status.split(' ')[0], '404', 'POST /metrics is 404');

      // The routes in the kernel, and the one sync error logged.
      t.match(await w.routes(4), new RegExp(`blackhole ${BLOCK.replace('.', '\\.')} proto bird`), 'blackhole installed');
      const errs = logLines(wren).filter((l) => l['component'] === 'kernel' && l['msg'] === 'kernel write failed');
      t.ok(errs.length >= 1, `kernel sync error logged (${errs.length} line(s): first failure, then at powers of two)`);
      t.match(errs[0], { level: 'warn', prefix: PEER_BLOCK, error: /tunl0/, attempts: 1 });

      // The gauges follow the session down.
      t.equal((await wren.ctlText(['neighbor', s.peerAddr, 'disable'])).code, 0);
      await waitFor(async () => samples((await scrape()).body).get(`wren_bgp_peer_up{${peer}}`) === 0 || undefined, { timeoutMs: 10_000, what: 'peer_up 0' });
      const down = samples((await scrape()).body);
      t.equal(down.get(`wren_bgp_peer_state{${peer},state="Idle"}`), 1, 'Idle after disable');
      t.equal(down.get(`wren_bgp_peer_enabled{${peer}}`), 0, 'disabled');
      t.equal(down.get('wren_rib_routes{family="ipv4"}'), 1, 'BIRD’s route gone from the RIB');
      t.equal((await wren.ctlText(['neighbor', s.peerAddr, 'enable'])).code, 0);
      await waitEstablished(wren, [s.peerAddr]);
    });

    t.test('BIRD 1.6 birdc against the running wren', async (t) => {
      const n = (await wren.neighbors())[0]!;
      const since = new Date(n.sinceMs).toISOString().slice(11, 19);
      const birdc = (...args: string[]) => run(b1.birdc, ['-s', wren.birdSocket, ...args]);

      const protos = await birdc('show', 'protocols');
      t.equal(protos.code, 0, 'show protocols: exit 0');
      const lines = protos.stdout.split('\n');
      t.match(lines[0], /^BIRD (v0\.3\.3\+bird)?v?1\.6\.\d+ ready\.$/, 'greeting: BIRD 1.6 (Calico’s build string)');
      t.match(lines[1], /^name\s+proto\s+table\s+state\s+since\s+info$/, 'header');
      t.ok(lines.some((l) => new RegExp(`^${s.proto}\\s+BGP\\s+master\\s+up\\s+${since}\\s+Established\\s*$`).test(l)), `a ${s.proto} row: up since ${since}, Established`);

      const all = await birdc('show', 'protocols', 'all', s.proto);
      t.equal(all.code, 0);
      t.match(all.stdout, new RegExp(`${s.proto}\\s+BGP\\s+master\\s+up\\s+${since}\\s+Established`));
      t.match(all.stdout, /\n\s+BGP state:\s+Established\n/);
      t.match(all.stdout, new RegExp(`\\n\\s+Neighbor address:\\s+${s.peerAddr.replaceAll('.', '\\.')}\\n`));
      t.match(all.stdout, /\n\s+Neighbor AS:\s+65000\n/);
      t.match(all.stdout, new RegExp(`\\n\\s+Neighbor ID:\\s+${s.peerAddr.replaceAll('.', '\\.')}\\n`));
      t.match(all.stdout, /\n\s+Routes:\s+1 imported, 1 exported, 1 preferred\n/);
      t.match(all.stdout, /\n\s+Hold timer:\s+\d+(\.\d+)?\/6\n/, 'hold time 6 negotiated');

      const route = await birdc('show', 'route');
      t.equal(route.code, 0);
      t.match(route.stdout, new RegExp(`${PEER_BLOCK.replace('.', '\\.')}\\s+via ${s.peerAddr.replaceAll('.', '\\.')} on \\S+ \\[${s.proto} [^\\]]+\\] \\* \\(100/0\\) \\[i\\]`), 'the peer’s route, best, from the session');
      t.match(route.stdout, new RegExp(`${BLOCK.replace('.', '\\.')}\\s+blackhole`), 'our block, blackholed');

      const status = await birdc('show', 'status');
      t.equal(status.code, 0);
      t.match(status.stdout, /\nBIRD (v0\.3\.3\+bird)?v?1\.6\.\d+\nRouter ID is 10\.0\.0\.50\nCurrent server time is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nLast reboot on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nLast reconfiguration on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nDaemon is up and running\n/);

      // `reload in X`: a ROUTE-REFRESH to the peer (BIRD 2 negotiates it), the session stays.
      const refreshOut = (await wren.neighbors())[0]!.messages.out.routeRefresh;
      const reload = await birdc('reload', 'in', s.proto);
      t.equal(reload.code, 0, 'reload in: exit 0');
      t.match(reload.stdout, new RegExp(`\\n${s.proto}: reloading\\n`), `reload in ${s.proto}: reloading (0015)`);
      await waitFor(async () => (await wren.neighbors())[0]!.messages.out.routeRefresh > refreshOut || undefined, { timeoutMs: 5000, what: 'a ROUTE-REFRESH sent' });
      t.equal((await wren.neighbors())[0]!.sinceMs, n.sinceMs, 'the session stayed up');
      await bird.waitForRoute(BLOCK);

      // calicoctl node status reads the raw reply from the socket itself.
      t.same(parseCalicoProtocols(await rawBird(wren.birdSocket, 'show protocols'), 4), [{ peerAddress: s.peerAddr, peerType: 'global', state: 'up', since, info: 'Established' }], 'calicoctl table from the live socket');

      // And when the session is down, the same views agree.
      t.equal((await wren.ctlText(['neighbor', s.peerAddr, 'disable'])).code, 0);
      await waitFor(async () => (await wren.neighbors())[0]!.state === 'Idle' || undefined, { timeoutMs: 10_000, what: 'Idle' });
      const rawDown = await rawBird(wren.birdSocket, 'show protocols');
      // BIRD 1.6 prints a manually disabled BGP protocol as `down` with an empty info column
      // (bgp_get_status: no state text when PS_DOWN, no error text for BE_MAN_DOWN), and calicoctl
      // drops rows with fewer than six columns: the peer leaves calicoctl's table.
      t.match(rawDown, new RegExp(`\\n ${s.proto} +BGP +master +down +\\d\\d:\\d\\d:\\d\\d *\\n`), 'raw row: down, no info');
      t.same(parseCalicoProtocols(rawDown, 4), [], 'calicoctl, as with BIRD, lists no row for a disabled peer');
      t.match((await birdc('show', 'protocols', 'all', s.proto)).stdout, /\n\s+BGP state:\s+Down\n/);
      t.notMatch((await birdc('show', 'route')).stdout, new RegExp(PEER_BLOCK.replace('.', '\\.')), 'its route is gone');
      t.equal((await wren.ctlText(['neighbor', s.peerAddr, 'enable'])).code, 0);
      await waitEstablished(wren, [s.peerAddr]);
    });

    t.test('bgpctl log level debug takes effect live', async (t) => {
      const isDebugCommand = (l: Record<string, unknown>) => l['level'] === 'debug' && l['event'] === 'control.command';
      t.equal((await wren.ctlText(['show', 'status'])).code, 0);
      await new Promise((r) => setTimeout(r, 300));
      t.same(logLines(wren).filter(isDebugCommand), [], 'at level info, no debug lines');
      const r = await wren.ctlText(['log', 'level', 'debug']);
      t.equal(r.code, 0, `log level debug: ${r.stdout.trim()}`);
      t.equal((await wren.ctlText(['show', 'status'])).code, 0);
      const lines = await waitFor(async () => {
        const d = logLines(wren).filter(isDebugCommand);
        return d.length > 0 ? d : undefined;
      }, { timeoutMs: 5000, what: 'a debug line' });
      t.match(lines[lines.length - 1], { level: 'debug', event: 'control.command', command: 'show status' }, 'the next command logs at debug');
      t.equal((await wren.ctlText(['log', 'level', 'info'])).code, 0);
      const count = logLines(wren).filter(isDebugCommand).length;
      t.equal((await wren.ctlText(['show', 'status'])).code, 0);
      await new Promise((r) => setTimeout(r, 300));
      t.equal(logLines(wren).filter(isDebugCommand).length, count, 'and back at info, none again');
      const bad = await wren.ctlText(['log', 'level', 'loud']);
      t.not(bad.code, 0, 'an unknown level is refused');
    });
  });
}
