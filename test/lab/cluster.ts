// The seed cluster (../shared/reference/seed-cluster.md) in network namespaces, and its variants:
// nodes 10.160.105.6, .7, .8 ... on one L2 segment with a gateway at .1, tunl0 on every node, one
// /26 block each inside pool 172.18.64.0/18 (IPIP Always), AS 64512, node-to-node mesh. wren runs
// on every node from a generated config (or BIRD 1.6 with a Calico-style config on the others in
// --mixed). Used by `npm run lab` and by test/scenarios.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from './lib/lab.js';
import type { Host, Segment } from './lib/lab.js';
import type { LabProcess } from './lib/process.js';
import { WrenSpeaker } from './lib/wren.js';
import { bird1Paths } from './lib/paths.js';
import { run } from './lib/exec.js';
import { waitFor } from './lib/wait.js';

export const SEED_AS = 64512;
export const SEED_POOL = '172.18.64.0/18';
export const SEED_POOL_V6 = 'fd00:172:18::/112';
/** The seed's three blocks, in node order (.6, .7, .8). */
export const SEED_BLOCKS = ['172.18.64.0/26', '172.18.101.64/26', '172.18.96.128/26'] as const;

export type ClusterMode = 'mesh' | 'mixed' | 'rr';

export interface ClusterOptions {
  /** Nodes running BGP (default 3). With `rr`, the number of clients (the two reflectors come extra). */
  readonly nodes?: number;
  readonly mode?: ClusterMode;
  /** Nodes on two subnets joined by the gateway; the pool is IPIP CrossSubnet. */
  readonly crossSubnet?: boolean;
  /** Dual stack: IPv6 addresses, a v6 pool and block per node, IPv6 mesh sessions. */
  readonly ipv6?: boolean;
  /** Hold time for every session (default: BIRD's 240 s; scenarios use short timers). */
  readonly holdSec?: number;
  /** Graceful-restart restart time (default 120 s). */
  readonly restartTimeSec?: number;
  /** A fixed run id (kept labs); default: a per-process id. */
  readonly runId?: string;
  /** Log level for wren (default info). */
  readonly logLevel?: string;
}

export interface ClusterNode {
  readonly name: string;
  readonly host: Host;
  readonly address: string;
  readonly prefixLength: number;
  readonly address6?: string;
  readonly block: string;
  readonly block6?: string;
  /** 'wren', 'bird1' (mixed), or 'rr' (a wren route reflector). */
  readonly role: 'wren' | 'bird1' | 'rr';
  readonly wren?: WrenSpeaker;
  readonly bird?: LabProcess;
  readonly birdSocket?: string;
}

export interface Cluster {
  readonly lab: Lab;
  readonly nodes: readonly ClusterNode[];
  readonly gateway: Host;
  readonly options: Required<Pick<ClusterOptions, 'nodes' | 'mode' | 'crossSubnet' | 'ipv6'>>;
}

function nodeAddress(i: number, opts: ClusterOptions): { address: string; prefixLength: number; subnet: 0 | 1 } {
  // CrossSubnet: odd nodes on the second subnet, so the first node has peers on both.
  if (opts.crossSubnet === true && i % 2 === 1) return { address: `10.160.106.${6 + i}`, prefixLength: 24, subnet: 1 };
  return { address: `10.160.105.${6 + i}`, prefixLength: 24, subnet: 0 };
}

function blockFor(i: number): string {
  return SEED_BLOCKS[i] ?? `172.18.${66 + i}.0/26`;
}

function block6For(i: number): string {
  return `fd00:172:18::${(i * 64).toString(16)}/122`;
}

/** What `ip route` on a node must show for the cluster's BGP routes (the `proto bird` lines). */
export function expectedBirdRoutes(c: Cluster, node: ClusterNode): string[] {
  const lines: string[] = [];
  const others = c.nodes.filter((n) => n !== node && n.role !== 'rr');
  const all = [...others.map((n) => ({ n, local: false })), { n: node, local: true }];
  for (const { n, local } of all) {
    if (node.role === 'rr' && local) continue;
    if (local) {
      lines.push(`blackhole ${n.block} proto bird`);
      continue;
    }
    const sameSubnet = n.address.split('.').slice(0, 3).join('.') === node.address.split('.').slice(0, 3).join('.');
    if (c.options.crossSubnet && sameSubnet) lines.push(`${n.block} via ${n.address} dev eth0 proto bird`);
    else lines.push(`${n.block} via ${n.address} dev tunl0 proto bird onlink`);
  }
  return sortRoutes(lines);
}

/** `ip route` order: by destination address (blackhole lines sort by their prefix too). */
export function sortRoutes(lines: string[]): string[] {
  const key = (l: string): number => {
    const m = /(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)/.exec(l);
    if (m === null) return 0;
    return ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]);
  };
  return [...lines].sort((a, b) => key(a) - key(b));
}

