// wren itself as a lab speaker: a generated YAML config, `node dist/src/bgpd.js` in the host's
// namespace, and state read back through `bgpctl --json` on its control socket (the same path an
// operator uses). Requires `npm run build` (npm test runs it first).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Host } from './lab.js';
import type { LabProcess } from './process.js';
import { repoRoot } from './paths.js';
import { Speaker, holdOf, keepaliveOf, sameAddress, normaliseState } from './speaker.js';
import type { PeerStatus, ReceivedRoute, SpeakerConfig, SpeakerKind } from './speaker.js';
import type { NeighborStatus, RoutePath } from '../../../src/status.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** Extra top-level keys of wren's YAML (blocks, pools, mesh, kernel, route-reflector, ...). */
export type WrenExtra = Record<string, unknown>;

export interface WrenOptions {
  /** This node's address with its subnet length, e.g. 10.160.105.6/24 (default: routerId/24). */
  readonly nodeAddress?: string;
  readonly nodeAddressV6?: string;
  /** Merged over the generated config (top-level keys replace). */
  readonly extra?: WrenExtra;
  /** Log level (default debug: lab failures want the detail). */
  readonly logLevel?: string;
}

export class WrenSpeaker extends Speaker {
  readonly kind: SpeakerKind = 'wren';
  readonly dir: string;
  readonly configFile: string;
  readonly socket: string;
  readonly birdSocket: string;
  private proc: LabProcess | null = null;
  private extra: WrenExtra;

  constructor(
    host: Host,
    config: SpeakerConfig,
    readonly opts: WrenOptions = {},
  ) {
    super(host, config);
    this.dir = host.dir;
    this.configFile = join(this.dir, 'bgpd.conf');
    this.socket = join(this.dir, 'bgpd.sock');
    this.birdSocket = join(this.dir, 'bird.ctl');
    this.extra = { ...(opts.extra ?? {}) };
  }

  /** The config as an object (YAML is a superset of JSON: it is written as JSON). */
  configObject(): Record<string, unknown> {
    const c = this.config;
    const blocks = this.originated;
    const base: Record<string, unknown> = {
      'router-id': c.routerId,
      asn: c.localAs,
      'node-address': this.opts.nodeAddress ?? `${c.listenAddress ?? c.routerId}/24`,
      ...(this.opts.nodeAddressV6 === undefined ? {} : { 'node-address-v6': this.opts.nodeAddressV6 }),
      listen: { address: c.listenAddress ?? '::', port: 179 },
      control: { socket: this.socket, 'bird-socket': this.birdSocket, 'bird6-socket': join(this.dir, 'bird6.ctl') },
      log: { level: this.opts.logLevel ?? 'debug' },
      timers: { 'connect-retry': 1, 'connect-delay': 0, 'error-wait': { min: 1, max: 2 } },
      'graceful-restart': { enabled: true, 'restart-time': 120 },
      kernel: { program: c.kernel ?? false, persist: true },
      blocks,
      pools: blocks.map((b) => ({ cidr: b, 'ipip-mode': 'Never' })),
      mesh: { enabled: false, nodes: [] },
      peers: c.neighbors.map((n) => ({
        address: n.address,
        asn: n.remoteAs,
        passive: n.passive ?? false,
        hold: holdOf(n),
        keepalive: keepaliveOf(n),
        ...(n.routeReflectorClient === true ? { 'route-reflector-client': true } : {}),
        ...(n.addPath === undefined ? {} : { 'add-path': n.addPath }),
        ...(n.password === undefined ? {} : { password: n.password }),
        ...(n.ttlSecurity === undefined ? {} : { 'ttl-security': n.ttlSecurity }),
        ...(n.localAddress === undefined ? {} : { 'source-address': n.localAddress }),
        ...(n.nextHopSelf === true ? { 'next-hop': 'self' } : {}),
        ...(n.gracefulRestart === undefined
          ? {}
          : { 'graceful-restart': { enabled: n.gracefulRestart, ...(n.restartTime === undefined ? {} : { 'restart-time': n.restartTime }) } }),
      })),
      ...(c.clusterId === undefined ? {} : { 'route-reflector': { 'cluster-id': c.clusterId } }),
    };
    return { ...base, ...this.extra };
  }

  async writeConfig(): Promise<void> {
    await writeFile(this.configFile, `${JSON.stringify(this.configObject(), null, 2)}\n`);
  }

