/**
 * Kernel route install/remove rate: wren's KernelSync vs `ip -batch` vs BIRD 2's kernel protocol,
 * 100k IPv4 /26 routes in a fresh network namespace each (run as root):
 *   node dist/bench/kernel.js [--count N] [--skip-bird]
 * Method (landscape.md Appendix B): wren and ip -batch time the writes until the last ACK / exit;
 * BIRD is started with its static protocol disabled (so parsing the 100k-line config is not
 * counted); the clock starts before `birdc enable` and stops when a route-notification counter
 * in the namespace (a netlink watch socket, bench/lib/kcount.ts) has seen every route of proto bird
 * appear; removal is `birdc disable` until it has seen them all go. (Earlier versions started
 * the clock after `birdc enable` returned and polled `ip route show` every 50 ms, which left out
 * the work BIRD did before answering the CLI and added the cost of dumping 100k routes per poll.)
 * wren also reports a restart with the same intent: dump + adopt, zero writes. Run it 3 times
 * and when `uptime` shows the machine idle: all contenders share its 2 cores.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { KernelSync, NetlinkFib } from '../src/kernel/index.js';
import { RTPROT_BIRD } from '../src/kernel/constants.js';
import { formatPrefix, prefix4 } from '../proto/prefix.js';
import type { KernelChange } from '../rib/kernel-types.js';

const args = process.argv.slice(2);
const argValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const COUNT = Number(argValue('--count') ?? 100_000);
const SHAPE = (argValue('--shape') ?? 'blackhole') as 'blackhole' | 'onlink';

/** The i-th /26 from 10.0.0.0 upwards. */
const nthPrefix = (i: number): number => prefix4(((10 << 24) >>> 0) + i * 64, 26);

function intent(count: number, shape: 'blackhole' | 'onlink'): KernelChange[] {
  const out: KernelChange[] = [];
  for (let i = 0; i < count; i++) {
    const prefix = nthPrefix(i);
    out.push({
      prefix,
      route:
        shape === 'blackhole'
          ? { kind: 'blackhole', prefix }
          : { kind: 'unicast', prefix, nextHops: [{ gateway: ((10 << 24) + (255 << 16) + 1) >>> 0, device: 'tunl0', onlink: true }] },
    });
  }
  return out;
}

/** user + system CPU of a process.cpuUsage() delta (all threads: kernel work in sendmsg counts). */
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

// --- child: runs inside the namespace --------------------------------------------------------

async function child(): Promise<void> {
  const desired = intent(COUNT, SHAPE);
  const fib = new NetlinkFib();
  const sync = new KernelSync({ fib, persist: true, scanIntervalMs: 0 });
  await sync.start();
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  sync.setDesired(desired);
  await sync.whenIdle();
  const installMs = performance.now() - t0;
  const installCpuMs = cpuMs(process.cpuUsage(c0));
  const afterInstall = sync.status();
  await sync.stop();

  // Restart with the same intent: adoption only.
  const fib2 = new NetlinkFib();
  const sync2 = new KernelSync({ fib: fib2, persist: true, scanIntervalMs: 0 });
  t0 = performance.now();
  sync2.setDesired(desired);
  await sync2.start();
  await sync2.whenIdle();
  const restartMs = performance.now() - t0;
  const restartWrites = sync2.status().writes;
  t0 = performance.now();
  c0 = process.cpuUsage();
  sync2.setDesired(desired.map((c) => ({ prefix: c.prefix, route: null })));
  await sync2.whenIdle();
  const removeMs = performance.now() - t0;
  const removeCpuMs = cpuMs(process.cpuUsage(c0));
  const afterRemove = sync2.status();
  await sync2.stop();
  process.stdout.write(
    JSON.stringify({ installMs, removeMs, installCpuMs, removeCpuMs, restartMs, restartWrites, failedInstall: afterInstall.failed, installed: afterInstall.installed, left: afterRemove.installed }) + '\n',
  );
}

/** Wall-clock milliseconds comparable across processes. */
const wallMs = (): number => performance.timeOrigin + performance.now();

// --- parent -----------------------------------------------------------------------------------

function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 256 << 20 });
}