/** The `proto bird` lines of a node's IPv4 table. */
export async function birdRoutes(node: ClusterNode): Promise<string[]> {
  const text = await node.host.routes(4);
  return text.split('\n').filter((l) => l.includes('proto bird')).map((l) => l.trim());
}

function wrenExtra(c: { nodes: readonly { address: string; address6?: string; role: string }[] }, opts: ClusterOptions, i: number, role: 'wren' | 'rr'): Record<string, unknown> {
  const hold = opts.holdSec;
  const ipipMode = opts.crossSubnet === true ? 'CrossSubnet' : 'Always';
  const pools: Record<string, unknown>[] = [{ cidr: SEED_POOL, 'ipip-mode': ipipMode, 'vxlan-mode': 'Never' }];
  if (opts.ipv6 === true) pools.push({ cidr: SEED_POOL_V6, 'ipip-mode': 'Never', 'vxlan-mode': 'Never' });
  const meshNodes = c.nodes.filter((n) => n.role !== 'rr').flatMap((n) => (n.address6 === undefined ? [n.address] : [n.address, n.address6]));
  const rrs = c.nodes.filter((n) => n.role === 'rr');
  const extra: Record<string, unknown> = {
    pools,
    timers: {
      'connect-retry': 5,
      'connect-delay': 2,
      'error-wait': { min: 5, max: 30 },
      ...(hold === undefined ? {} : { hold, keepalive: Math.max(1, Math.floor(hold / 3)) }),
    },
    'graceful-restart': { enabled: true, 'restart-time': opts.restartTimeSec ?? 120 },
    kernel: { program: true, 'tunnel-device': 'tunl0', persist: true, device: 'eth0' },
  };
  if (opts.mode === 'rr') {
    extra['mesh'] = { enabled: false, nodes: [] };
    if (role === 'rr') {
      extra['route-reflector'] = { 'cluster-id': '244.0.0.1' };
      extra['peers'] = c.nodes
        .filter((n, j) => j !== i)
        .map((n) => ({ address: n.address, asn: SEED_AS, 'route-reflector-client': n.role !== 'rr' }));
    } else {
      extra['peers'] = rrs.map((n) => ({ address: n.address, asn: SEED_AS }));
    }
  } else {
    extra['mesh'] = { enabled: true, nodes: meshNodes };
    extra['peers'] = [];
  }
  return extra;
}

/** A BIRD 1.6 config as Calico's confd writes it (calico.md §1.2, §1.3, §1.7), minus krt_tunnel. */
export function calicoBird1Config(me: { address: string; block: string }, peers: readonly string[]): string {
  const mesh = peers
    .map(
      (p) => `protocol bgp Mesh_${p.replace(/[.:]/g, '_')} from bgp_template {
  neighbor ${p} as ${SEED_AS};
  source address ${me.address};
  import all;
  export filter { calico_export_to_bgp_peers(true); reject; };
${p > me.address ? '  passive on;\n' : ''}}`,
    )
    .join('\n\n');
  return `# Generated like calico/node's confd templates (bird.cfg, bird_ipam.cfg, bird_aggr.cfg).
router id ${me.address};

protocol static {
  route ${me.block} blackhole;
}

function calico_export_to_bgp_peers(bool internal_peer) {
  if ( net = ${me.block} ) then accept;
  if ( net ~ ${me.block} ) then reject;
  if ( net ~ ${SEED_POOL} ) then accept;
  reject;
}

filter calico_kernel_programming {
  if ( net ~ ${SEED_POOL} ) then accept;
  reject;
}

protocol kernel {
  learn;
  persist;
  scan time 2;
  import all;
  export filter calico_kernel_programming;
  graceful restart;
  merge paths on;
}

protocol device { scan time 2; }

protocol direct {
  interface -"cali*", -"kube-ipvs*", "*";
}

template bgp bgp_template {
  debug { states };
  description "Connection to BGP peer";
  local as ${SEED_AS};
  gateway recursive;
  add paths on;
  graceful restart;
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}

${mesh}
`;
}

