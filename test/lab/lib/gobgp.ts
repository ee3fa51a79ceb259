// GoBGP as a lab peer: gobgpd with a generated TOML config, its gRPC API on the namespace's own
// loopback (every namespace has its own 127.0.0.1, so the port never clashes), queried with `gobgp -j`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from './lab.js';
import type { LabProcess } from './process.js';
import type { NeighborConfig, PeerState, PeerStatus, ReceivedRoute, SpeakerConfig, SpeakerKind } from './speaker.js';
import { DEFAULT_CONNECT_RETRY, Speaker, holdOf, isV6, keepaliveOf, localAddressFor, normaliseState, sameAddress } from './speaker.js';
import { StopWaiting, waitFor } from './wait.js';

export const GOBGP_API_PORT = 50051;

const q = (s: string): string => JSON.stringify(s);

function neighborToml(cfg: SpeakerConfig, n: NeighborConfig): string {
  const l: string[] = ['[[neighbors]]', '  [neighbors.config]', `    neighbor-address = ${q(n.address)}`, `    peer-as = ${n.remoteAs}`];
  if (n.password !== undefined) l.push(`    auth-password = ${q(n.password)}`);
  l.push(
    '  [neighbors.timers.config]',
    `    hold-time = ${holdOf(n)}`,
    `    keepalive-interval = ${keepaliveOf(n)}`,
    `    connect-retry = ${n.connectRetry ?? DEFAULT_CONNECT_RETRY}`,
    // GoBGP waits 30 s after a reset before it tries again by default: too long for tests.
    '    idle-hold-time-after-reset = 1',
  );
  const local = localAddressFor(cfg, n);
  if (n.passive || local !== undefined) {
    l.push('  [neighbors.transport.config]');
    if (n.passive) l.push('    passive-mode = true');
    if (local !== undefined) l.push(`    local-address = ${q(local)}`);
  }
  if (n.routeReflectorClient) {
    l.push(
      '  [neighbors.route-reflector.config]',
      '    route-reflector-client = true',
      `    route-reflector-cluster-id = ${q(cfg.clusterId ?? cfg.routerId)}`,
    );
  }
  if (n.gracefulRestart) {
    l.push('  [neighbors.graceful-restart.config]', '    enabled = true');
    if (n.restartTime !== undefined) l.push(`    restart-time = ${n.restartTime}`);
  }
  l.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = ${q(isV6(n.address) ? 'ipv6-unicast' : 'ipv4-unicast')}`);
  if (n.gracefulRestart) l.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
  if (n.addPath !== undefined) {
    l.push('    [neighbors.afi-safis.add-paths.config]');
    if (n.addPath !== 'tx') l.push('      receive = true');
    if (n.addPath !== 'rx') l.push('      send-max = 8');
  }
  return l.join('\n');
}

/** gobgpd TOML for a speaker. Originated prefixes are not in it: GoBGP adds them through the API. */
export function gobgpConfig(cfg: SpeakerConfig): string {
  const g = ['[global.config]', `  as = ${cfg.localAs}`, `  router-id = ${q(cfg.routerId)}`];
  if (cfg.listenAddress !== undefined) g.push(`  local-address-list = [${q(cfg.listenAddress)}]`);
  const parts = [g.join('\n'), ...cfg.neighbors.map((n) => neighborToml(cfg, n))];
  if (cfg.extraConfig !== undefined) parts.push(cfg.extraConfig);
  return parts.join('\n\n') + '\n';
}

// GoBGP's API enum (apipb.PeerState.SessionState); protobuf JSON may give the number or the name.
const SESSION_STATES: Record<string, PeerState> = {
  '0': 'Idle',
  '1': 'Idle',
  '2': 'Connect',
  '3': 'Active',
  '4': 'OpenSent',
  '5': 'OpenConfirm',
  '6': 'Established',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((acc, k) => (isObj(acc) ? acc[k] : undefined), o);

/** Parse one path of `gobgp global rib PREFIX -j`. */
export function parseGobgpPath(prefix: string, p: unknown): ReceivedRoute {
  const attrs = Array.isArray(get(p, 'attrs')) ? (get(p, 'attrs') as unknown[]) : [];
  const byType = (t: number): Obj | undefined => attrs.find((a): a is Obj => isObj(a) && a['type'] === t);
  const asPath: number[] = [];
  const segs = byType(2)?.['as_paths'];
  if (Array.isArray(segs)) {
    for (const s of segs) {
      const asns = get(s, 'asns');
      if (Array.isArray(asns)) asPath.push(...asns.filter((x): x is number => typeof x === 'number'));
    }
  }
  const nh = byType(3)?.['nexthop'] ?? byType(14)?.['nexthop'];
  const lp = byType(5)?.['value'];
  const orig = byType(9)?.['value'];
  const cl = byType(10)?.['value'];
  const neighbor = get(p, 'neighbor-ip');
  // Locally added paths have no neighbor (GoBGP prints "<nil>" or an unspecified address).
  const local = typeof neighbor !== 'string' || neighbor === '<nil>' || neighbor === '0.0.0.0' || neighbor === '::';
  return {
    prefix,
    ...(typeof nh === 'string' ? { nextHop: nh } : {}),
    asPath,
    ...(typeof lp === 'number' ? { localPref: lp } : {}),
    ...(typeof orig === 'string' ? { originatorId: orig } : {}),
    ...(Array.isArray(cl) ? { clusterList: cl.map(String) } : {}),
    best: get(p, 'best') === true,
    ...(!local && typeof neighbor === 'string' ? { fromPeer: neighbor } : {}),
    local,
    raw: JSON.stringify(p),
  };
}

export class GobgpSpeaker extends Speaker {
  readonly kind: SpeakerKind = 'gobgp';
  readonly apiPort: number;
  private proc: LabProcess | undefined;
  private readonly confPath: string;

  constructor(host: Host, config: SpeakerConfig, opts: { apiPort?: number; name?: string } = {}) {
    super(host, config);
    this.apiPort = opts.apiPort ?? GOBGP_API_PORT;
    this.confPath = join(host.dir, `${opts.name ?? 'gobgp'}.toml`);
  }

  get process(): LabProcess | undefined {
    return this.proc;
  }

  async start(): Promise<void> {
    writeFileSync(this.confPath, gobgpConfig(this.config));
    this.host.lab.onClose(() => this.stop());
    const proc = this.host.spawn(
      'gobgpd',
      ['-f', this.confPath, '--api-hosts', `127.0.0.1:${this.apiPort}`, '--pprof-disable', '-p', '-l', 'debug'],
      { name: 'gobgpd' },
    );
    this.proc = proc;
    await waitFor(
      async () => {
        if (!proc.running) throw new StopWaiting(`gobgpd exited: ${JSON.stringify(proc.exit)}\n${proc.output()}`);
        await this.gobgp(['global']);
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'gobgpd API' },
    );
    for (const p of this.originated) await this.gobgp(['global', 'rib', 'add', p, '-a', isV6(p) ? 'ipv6' : 'ipv4']);
  }

  /** Run the gobgp client against this daemon (inside its namespace); returns stdout. */
  async gobgp(args: readonly string[]): Promise<string> {
    const r = await this.host.exec('gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args], { timeoutMs: 10_000 });
    return r.stdout;
  }

  cli(command: string): Promise<string> {
    return this.gobgp(command.trim().split(/\s+/));
  }

  async peerState(address: string): Promise<PeerStatus> {
    const out = await this.gobgp(['neighbor', '-j']);
    const list: unknown = JSON.parse(out);
    const peer = (Array.isArray(list) ? list : []).find((p) => {
      const a = get(p, 'state', 'neighbor_address') ?? get(p, 'conf', 'neighbor_address');
      return typeof a === 'string' && sameAddress(a, address);
    });
    if (peer === undefined) throw new Error(`gobgp on ${this.host.name} has no neighbor ${address}: ${out}`);
    const st = get(peer, 'state', 'session_state');
    const state = typeof st === 'number' ? (SESSION_STATES[String(st)] ?? 'Idle') : typeof st === 'string' ? normaliseState(st) : 'Idle';
    const lastError = this.lastErrorFromLog(address);
    return { state, raw: JSON.stringify(peer), ...(lastError === undefined ? {} : { lastError }) };
  }

  /** GoBGP's neighbor JSON has no error field; its log says why a peer went down. */
  private lastErrorFromLog(address: string): string | undefined {
    const lines = this.logs()
      .split('\n')
      .filter((l) => l.includes(`Key=${address}`) && /Peer Down|notification|error/i.test(l));
    return lines.at(-1);
  }

  async routes(prefix: string): Promise<ReceivedRoute[]> {
    const r = await this.host.exec('gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), 'global', 'rib', prefix, '-a', isV6(prefix) ? 'ipv6' : 'ipv4', '-j'], {
      allowFail: true,
      timeoutMs: 10_000,
    });
    const text = r.stdout.trim();
    if (r.code !== 0 || text === '' || !text.startsWith('{')) {
      if (/not in table|no such|not found/i.test(r.stdout + r.stderr) || text === '') return [];
      throw new Error(`gobgp global rib ${prefix}: ${r.stdout}${r.stderr}`);
    }
    const parsed: unknown = JSON.parse(text);
    const paths = isObj(parsed) ? parsed[prefix] : undefined;
    return Array.isArray(paths) ? paths.map((p) => parseGobgpPath(prefix, p)) : [];
  }

  async announce(prefix: string): Promise<void> {
    await this.gobgp(['global', 'rib', 'add', prefix, '-a', isV6(prefix) ? 'ipv6' : 'ipv4']);
    if (!this.originated.includes(prefix)) this.originated.push(prefix);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.gobgp(['global', 'rib', 'del', prefix, '-a', isV6(prefix) ? 'ipv6' : 'ipv4']);
    this.originated = this.originated.filter((p) => p !== prefix);
  }

  logs(): string {
    return this.proc ? this.proc.stderr() + this.proc.stdout() : '';
  }

  async stop(): Promise<void> {
    await this.proc?.stop(3000);
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }
}
