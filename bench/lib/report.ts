/** Result shapes of `npm run bench` and their markdown rendering (the table for README). */
import type { ReceiverKind } from './receivers.js';
import { RECEIVER_LABEL } from './receivers.js';

/** wren's event-loop delay: over the measured window (p99 = largest 100 ms-interval p99), and since bgpd started. */
export interface EventLoop {
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly sinceStartP99Ms: number;
  readonly sinceStartMaxMs: number;
}

export interface IngestResult {
  readonly receiver: ReceiverKind;
  readonly prefixes: number;
  readonly attrSets: number;
  /** From the feeder's first UPDATE byte until the receiver held all N (null: timeout). */
  readonly ingestSec: number | null;
  /** CPU seconds (user + system) of the receiver's processes over the ingest. */
  readonly cpuSec: number | null;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly bytesPerRoute: number | null;
  readonly withdrawSec: number | null;
  readonly withdrawCpuSec: number | null;
  /** wren only: event-loop delay since bgpd started (the whole run). */
  readonly eventLoop: EventLoop | null;
  readonly sessionLost: boolean;
  readonly pollAvgMs: number;
  readonly polls: number;
  /** How long the feeder took to hand the whole table to TCP (≈ the receiver's read pace). */
  readonly feederSendSec: number | null;
  readonly error: string | null;
}

export interface KernelResult {
  readonly receiver: ReceiverKind;
  readonly routes: number;
  readonly ribSec: number | null;
  readonly kernelSec: number | null;
  readonly rate: number | null;
  readonly removeSec: number | null;
  readonly cpuSec: number | null;
  readonly eventLoop: EventLoop | null;
  readonly sessionLost: boolean;
  readonly overrun: boolean;
  readonly error: string | null;
}

export interface MeshResult {
  readonly peers: number;
  readonly connectSec: number | null;
  readonly convergeSec: number | null;
  readonly probeMs: number | null;
  readonly probeP50Ms: number | null;
  readonly idleCpuPct: number | null;
  readonly rss: number;
  readonly eventLoop: EventLoop | null;
  readonly sessionsUp: number;
  readonly drops: number;
  readonly error: string | null;
}

export interface BenchResults {
  readonly date: string;
  readonly options: Record<string, unknown>;
  readonly versions: Record<string, string>;
  readonly machine: Record<string, string | number>;
  readonly ingest: IngestResult[];
  readonly kernel: KernelResult[];
  readonly mesh: MeshResult[];
  durationSec: number;
}

const f = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const mib = (b: number): string => (b / 1048576).toFixed(1);
const size = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
const eld = (e: EventLoop | null): string => (e === null ? '—' : `${f(e.p99Ms, 1)} / ${f(e.maxMs, 1)}`);

export interface TargetCheck {
  readonly target: string;
  readonly value: string;
  readonly met: boolean | null;
}

/** The issue's targets, checked on this run (ratios to BIRD 2 at the largest size run by both). */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const sizes = [...new Set(r.ingest.map((x) => x.prefixes))].sort((a, b) => b - a);
  const pair = (n: number): { w: IngestResult | undefined; b: IngestResult | undefined } => ({
    w: r.ingest.find((x) => x.receiver === 'wren' && x.prefixes === n),
    b: r.ingest.find((x) => x.receiver === 'bird2' && x.prefixes === n),
  });
  const n = sizes.find((s) => pair(s).w !== undefined && pair(s).b !== undefined);
  if (n !== undefined) {
    const { w, b } = pair(n);
    const ti = w!.ingestSec !== null && b!.ingestSec !== null ? w!.ingestSec / b!.ingestSec : null;
    out.push({ target: `ingest time ${size(n)} <= 2x BIRD 2`, value: `${f(w!.ingestSec)} s vs ${f(b!.ingestSec)} s = ${f(ti)}x`, met: ti === null ? null : ti <= 2 });
    const mr = w!.bytesPerRoute !== null && b!.bytesPerRoute !== null ? w!.bytesPerRoute / b!.bytesPerRoute : null;
    out.push({ target: `memory/route ${size(n)} <= 1.5x BIRD 2`, value: `${f(w!.bytesPerRoute, 0)} B vs ${f(b!.bytesPerRoute, 0)} B = ${f(mr)}x`, met: mr === null ? null : mr <= 1.5 });
  }
  const kw = r.kernel.find((x) => x.receiver === 'wren');
  const kb = r.kernel.find((x) => x.receiver === 'bird2');
  if (kw !== undefined && kb !== undefined) {
    out.push({ target: 'kernel install rate >= BIRD 2', value: `${f(kw.rate, 0)} vs ${f(kb.rate, 0)} routes/s`, met: kw.rate === null || kb.rate === null ? null : kw.rate >= kb.rate });
  }
  const elds = [...r.ingest, ...r.kernel, ...r.mesh].map((x) => x.eventLoop).filter((e): e is EventLoop => e !== null);
  if (elds.length > 0) {
    const max = Math.max(...elds.map((e) => e.maxMs));
    out.push({ target: 'event-loop delay never above 100 ms', value: `max ${f(max, 1)} ms over ${elds.length} wren runs`, met: max <= 100 });
  }
  const lost = r.ingest.filter((x) => x.receiver === 'wren' && x.sessionLost).length + r.kernel.filter((x) => x.receiver === 'wren' && x.sessionLost).length + r.mesh.reduce((a, m) => a + m.drops, 0);
  out.push({ target: 'no wren session drops', value: `${lost} lost`, met: lost === 0 });
  const m = r.mesh.find((x) => x.peers === Math.max(...r.mesh.map((y) => y.peers)));
  if (m !== undefined) {
    out.push({
      target: `${m.peers} peers held, idle CPU < 2% of one core`,
      value: `${m.sessionsUp}/${m.peers} up, idle ${f(m.idleCpuPct)}%`,
      met: m.idleCpuPct === null ? null : m.sessionsUp === m.peers && m.idleCpuPct < 2,
    });
  }
  return out;
}