function makeNs(tag: string): string {
  const ns = `wrenbench${process.pid}${tag}`;
  sh(`ip netns add ${ns}`);
  sh(`ip -n ${ns} link set lo up && ip -n ${ns} addr add 192.0.2.2/24 dev lo`);
  sh(`ip -n ${ns} link add tunl0 type veth peer name tunl0p && ip -n ${ns} link set tunl0p up && ip -n ${ns} link set tunl0 up`);
  return ns;
}

function countBird(ns: string): number {
  return Number(sh(`ip -n ${ns} -4 route show proto bird | wc -l`).trim());
}

const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} routes/s (${(ms / 1000).toFixed(2)} s)`;

interface Row {
  readonly name: string;
  readonly install: string;
  readonly remove: string;
  readonly note?: string;
}

/**
 * CPU time (user + system, so the kernel's work inside sendmsg counts) spent by the contender
 * per phase: unlike wall time it hardly depends on what else the shared machine runs.
 */
const cpu = (ms: number): string => `, CPU ${ms.toFixed(0)} ms`;

/** utime + stime of a process, in ms (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Run a shell command under bash's `time`; returns its user + system CPU in ms. */
function timedCpuMs(cmd: string): number {
  const out = execFileSync('bash', ['-c', `TIMEFORMAT='%U %S'; { time ${cmd} >/dev/null; } 2>&1`], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const [u, sy] = out.trim().split('\n').pop()!.split(' ').map(Number);
  return ((u ?? 0) + (sy ?? 0)) * 1000;
}

async function benchWren(shape: 'blackhole' | 'onlink'): Promise<Row> {
  const ns = makeNs(`w${shape[0]}`);
  try {
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, '--child', '--count', String(COUNT), '--shape', shape], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    if (r.status !== 0) throw new Error(`wren child failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      installMs: number;
      removeMs: number;
      installCpuMs: number;
      removeCpuMs: number;
      restartMs: number;
      restartWrites: number;
      installed: number;
      left: number;
      failedInstall: number;
    };
    if (res.installed !== COUNT || res.failedInstall !== 0) throw new Error(`wren installed ${res.installed}, failed ${res.failedInstall}`);
    const left = countBird(ns);
    return {
      name: `wren KernelSync (${shape === 'blackhole' ? 'blackhole' : 'via G dev tunl0 onlink'})`,
      install: rate(COUNT, res.installMs) + cpu(res.installCpuMs),
      remove: rate(COUNT, res.removeMs) + cpu(res.removeCpuMs),
      note: `restart with same intent: ${res.restartMs.toFixed(0)} ms, ${res.restartWrites} writes; left after remove: ${left}`,
    };
  } finally {
    sh(`ip netns del ${ns}`);
  }
}

function benchIpBatch(dir: string): Row {
  const ns = makeNs('ip');
  try {
    const add: string[] = [];
    const del: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const p = formatPrefix(nthPrefix(i));
      add.push(`route add blackhole ${p} proto bird`);
      del.push(`route del ${p} proto bird`);
    }
    writeFileSync(join(dir, 'add.batch'), add.join('\n') + '\n');
    writeFileSync(join(dir, 'del.batch'), del.join('\n') + '\n');
    let t0 = performance.now();
    const installCpuMs = timedCpuMs(`ip -n ${ns} -batch ${join(dir, 'add.batch')}`);
    const installMs = performance.now() - t0;
    const n = countBird(ns);
    if (n !== COUNT) throw new Error(`ip -batch installed ${n}`);
    t0 = performance.now();
    const removeCpuMs = timedCpuMs(`ip -n ${ns} -batch ${join(dir, 'del.batch')}`);
    const removeMs = performance.now() - t0;
    return { name: 'ip -batch', install: rate(COUNT, installMs) + cpu(installCpuMs), remove: rate(COUNT, removeMs) + cpu(removeCpuMs) };
  } finally {
    sh(`ip netns del ${ns}`);
  }
}