export async function buildCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const mode = opts.mode ?? 'mesh';
  const count = opts.nodes ?? 3;
  const lab = await Lab.create(opts.runId === undefined ? {} : { runId: opts.runId, noSweep: true });
  try {
    const lan: Segment = await lab.addSegment('lan');
    const lan2: Segment | null = opts.crossSubnet === true ? await lab.addSegment('lan2') : null;
    const gateway = await lab.addHost('gw');
    await lan.attach(gateway, { addrs: ['10.160.105.1/24', ...(opts.ipv6 === true ? ['fd00:10:160:105::1/64'] : [])], ifName: 'eth0' });
    if (lan2 !== null) {
      await lan2.attach(gateway, { addrs: ['10.160.106.1/24'], ifName: 'eth1' });
      await gateway.sysctl('net.ipv4.ip_forward', '1');
    }

    type Plan = { name: string; address: string; prefixLength: number; subnet: 0 | 1; address6?: string; block: string; block6?: string; role: 'wren' | 'bird1' | 'rr' };
    const plans: Plan[] = [];
    if (mode === 'rr') {
      for (const [k, last] of [[0, 2], [1, 3]] as const) {
        plans.push({ name: `rr${k + 1}`, address: `10.160.105.${last}`, prefixLength: 24, subnet: 0, block: '', role: 'rr' });
      }
    }
    for (let i = 0; i < count; i++) {
      const a = nodeAddress(i, opts);
      const role = mode === 'mixed' && i > 0 ? 'bird1' : 'wren';
      plans.push({
        name: `n${a.address.split('.')[3]}`,
        ...a,
        ...(opts.ipv6 === true ? { address6: `fd00:10:160:105::${(6 + i).toString(16)}`, block6: block6For(i) } : {}),
        block: blockFor(i),
        role,
      });
    }

    const nodes: ClusterNode[] = [];
    for (const [i, p] of plans.entries()) {
      const host = await lab.addHost(p.name);
      const seg = p.subnet === 1 && lan2 !== null ? lan2 : lan;
      await seg.attach(host, { addrs: [`${p.address}/${p.prefixLength}`, ...(p.address6 === undefined ? [] : [`${p.address6}/64`])], ifName: 'eth0' });
      await host.setDefaultRoute(p.subnet === 1 ? '10.160.106.1' : '10.160.105.1', 'eth0');
      await host.addTunl0();
      void i;
      nodes.push({ name: p.name, host, address: p.address, prefixLength: p.prefixLength, ...(p.address6 === undefined ? {} : { address6: p.address6 }), block: p.block, ...(p.block6 === undefined ? {} : { block6: p.block6 }), role: p.role });
    }

    const started: ClusterNode[] = [];
    for (const [i, n] of nodes.entries()) {
      if (n.role === 'bird1') {
        const paths = bird1Paths();
        if (paths instanceof Error) throw paths;
        const conf = join(n.host.dir, 'bird.conf');
        const sock = join(n.host.dir, 'bird.ctl');
        const peers = nodes.filter((o) => o !== n && o.role !== 'rr').map((o) => o.address);
        await writeFile(conf, calicoBird1Config(n, peers));
        const bird = n.host.spawn(paths.bird, ['-f', '-c', conf, '-s', sock, '-P', join(n.host.dir, 'bird.pid')], { name: 'bird' });
        started.push({ ...n, bird, birdSocket: sock });
        continue;
      }
      const wren = new WrenSpeaker(
        n.host,
        { routerId: n.address, localAs: SEED_AS, listenAddress: n.address, neighbors: [], originate: [...(n.block === '' ? [] : [n.block]), ...(n.block6 === undefined ? [] : [n.block6])] },
        {
          nodeAddress: `${n.address}/${n.prefixLength}`,
          ...(n.address6 === undefined ? {} : { nodeAddressV6: `${n.address6}/64` }),
          logLevel: opts.logLevel ?? 'info',
          extra: { listen: { address: '::', port: 179 }, ...wrenExtra({ nodes }, opts, i, n.role === 'rr' ? 'rr' : 'wren') },
        },
      );
      started.push({ ...n, wren });
    }
    await Promise.all(started.map((n) => n.wren?.start()));
    return { lab, nodes: started, gateway, options: { nodes: count, mode, crossSubnet: opts.crossSubnet ?? false, ipv6: opts.ipv6 ?? false } };
  } catch (err) {
    await lab.close();
    throw err;
  }
}

/** Wait until every wren node has all sessions Established and the expected kernel routes. */
export async function waitConverged(c: Cluster, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      for (const n of c.nodes) {
        if (n.wren === undefined) continue;
        const ns = await n.wren.neighbors();
        if (ns.length === 0 || ns.some((x) => x.state !== 'Established')) return undefined;
        if (n.role === 'rr') continue;
        const got = await birdRoutes(n);
        if (got.join('\n') !== expectedBirdRoutes(c, n).join('\n')) return undefined;
      }
      return true;
    },
    { timeoutMs, intervalMs: 250, what: 'cluster convergence' },
  );
}

/** `birdc` (BIRD 1.6) command on a mixed-mode BIRD node. */
export async function birdc(n: ClusterNode, command: string): Promise<string> {
  if (n.birdSocket === undefined) throw new Error(`${n.name} runs no BIRD`);
  const paths = bird1Paths();
  if (paths instanceof Error) throw paths;
  const { stdout } = await run(paths.birdc, ['-s', n.birdSocket, ...command.split(' ')]);
  return stdout;
}
