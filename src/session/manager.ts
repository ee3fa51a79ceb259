/**
 * The listening side and the set of peers: accepts TCP connections on the configured address
 * and port (IPv4 and IPv6), hands each to the Peer configured for the remote address, and closes
 * anything else at once — destroyed before a single BGP byte, with no effect on any session
 * (RFC 4271 §8.2.1: connections are accepted for configured peers only). Re-emits every peer's
 * events to the daemon.
 */
import net from 'node:net';
import { CeaseSubcode } from '../../proto/errors.js';
import type { Clock } from './clock.js';
import type { SessionLogger } from './logger.js';
import { Peer } from './peer.js';
import type { PeerEventName, PeerEvents, PeerOptions } from './peer.js';

export interface ListenEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface SessionManagerOptions {
  /** Where to listen; several for separate IPv4 and IPv6 sockets. `::` accepts both on Linux. */
  readonly listen: readonly ListenEndpoint[];
  readonly clock: Clock;
  readonly logger: SessionLogger;
  readonly batchSize?: number;
}

export type ManagedPeerOptions = Omit<PeerOptions, 'clock' | 'logger' | 'batchSize'>;

/** `::ffff:10.0.0.1` (a v4 client on a dual-stack socket) is the peer 10.0.0.1. */
export function normalizeAddress(a: string): string {
  const lower = a.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

type Listener<K extends PeerEventName> = (e: PeerEvents[K]) => void;

export class SessionManager {
  private readonly opts: SessionManagerOptions;
  private readonly peers = new Map<string, Peer>();
  private readonly servers: net.Server[] = [];
  private readonly listeners: { [K in PeerEventName]: Listener<K>[] } = {
    stateChange: [],
    established: [],
    down: [],
    update: [],
    routeRefresh: [],
    drain: [],
  };
  /** Connections refused because no peer is configured for their address. */
  refused = 0;

  constructor(opts: SessionManagerOptions) {
    this.opts = opts;
  }

  on<K extends PeerEventName>(event: K, fn: Listener<K>): this {
    this.listeners[event].push(fn);
    return this;
  }

  private forward<K extends PeerEventName>(event: K, payload: PeerEvents[K]): void {
    for (const fn of this.listeners[event]) fn(payload);
  }

  /** Bind every listening socket. Resolves once all listen; rejects (and closes them) on error. */
  async listen(): Promise<void> {
    try {
      for (const ep of this.opts.listen) {
        const server = net.createServer({ pauseOnConnect: true }, (sock) => this.onConnection(sock));
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          // ipv6Only keeps a `::1` / explicit v6 listener from claiming the v4 port too.
          server.listen({ host: ep.address, port: ep.port, ipv6Only: ep.address !== '::' && net.isIPv6(ep.address) }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.on('error', (err) => this.opts.logger.error({ err: err.message }, 'listener error'));
      }
    } catch (e) {
      await this.closeServers();
      throw e;
    }
  }

  /** The ports actually bound (port 0 in the config means any). */
  boundPorts(): number[] {
    return this.servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a !== null ? a.port : 0;
    });
  }

  addPeer(o: ManagedPeerOptions): Peer {
    const key = normalizeAddress(o.address);
    if (this.peers.has(key)) throw new Error(`peer ${o.address} already configured`);
    const peer = new Peer({
      ...o,
      clock: this.opts.clock,
      logger: this.opts.logger,
      ...(this.opts.batchSize !== undefined ? { batchSize: this.opts.batchSize } : {}),
    });
    peer.on('stateChange', (e) => this.forward('stateChange', e));
    peer.on('established', (e) => this.forward('established', e));
    peer.on('down', (e) => this.forward('down', e));
    peer.on('update', (e) => this.forward('update', e));
    peer.on('routeRefresh', (e) => this.forward('routeRefresh', e));
    peer.on('drain', (e) => this.forward('drain', e));
    this.peers.set(key, peer);
    return peer;
  }

  /** Remove a peer: Cease / Peer De-configured (RFC 4486) and forget it. */
  removePeer(address: string, subcode: number = CeaseSubcode.PeerDeconfigured): boolean {
    const key = normalizeAddress(address);
    const peer = this.peers.get(key);
    if (peer === undefined) return false;
    peer.stop(subcode);
    this.peers.delete(key);
    return true;
  }

  peer(address: string): Peer | undefined {
    return this.peers.get(normalizeAddress(address));
  }

  allPeers(): Peer[] {
    return [...this.peers.values()];
  }

  private onConnection(sock: net.Socket): void {
    const remote = sock.remoteAddress === undefined ? '' : normalizeAddress(sock.remoteAddress);
    const peer = this.peers.get(remote);
    if (peer === undefined) {
      this.refused++;
      this.opts.logger.warn({ remote, port: sock.remotePort }, 'connection from an unconfigured address refused');
      sock.destroy();
      return;
    }
    sock.resume();
    peer.accept(sock);
  }

  private async closeServers(): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /** Stop every peer (Cease / Administrative Shutdown, or the given subcode) and stop listening. */
  async close(subcode: number = CeaseSubcode.AdministrativeShutdown, communication?: string): Promise<void> {
    for (const p of this.peers.values()) if (p.isEnabled) p.stop(subcode, communication);
    await this.closeServers();
  }

  /** Drop everything without NOTIFICATIONs (tests, fatal exit). */
  async destroy(): Promise<void> {
    for (const p of this.peers.values()) p.destroy();
    this.peers.clear();
    await this.closeServers();
  }
}
