// Shared helpers of the routing interop tests (test/interop/routing-*.test.ts): one L2 segment
// for a Calico-like topology, the UPDATEs a capture saw (decoded by tshark), and a poller that
// watches a route through an outage.
import { run } from '../lab/lib/index.js';
import type { Capture, Host, Lab, WrenSpeaker } from '../lab/lib/index.js';
import type { RoutePath } from '../../src/status.js';

/** Hosts on one L2 segment 10.0.0.0/24; host i gets 10.0.0.<i+1>, interface eth0. */
export async function segmentHosts(lab: Lab, names: readonly string[]): Promise<Host[]> {
  const seg = await lab.addSegment('lan');
  const hosts: Host[] = [];
  for (const [i, name] of names.entries()) {
    const h = await lab.addHost(name);
    await seg.attach(h, { addrs: [`10.0.0.${i + 1}/24`] });
    hosts.push(h);
  }
  return hosts;
}

/** One UPDATE message as seen on the wire. */
export interface WireUpdate {
  readonly frame: number;
  readonly src: string;
  readonly dst: string;
  /** Announced prefixes (NLRI field and MP_REACH), "a.b.c.d/len". */
  readonly nlri: readonly string[];
  readonly withdrawn: readonly string[];
  readonly nextHop?: string;
  readonly asPath: readonly number[];
  readonly localPref?: number;
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
  /** Every tshark field name seen in the message (with all its values). */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every leaf value under a tshark JSON subtree, by field name, in document order. */
function collect(v: unknown, into: Map<string, string[]>): void {
  if (Array.isArray(v)) {
    for (const x of v) collect(x, into);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (isObj(x) || (Array.isArray(x) && x.some((y) => isObj(y) || Array.isArray(y)))) {
      collect(x, into);
      continue;
    }
    const vals = Array.isArray(x) ? x : [x];
    const l = into.get(k) ?? [];
    for (const y of vals) if (typeof y === 'string' || typeof y === 'number') l.push(String(y));
    into.set(k, l);
  }
}

/**
 * Prefixes of NLRI-like subtrees: tshark names each entry's subtree after the prefix ("10.1.0.0/24")
 * and puts `<field>` (the address) and `bgp.prefix_length` in it.
 */
function prefixesOf(v: unknown, field: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const x of v) prefixesOf(x, field, out);
    return;
  }
  if (!isObj(v)) return;
  const addr = v[field];
  const len = v['bgp.prefix_length'];
  if (typeof addr === 'string' && (typeof len === 'string' || typeof len === 'number')) out.push(`${addr}/${String(len)}`);
  for (const x of Object.values(v)) if (isObj(x) || Array.isArray(x)) prefixesOf(x, field, out);
}

