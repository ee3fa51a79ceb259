// sd_notify from bgpd. Unit part: SystemdNotifier with a recording sender (no-op without
// NOTIFY_SOCKET, WATCHDOG_PID matching, one error log then silence when sending fails). Live part:
// the built bgpd runs with NOTIFY_SOCKET (a python3 AF_UNIX/SOCK_DGRAM receiver), WATCHDOG_USEC
// and WATCHDOG_PID set the way systemd sets them; the receiver sees READY=1, then for
// `bgpctl reload` and for SIGHUP RELOADING=1 (with a CLOCK_MONOTONIC timestamp) followed by
// READY=1, then STOPPING=1 on SIGTERM, with WATCHDOG=1 at half the watchdog interval throughout.
// bgpd listens on 127.0.0.1 only and programs no kernel routes.
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { SystemdNotifier, watchdogUsec } from '../../src/systemd.js';

const BGPD = fileURLToPath(new URL('../../dist/src/bgpd.js', import.meta.url));
const BGPCTL = fileURLToPath(new URL('../../dist/src/bgpctl.js', import.meta.url));

function memLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void chunks.push(s) });
  return { logger, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('SystemdNotifier', async (t) => {
  t.test('no NOTIFY_SOCKET: nothing is sent, nothing fails', async (t) => {
    const sent: string[] = [];
    const { logger, lines } = memLogger();
    const n = new SystemdNotifier({ logger, env: { WATCHDOG_USEC: '1000000' }, send: (m) => void sent.push(m) });
    t.equal(n.enabled, false);
    t.equal(n.watchdogUsec, null, 'no watchdog without a socket');
    n.startWatchdog();
    n.ready('x');
    n.reloading();
    n.stopping();
    n.close();
    t.same(sent, []);
    t.same(lines(), [], 'and nothing logged');
  });
  t.test('messages and MONOTONIC_USEC', async (t) => {
    const sent: [string, string][] = [];
    const { logger } = memLogger();
    const n = new SystemdNotifier({ logger, env: { NOTIFY_SOCKET: '@wren-test' }, send: (m, p) => void sent.push([p, m]), monotonicUsec: () => 1234567n });
    n.ready('running: 2 peers\nsecond line');
    n.reloading();
    n.ready();
    n.stopping('stopping (SIGTERM)');
    n.status('hello');
    t.same(sent, [
      ['@wren-test', 'READY=1\nSTATUS=running: 2 peers second line'],
      ['@wren-test', 'RELOADING=1\nMONOTONIC_USEC=1234567\nSTATUS=reloading configuration'],
      ['@wren-test', 'READY=1'],
      ['@wren-test', 'STOPPING=1\nSTATUS=stopping (SIGTERM)'],
      ['@wren-test', 'STATUS=hello'],
    ]);
  });
  t.test('watchdog only for our pid, at half the interval', async (t) => {
    t.equal(watchdogUsec({ WATCHDOG_USEC: '200000' }, 42), 200000, 'no WATCHDOG_PID: applies');
    t.equal(watchdogUsec({ WATCHDOG_USEC: '200000', WATCHDOG_PID: '42' }, 42), 200000, 'our pid');
    t.equal(watchdogUsec({ WATCHDOG_USEC: '200000', WATCHDOG_PID: '43' }, 42), null, 'another pid');
    t.equal(watchdogUsec({ WATCHDOG_USEC: '0' }, 42), null, 'zero');
    t.equal(watchdogUsec({ WATCHDOG_USEC: 'abc' }, 42), null, 'garbage');
    t.equal(watchdogUsec({}, 42), null, 'unset');
    const times: number[] = [];
    const { logger } = memLogger();
    const n = new SystemdNotifier({ logger, env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '100000' }, send: (m) => void (m === 'WATCHDOG=1' && times.push(Date.now())) });
    n.startWatchdog();
    await new Promise((r) => setTimeout(r, 560));
    n.close();
    const count = times.length;
    await new Promise((r) => setTimeout(r, 150));
    t.equal(times.length, count, 'close() stops the pings');
    t.ok(count >= 9 && count <= 13, `one immediate ping then every 50 ms: ${count} in 560 ms`);
    const other = new SystemdNotifier({ logger, env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' }, send: () => t.fail('no ping for another pid') });
    other.startWatchdog();
    t.equal(other.watchdogUsec, null);
    other.close();
  });
  t.test('a failing sender is logged once, then notify is off', async (t) => {
    let calls = 0;
    const { logger, lines } = memLogger();
    const n = new SystemdNotifier({
      logger,
      env: { NOTIFY_SOCKET: '/nonexistent/notify' },
      send: () => {
        calls++;
        throw new Error('wren native addon not built');
      },
    });
    n.ready();
    n.reloading();
    n.stopping();
    t.equal(calls, 1, 'one attempt');
    t.equal(n.enabled, false);
    const errs = lines().filter((l) => l['event'] === 'systemd.notify');
    t.equal(errs.length, 1, 'one log line');
    t.match(errs[0], { level: 50, socket: '/nonexistent/notify', err: /not built/ });
  });
});

interface Received {
  readonly msg: string;
  /** CLOCK_MONOTONIC at receipt, microseconds. */
  readonly atUsec: number;
}

/** A python3 receiver on a unix datagram socket; one JSON line per datagram. */
function receiver(path: string): { proc: ChildProcess; got: Received[]; ready: Promise<void> } {
  const py = [
    'import socket, sys, json, time',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("BOUND", flush=True)',
    'while True:',
    '    d = s.recv(65536)',
    '    print(json.dumps({"msg": d.decode(), "atUsec": time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}), flush=True)',
  ].join('\n');
  const proc = spawn('python3', ['-c', py, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const got: Received[] = [];
  let bound: () => void = () => {};
  const ready = new Promise<void>((r) => (bound = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line === 'BOUND') bound();
    else got.push(JSON.parse(line) as Received);
  });
  return { proc, got, ready };
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function bgpctl(socket: string, args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', [BGPCTL, '-s', socket, ...args], { timeout: 10_000 }, (err, stdout) => resolve({ code: err === null ? 0 : Number(err.code ?? -1), stdout: String(stdout) }));
  });
}

function configText(dir: string, port: number): string {
  return [
    'router-id: 127.0.0.1',
    'asn: 64512',
    'node-address: 127.0.0.1/8',
    `listen: { address: 127.0.0.1, port: ${port} }`,
    `control: { socket: ${join(dir, 'bgpd.sock')} }`,
    'kernel: { program: false }',
    'peers:',
    '  - address: 127.0.0.2',
    '    asn: 64512',
    '    passive: true',
    '',
  ].join('\n');
}

t.test('bgpd under a notify socket: READY, RELOADING/READY (bgpctl and SIGHUP), STOPPING, WATCHDOG', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wren-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'bgpd.conf');
  const sock = join(dir, 'bgpd.sock');
  writeFileSync(conf, configText(dir, 20000 + (process.pid % 20000)));
  const notifyPath = join(dir, 'notify.sock');
  const rx = receiver(notifyPath);
  t.teardown(() => void rx.proc.kill());
  await rx.ready;

  // As systemd does it: WATCHDOG_PID is the main pid (sh execs node, keeping its pid).
  const bgpd = spawn('sh', ['-c', `WATCHDOG_PID=$$ exec node ${BGPD} -c ${conf}`], {
    env: { ...process.env, NOTIFY_SOCKET: notifyPath, WATCHDOG_USEC: '400000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  bgpd.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  bgpd.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => bgpd.on('exit', (code) => r(code)));
  t.teardown(() => void bgpd.kill('SIGKILL'));

  const states = () => rx.got.filter((m) => !m.msg.startsWith('WATCHDOG=1')).map((m) => m.msg.split('\n')[0]);
  await until('READY=1', () => (states().includes('READY=1') ? true : undefined));
  const st = await bgpctl(sock, ['show', 'status']);
  t.equal(st.code, 0, 'the control socket answers once READY=1 is sent');
  const readyMsg = rx.got.find((m) => m.msg.startsWith('READY=1'))!;
  t.match(readyMsg.msg, /^READY=1\nSTATUS=running: router-id 127\.0\.0\.1, AS 64512, 1 peer\(s\) configured$/);

  const r = await bgpctl(sock, ['reload']);
  t.equal(r.code, 0, 'bgpctl reload');
  await until('READY after bgpctl reload', () => (states().length >= 3 ? true : undefined));
  process.kill(bgpd.pid!, 'SIGHUP');
  await until('READY after SIGHUP', () => (states().length >= 5 ? true : undefined));
  // Watchdog pings for at least a second before stopping.
  await new Promise((r) => setTimeout(r, 1000));
  process.kill(bgpd.pid!, 'SIGTERM');
  t.equal(await exited, 0, 'bgpd exits 0 on SIGTERM');
  await until('STOPPING', () => (states().includes('STOPPING=1') ? true : undefined), 3000);
  await new Promise((r) => setTimeout(r, 300));

  t.same(states(), ['READY=1', 'RELOADING=1', 'READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1'], 'state notifications in order');
  for (const m of rx.got.filter((x) => x.msg.startsWith('RELOADING=1'))) {
    const mono = /\nMONOTONIC_USEC=(\d+)\n/.exec(m.msg);
    t.ok(mono !== null, 'RELOADING=1 carries MONOTONIC_USEC');
    const lag = m.atUsec - Number(mono?.[1]);
    t.ok(lag >= 0 && lag < 1_000_000, `MONOTONIC_USEC is CLOCK_MONOTONIC at the reload (${lag} us before receipt)`);
  }
  const pings = rx.got.filter((m) => m.msg === 'WATCHDOG=1');
  const first = rx.got.findIndex((m) => m.msg === 'WATCHDOG=1');
  t.ok(first >= 0 && first < rx.got.findIndex((m) => m.msg.startsWith('READY=1')), 'watchdog pings start before READY=1');
  const gaps = pings.slice(1).map((p, i) => (p.atUsec - pings[i]!.atUsec) / 1000);
  t.ok(pings.length >= 5, `${pings.length} WATCHDOG=1 pings`);
  t.ok(Math.max(...gaps) < 400, `every gap below WATCHDOG_USEC (max ${Math.max(...gaps).toFixed(0)} ms)`);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  t.ok(mean > 150 && mean < 260, `pings every ~200 ms (mean ${mean.toFixed(0)} ms)`);
  t.notMatch(out, /systemd\.notify/, 'no notify errors logged');
});

t.test('WATCHDOG_PID of another process: no pings; a dead notify socket: logged once, bgpd runs on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wren-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'bgpd.conf');
  const sock = join(dir, 'bgpd.sock');
  writeFileSync(conf, configText(dir, 20001 + (process.pid % 20000)));
  const notifyPath = join(dir, 'notify.sock');
  const rx = receiver(notifyPath);
  t.teardown(() => void rx.proc.kill());
  await rx.ready;
  const bgpd = spawn('node', [BGPD, '-c', conf], { env: { ...process.env, NOTIFY_SOCKET: notifyPath, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  bgpd.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => bgpd.on('exit', (code) => r(code)));
  t.teardown(() => void bgpd.kill('SIGKILL'));
  await until('READY=1', () => (rx.got.some((m) => m.msg.startsWith('READY=1')) ? true : undefined));
  await new Promise((r) => setTimeout(r, 600));
  t.same(rx.got.filter((m) => m.msg === 'WATCHDOG=1'), [], 'no WATCHDOG=1 for a WATCHDOG_PID that is not ours');

  // The receiver goes away: the next notification (RELOADING=1) fails with ECONNREFUSED.
  rx.proc.kill();
  await new Promise((r) => rx.proc.on('exit', r));
  const r1 = await bgpctl(sock, ['reload']);
  t.equal(r1.code, 0, 'reload still works');
  const r2 = await bgpctl(sock, ['reload']);
  t.equal(r2.code, 0, 'and again');
  const st = await bgpctl(sock, ['show', 'status']);
  t.equal(st.code, 0, 'bgpd keeps serving');
  process.kill(bgpd.pid!, 'SIGTERM');
  t.equal(await exited, 0);
  const errs = out.split('\n').filter((l) => l.includes('"event":"systemd.notify"'));
  t.equal(errs.length, 1, 'one error line for the failed notify');
  t.match(errs[0], /"level":"error".*"socket":"[^"]*notify\.sock".*"err":"[^"]*(ECONNREFUSED|ENOENT)/);
});