export function renderMarkdown(r: BenchResults): string {
  const L: string[] = [];
  const v = r.versions;
  const m = r.machine;
  L.push(`## wren benchmark — ${r.date.slice(0, 10)}`, '');
  L.push(
    `Machine: ${String(m['nproc'])} CPUs (${String(m['cpu'])}), ${mib(Number(m['memTotalBytes']))} MiB RAM, Linux ${String(m['kernel'])}. ` +
      `Versions: wren ${v['wren']} on Node ${v['node']}, BIRD ${v['bird2']}, BIRD ${v['bird1']}, FRR ${v['frr']}, GoBGP ${v['gobgp']}. ` +
      `Each receiver alone in a network namespace, fed over a veth by bench/feeder.ts (pre-encoded 4096-octet UPDATEs, one eBGP session, hold ${String(r.options['holdSec'])} s). Run took ${f(r.durationSec / 60, 1)} min.`,
    '',
  );
  if (r.ingest.length > 0) {
    L.push('### Full-table ingest (one eBGP peer, accept all, export nothing)', '');
    L.push('| Receiver | Prefixes | Attr sets | Ingest (s) | CPU (s) | RSS before → after (MiB) | Bytes/route | Withdraw all (s) | wren loop delay p99 / max (ms) | Session lost | Poll (ms avg) |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|');
    for (const x of r.ingest) {
      L.push(
        `| ${RECEIVER_LABEL[x.receiver]} | ${size(x.prefixes)} | ${size(x.attrSets)} | ${x.error !== null && x.ingestSec === null ? `**${x.error}**` : f(x.ingestSec)} | ${f(x.cpuSec)} | ${mib(x.rssBefore)} → ${mib(x.rssAfter)} | ${f(x.bytesPerRoute, 0)} | ${f(x.withdrawSec)} | ${eld(x.eventLoop)} | ${x.sessionLost ? '**yes**' : 'no'} | ${f(x.pollAvgMs, 1)} |`,
      );
    }
    L.push('');
  }
  if (r.kernel.length > 0) {
    L.push('### Kernel install (100k /26 from one peer, into the main table)', '');
    L.push('| Receiver | Routes | In RIB (s) | In kernel (s) | Install rate (routes/s) | Removal after withdraw (s) | CPU (s) | wren loop delay p99 / max (ms) | Session lost |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|:---:|');
    for (const x of r.kernel) {
      L.push(
        `| ${RECEIVER_LABEL[x.receiver]} | ${size(x.routes)} | ${f(x.ribSec)} | ${x.error !== null && x.kernelSec === null ? `**${x.error}**` : f(x.kernelSec)} | ${f(x.rate, 0)} | ${f(x.removeSec)} | ${f(x.cpuSec)} | ${eld(x.eventLoop)} | ${x.sessionLost ? '**yes**' : 'no'} |`,
      );
    }
    L.push('');
  }
  if (r.mesh.length > 0) {
    L.push('### Mesh scale (wren as route reflector, M iBGP clients, one /26 each)', '');
    L.push('| Peers | All up (s) | Converged (s) | New block to all peers (ms, p50 / max) | Idle CPU (% of one core) | RSS (MiB) | Loop delay p99 / max (ms) | Sessions up | Drops |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of r.mesh) {
      L.push(
        `| ${x.peers} | ${f(x.connectSec)} | ${x.error !== null && x.convergeSec === null ? `**${x.error}**` : f(x.convergeSec)} | ${f(x.probeP50Ms, 0)} / ${f(x.probeMs, 0)} | ${f(x.idleCpuPct)} | ${mib(x.rss)} | ${eld(x.eventLoop)} | ${x.sessionsUp}/${x.peers} | ${x.drops} |`,
      );
    }
    L.push('');
  }
  const t = checkTargets(r);
  if (t.length > 0) {
    L.push('### Targets', '');
    L.push('| Target | This run | Met |', '|---|---|:---:|');
    for (const c of t) L.push(`| ${c.target} | ${c.value} | ${c.met === null ? '?' : c.met ? 'yes' : '**no**'} |`);
    L.push('');
  }
  L.push(
    'Ingest time: from the feeder writing its first UPDATE until the receiver\'s counter shows all N (wren: Adj-RIB-In and decision queue drained, from its 100 ms stats log; BIRD: `show protocols all` imported; FRR: `show bgp summary json` pfxRcd; GoBGP: `gobgp neighbor -j` accepted, polled every 1 s as it walks the table). ' +
      'Bytes/route: VmRSS growth of the receiver process(es) (FRR: bgpd + zebra) over the ingest, divided by N. Kernel: counted from rtnetlink notifications in the receiver\'s namespace. ' +
      'wren event-loop delay: perf_hooks histograms (10 ms resolution) from bgpd\'s stats log over the measured window (from the first UPDATE to the end of the withdrawal / idle period); p99 is the largest p99 of the 100 ms intervals, max is exact. Startup (before the first UPDATE) is excluded and kept in the JSON as sinceStart*.',
    '',
  );
  return L.join('\n');
}