async function waitCount(ns: string, target: number, timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const n = countBird(ns);
    if (n === target) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`bird: ${n} routes after ${timeoutMs} ms (want ${target})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function benchBird(dir: string): Promise<Row> {
  const ns = makeNs('bird');
  const cfg = join(dir, 'bird.conf');
  const sock = join(dir, 'bird.ctl');
  const lines = [
    'router id 192.0.2.2;',
    'protocol device { scan time 60; }',
    'protocol kernel k4 { scan time 600; ipv4 { export all; import none; }; }',
    'protocol static s1 { disabled; ipv4;',
  ];
  for (let i = 0; i < COUNT; i++) lines.push(`  route ${formatPrefix(nthPrefix(i))} blackhole;`);
  lines.push('}');
  writeFileSync(cfg, lines.join('\n') + '\n');
  const bird = spawn('ip', ['netns', 'exec', ns, 'bird', '-f', '-c', cfg, '-s', sock, '-P', join(dir, 'bird.pid')], { stdio: 'ignore' });
  const self = fileURLToPath(import.meta.url);
  // The route-notification counter bench/run.ts uses too (one initial dump, then notifications only).
  const counter = spawn('ip', ['netns', 'exec', ns, process.execPath, join(dirname(self), 'lib', 'kcount.js'), '--proto', String(RTPROT_BIRD), '--target', String(COUNT)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const marks: { n?: number; t?: number; ready?: boolean; overrun?: boolean }[] = [];
  let wake: (() => void) | null = null;
  createInterface({ input: counter.stdout! }).on('line', (l) => {
    marks.push(JSON.parse(l) as (typeof marks)[number]);
    wake?.();
  });
  const waitMark = async (pred: (m: (typeof marks)[number]) => boolean, timeoutMs: number): Promise<(typeof marks)[number]> => {
    const t0 = performance.now();
    for (;;) {
      const m = marks.find(pred);
      if (m !== undefined) return m;
      if (performance.now() - t0 > timeoutMs) throw new Error('bird: route counter saw no result in time');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
  };
  const birdc = (cmd: string): string => sh(`birdc -s ${sock} ${cmd}`);
  try {
    for (let i = 0; !existsSync(sock) || !/ready/.test(safe(() => birdc('show status'))); i++) {
      if (i > 600) throw new Error('bird did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitMark((m) => m.ready === true, 10_000);
    const birdPid = bird.pid!;
    let cpu0 = procCpuMs(birdPid);
    let t0 = wallMs();
    birdc('enable s1');
    const cliMs = wallMs() - t0;
    const full = await waitMark((m) => m.n === COUNT || m.overrun === true, 300_000);
    if (full.overrun === true) throw new Error('bird: route counter overran; rerun when the machine is less busy');
    const installMs = full.t! - t0;
    const installCpuMs = procCpuMs(birdPid) - cpu0;
    await waitCount(ns, COUNT, 10_000); // cross-check against the kernel's table
    cpu0 = procCpuMs(birdPid);
    t0 = wallMs();
    birdc('disable s1');
    const empty = await waitMark((m) => (m.n === 0 && m.t! > t0) || m.overrun === true, 300_000);
    if (empty.overrun === true) throw new Error('bird: route counter overran; rerun when the machine is less busy');
    const removeMs = empty.t! - t0;
    const removeCpuMs = procCpuMs(birdPid) - cpu0;
    await waitCount(ns, 0, 10_000);
    const version = safe(() => sh('bird --version 2>&1').trim());
    return {
      name: `BIRD ${version.replace(/^BIRD version /, '')} (kernel protocol, export all)`,
      install: rate(COUNT, installMs) + cpu(installCpuMs),
      remove: rate(COUNT, removeMs) + cpu(removeCpuMs),
      note: `\`birdc enable\` returned after ${cliMs.toFixed(0)} ms (the old method started the clock only then)`,
    };
  } finally {
    counter.stdin!.end();
    if (bird.pid !== undefined) bird.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (counter.exitCode === null && counter.pid !== undefined) counter.kill('SIGKILL');
    sh(`ip netns del ${ns}`);
  }
}

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  if (args.includes('--child')) {
    await child();
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('bench:kernel needs root (network namespaces)');
  const dir = mkdtempSync(join(tmpdir(), 'wren-bench-kernel-'));
  const rows: Row[] = [];
  try {
    rows.push(await benchWren('blackhole'));
    rows.push(await benchWren('onlink'));
    rows.push(benchIpBatch(dir));
    if (!args.includes('--skip-bird')) rows.push(await benchBird(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`kernel route install/remove, ${COUNT.toLocaleString('en-US')} IPv4 /26 routes, fresh netns each\n`);
  for (const r of rows) {
    process.stdout.write(`${r.name}\n  install ${r.install}\n  remove  ${r.remove}\n${r.note !== undefined ? `  ${r.note}\n` : ''}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