/** The UPDATEs in a capture (several per TCP segment are split apart). */
export async function wireUpdates(cap: Capture): Promise<WireUpdate[]> {
  const r = await run('tshark', ['-n', '-r', cap.file, '-T', 'json', '--no-duplicate-keys', '-Y', 'bgp.type == 2'], { timeoutMs: 30_000 });
  const frames: unknown = r.stdout.trim() === '' ? [] : JSON.parse(r.stdout);
  const out: WireUpdate[] = [];
  for (const f of Array.isArray(frames) ? frames : []) {
    const layers = isObj(f) && isObj(f['_source']) && isObj(f['_source']['layers']) ? f['_source']['layers'] : {};
    const frame = isObj(layers['frame']) ? layers['frame'] : {};
    const ip = isObj(layers['ip']) ? layers['ip'] : {};
    const bgp = layers['bgp'];
    const msgs = Array.isArray(bgp) ? bgp : bgp === undefined ? [] : [bgp];
    for (const m of msgs) {
      const fields = new Map<string, string[]>();
      collect(m, fields);
      if (fields.get('bgp.type')?.[0] !== '2') continue;
      const nlri: string[] = [];
      prefixesOf(m, 'bgp.nlri_prefix', nlri);
      prefixesOf(m, 'bgp.mp_reach_nlri_ipv4_prefix', nlri);
      const withdrawn: string[] = [];
      prefixesOf(m, 'bgp.withdrawn_prefix', withdrawn);
      const one = (k: string): string | undefined => fields.get(k)?.[0];
      const nh = one('bgp.update.path_attribute.next_hop') ?? one('bgp.next_hop');
      const lp = one('bgp.update.path_attribute.local_pref');
      const orig = one('bgp.update.path_attribute.originator_id');
      out.push({
        frame: Number(frame['frame.number'] ?? 0),
        src: String(ip['ip.src'] ?? ''),
        dst: String(ip['ip.dst'] ?? ''),
        nlri,
        withdrawn,
        ...(nh === undefined ? {} : { nextHop: nh }),
        asPath: (fields.get('bgp.update.path_attribute.as_path_segment.as4') ?? fields.get('bgp.update.path_attribute.as_path_segment.as') ?? []).map(Number),
        ...(lp === undefined ? {} : { localPref: Number(lp) }),
        ...(orig === undefined ? {} : { originatorId: orig }),
        clusterList: fields.get('bgp.path_attribute.cluster_id') ?? [],
        fields,
      });
    }
  }
  return out;
}

/** UPDATEs from `src` to `dst` announcing `prefix`. */
export function announcing(updates: readonly WireUpdate[], src: string, dst: string, prefix: string): WireUpdate[] {
  return updates.filter((u) => u.src === src && u.dst === dst && u.nlri.includes(prefix));
}

/** Every prefix `src` announced to `dst` over the capture. */
export function announcedSet(updates: readonly WireUpdate[], src: string, dst: string): string[] {
  const s = new Set<string>();
  for (const u of updates) if (u.src === src && u.dst === dst) for (const p of u.nlri) s.add(p);
  return [...s].sort();
}

/**
 * wren's paths for a prefix (`bgpctl show routes PREFIX --json`); [] when the prefix is not in the
 * table (bgpctl then exits 1 with an error object, which WrenSpeaker.routes() throws on).
 */
export async function wrenPaths(wren: WrenSpeaker, prefix: string): Promise<RoutePath[]> {
  const r = await wren.ctlText(['show', 'routes', prefix, '--json']);
  const parsed = JSON.parse(r.stdout) as { routes?: RoutePath[]; error?: string };
  if (parsed.routes !== undefined) return parsed.routes.filter((p) => p.prefix === prefix);
  if (parsed.error?.startsWith('network not in table') === true) return [];
  throw new Error(`bgpctl show routes ${prefix}: ${r.stdout}${r.stderr}`);
}

/** `ip -4 route show PREFIX` in a host's namespace (one line or ''). */
export async function kernelRoute(host: Host, prefix: string): Promise<string> {
  return (await host.ip(['-4', 'route', 'show', prefix])).trim();
}

export interface RoutePoll {
  readonly atMs: number;
  /** wren's paths for the prefix (`bgpctl show routes PREFIX --json`). */
  readonly present: boolean;
  readonly best: boolean;
  readonly stale: boolean;
  /** The kernel line for the prefix in wren's namespace ('' when none). */
  readonly kernel: string;
}

/**
 * Poll wren's RIB and its namespace's kernel for a prefix, back to back, until `stop()`; every
 * sample is kept so a test can assert the route never went away.
 */
export function pollRoute(wren: WrenSpeaker, host: Host, prefix: string): { stop(): Promise<RoutePoll[]> } {
  const samples: RoutePoll[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [mine, kernel] = await Promise.all([wrenPaths(wren, prefix), kernelRoute(host, prefix)]);
      samples.push({
        atMs: Date.now(),
        present: mine.length > 0,
        best: mine.some((p) => p.best),
        stale: mine.some((p) => p.stale),
        kernel,
      });
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