  /** Replace extra keys and write the file (then `reload()` to apply). */
  async setExtra(extra: WrenExtra): Promise<void> {
    this.extra = { ...this.extra, ...extra };
    await this.writeConfig();
  }

  async start(): Promise<void> {
    await this.writeConfig();
    // WREN_NODE_FLAGS adds node flags that NODE_OPTIONS refuses (e.g. --cpu-prof) for profiling.
    const flags = (process.env['WREN_NODE_FLAGS'] ?? '').split(/\s+/).filter((f) => f !== '');
    this.proc = this.host.spawn('node', [...flags, '--enable-source-maps', join(repoRoot(), 'dist/src/bgpd.js'), '-c', this.configFile], { name: 'wren' });
    await waitFor(
      async () => {
        if (this.proc !== null && !this.proc.running) throw new Error(`bgpd exited: ${this.proc.output().slice(-3000)}`);
        try {
          await this.ctl(['show', 'status']);
          return true;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `wren on ${this.host.name}: control socket` },
    );
  }

  get process(): LabProcess | null {
    return this.proc;
  }

  async stop(): Promise<void> {
    if (this.proc === null) return;
    await this.proc.stop(5000);
    this.proc = null;
  }

  async kill(): Promise<void> {
    if (this.proc === null) return;
    await this.proc.kill();
    this.proc = null;
  }

  /** Run bgpctl with --json against this daemon; returns parsed JSON. */
  async ctl<T = unknown>(args: readonly string[]): Promise<T> {
    const { stdout } = await run('node', [join(repoRoot(), 'dist/src/bgpctl.js'), '-s', this.socket, ...args, '--json'], { timeout: 10_000 });
    return JSON.parse(stdout) as T;
  }

  /** bgpctl in text mode: stdout, stderr and exit code. */
  async ctlText(args: readonly string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const { stdout, stderr } = await run('node', [join(repoRoot(), 'dist/src/bgpctl.js'), '-s', this.socket, ...args], { timeout: 10_000 });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
    }
  }

  async neighbors(): Promise<readonly NeighborStatus[]> {
    return (await this.ctl<{ neighbors: NeighborStatus[] }>(['show', 'neighbors'])).neighbors;
  }

  async peerState(address: string): Promise<PeerStatus> {
    const n = (await this.neighbors()).find((x) => sameAddress(x.address, address));
    if (n === undefined) return { state: 'Idle', raw: `no neighbor ${address}` };
    return { state: normaliseState(n.state), raw: JSON.stringify(n), ...(n.lastError ? { lastError: n.lastError } : {}) };
  }

  async routes(prefix: string): Promise<ReceivedRoute[]> {
    let r: { routes: RoutePath[] };
    try {
      r = await this.ctl<{ routes: RoutePath[] }>(['show', 'routes', prefix]);
    } catch (err) {
      // bgpctl exits 1 with "network not in table" when nothing covers the prefix.
      if (/not in table/.test(String((err as { stdout?: string }).stdout ?? err))) return [];
      throw err;
    }
    return r.routes
      .filter((p) => p.prefix === prefix)
      .map((p) => ({
        prefix: p.prefix,
        ...(p.nextHop === null ? {} : { nextHop: p.nextHop }),
        asPath: p.asPath.split(/[\s{}()[\]]+/).filter((x) => /^\d+$/.test(x)).map(Number),
        ...(p.localPref === null ? {} : { localPref: p.localPref }),
        ...(p.originatorId === null ? {} : { originatorId: p.originatorId }),
        ...(p.clusterList.length === 0 ? {} : { clusterList: p.clusterList }),
        best: p.best,
        ...(p.peerAddress === null ? {} : { fromPeer: p.peerAddress }),
        local: p.peerAddress === null,
        raw: JSON.stringify(p),
      }));
  }

  async cli(command: string): Promise<string> {
    return (await this.ctlText(command.split(/\s+/))).stdout;
  }

  logs(): string {
    return this.proc?.output() ?? '';
  }

  async reload(): Promise<unknown> {
    return this.ctl(['reload']);
  }

  async announce(prefix: string): Promise<void> {
    if (!this.originated.includes(prefix)) this.originated.push(prefix);
    await this.writeConfig();
    await this.reload();
  }

  async withdraw(prefix: string): Promise<void> {
    this.originated = this.originated.filter((p) => p !== prefix);
    await this.writeConfig();
    await this.reload();
  }
}
