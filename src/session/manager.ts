/**
 * The listening side and the set of peers: accepts TCP connections on the configured address
 * and port (IPv4 and IPv6), hands each to the Peer configured for the remote address, and closes
 * anything else at once — destroyed before a single BGP byte, with no effect on any session
 * (RFC 4271 §8.2.1: connections are accepted for configured peers only). Re-emits every peer's
 * events to the daemon.
 *
 * TCP MD5 (RFC 2385): every peer with a password has its key on each listening socket that can
 * accept it, from addPeer until removePeer (a reload that changes the password removes and adds
 * the peer, so the key follows). The kernel demands a signature only from keyed addresses, so
 * peers without a password share the same sockets. Established sessions keep the key their
 * socket inherited at accept; removing it from the listener does not touch them.
 *
 * GTSM (RFC 5082): while any peer has ttl-security, the listeners send with TTL 255 (as BIRD's
 * listening socket always does), since the SYN-ACK leaves before we know the connection's peer
 * and a GTSM peer drops one with a lower TTL. A listener cannot drop the SYN itself (it serves
 * peers with and without GTSM), so every listener saves the SYNs it answers (TCP_SAVE_SYN) and
 * a connection from a GTSM peer is judged by its SYN's TTL as soon as it is accepted, before a
 * byte is read: below 256 - hops it is reset (SO_LINGER 0), counted in `gtsmRefused` and logged
 * at warn — the peer's OPEN is never read and nothing is sent (RFC 5082 §3: such packets are to
 * be dropped, the connection's first one included). The accepted socket then gets its peer's own
 * settings: TTL 255 and the minimum TTL for a GTSM peer (Peer.accept; from then on the kernel
 * drops every later low-TTL segment too), the listener's original TTL back for any other. When
 * no SYN was saved (the listener could not save it, the SYN came before the option was set, or a
 * SYN cookie completed the handshake) only that minimum TTL applies, from accept() on.
 */
import net from 'node:net';
import { CeaseSubcode } from '../../proto/errors.js';
import type { Clock, TimerHandle } from './clock.js';
import type { SessionLogger } from './logger.js';
import { Peer } from './peer.js';
import type { PeerEventName, PeerEvents, PeerOptions } from './peer.js';
import { GTSM_TTL, gtsmMinTtl, hasPassword, listenerFamilies, listenerTakesPeer, setListenerKey } from './security.js';
import { getHopOptions, savedSynTtl, setSaveSyn, setTtl } from '../native.js';
import type { ListenerFamilies } from './security.js';

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

const LISTEN_RETRY_MIN_MS = 500;
const LISTEN_RETRY_MAX_MS = 2000;

function bindServer(server: net.Server, ep: ListenEndpoint, ipv6Only: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ep.address, port: ep.port, ipv6Only }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export class SessionManager {
  private readonly opts: SessionManagerOptions;
  private readonly peers = new Map<string, Peer>();
  private readonly servers: net.Server[] = [];
  /** What each server accepts (same order as `servers`), for placing MD5 keys. */
  private readonly serverFamilies = new Map<net.Server, ListenerFamilies>();
  /** MD5 keys on the listeners, by normalized peer address. */
  private readonly md5Keys = new Map<string, string>();
  /** Peers with ttl-security: their hops, by normalized address. */
  private readonly gtsmPeers = new Map<string, number>();
  /** Listeners that save SYNs (TCP_SAVE_SYN took). */
  private readonly savingSyn = new Set<net.Server>();
  /** Listeners switched to TTL 255 for GTSM, with the TTL they had before. */
  private readonly listenerTtl = new Map<net.Server, number>();
  private readonly listeners: { [K in PeerEventName]: Listener<K>[] } = {
    stateChange: [],
    established: [],
    down: [],
    update: [],
    routeRefresh: [],
    drain: [],
  };
  /** Listeners whose address was missing at start, with their next bind attempt. */
  private readonly listenRetries = new Map<net.Server, TimerHandle>();
  /** Connections refused because no peer is configured for their address. */
  refused = 0;
  /** Connections from GTSM peers refused because their SYN arrived with too low a TTL. */
  gtsmRefused = 0;

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
        const server: net.Server = net.createServer({ pauseOnConnect: true }, (sock) => this.onConnection(server, sock));
        this.servers.push(server);
        // ipv6Only keeps a `::1` / explicit v6 listener from claiming the v4 port too.
        const ipv6Only = ep.address !== '::' && net.isIPv6(ep.address);
        try {
          await bindServer(server, ep, ipv6Only);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw e;
          // The node address is not on any interface (yet): DHCP still running, an IPv6 address
          // in duplicate address detection, bgpd restarted during an outage. Exiting would only
          // have systemd restart us into the same error; keep running (outgoing sessions retry
          // on their own) and bind once the address is there.
          this.opts.logger.warn({ address: ep.address, port: ep.port, err: (e as Error).message, retryInMs: LISTEN_RETRY_MIN_MS }, 'listen address not on this node: retrying the bind');
          this.retryListen(server, ep, ipv6Only, LISTEN_RETRY_MIN_MS);
          continue;
        }
        this.listening(server, ep, ipv6Only);
      }
    } catch (e) {
      await this.closeServers();
      throw e;
    }
  }

  /** What a listener needs once bound: MD5 keys, GTSM TTL, the error log. */
  private listening(server: net.Server, ep: ListenEndpoint, ipv6Only: boolean): void {
    const fams = listenerFamilies(ep.address, ipv6Only);
    this.serverFamilies.set(server, fams);
    for (const [addr, password] of this.md5Keys) this.applyKey(server, fams, addr, password);
    this.updateListenerTtl();
    this.saveSyns(server, ep.address);
    server.on('error', (err) => this.opts.logger.error({ err: err.message }, 'listener error'));
  }

  /**
   * Bind again after `delayMs`, doubling up to LISTEN_RETRY_MAX_MS: a bind is one syscall, and the
   * cap bounds how long peers that only connect to us wait once the address is back. Only a
   * listener that never bound is retried; a bound one survives its address going away and
   * coming back (Linux keeps the socket and accepts on it again).
   */
  private retryListen(server: net.Server, ep: ListenEndpoint, ipv6Only: boolean, delayMs: number): void {
    const h = this.opts.clock.setTimeout(() => {
      this.listenRetries.delete(server);
      if (!this.servers.includes(server)) return; // closed meanwhile
      bindServer(server, ep, ipv6Only).then(
        () => {
          if (!this.servers.includes(server)) {
            server.close();
            return;
          }
          this.opts.logger.info({ address: ep.address, port: ep.port }, 'listening: the listen address is back');
          this.listening(server, ep, ipv6Only);
        },
        (e: unknown) => {
          const next = Math.min(LISTEN_RETRY_MAX_MS, delayMs * 2);
          const missing = (e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL';
          this.opts.logger[missing ? 'debug' : 'warn']({ address: ep.address, err: e instanceof Error ? e.message : String(e), retryInMs: next }, 'listen retry failed');
          this.retryListen(server, ep, ipv6Only, next);
        },
      );
    }, delayMs);
    this.listenRetries.set(server, h);
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
    if (hasPassword(o)) this.setKey(key, o.password ?? '');
    if (o.ttlSecurityHops !== undefined) {
      this.gtsmPeers.set(key, o.ttlSecurityHops);
      this.updateListenerTtl();
    }
    return peer;
  }

  /** TTL 255 on the listeners while any peer has GTSM, their own TTL otherwise. */
  private updateListenerTtl(): void {
    const want = this.gtsmPeers.size > 0;
    for (const s of this.servers) {
      if (!this.serverFamilies.has(s)) continue; // not listening yet
      try {
        const old = this.listenerTtl.get(s);
        if (want && old === undefined) {
          const ttl = getHopOptions(s).ttl;
          setTtl(s, GTSM_TTL);
          this.listenerTtl.set(s, ttl);
        } else if (!want && old !== undefined) {
          setTtl(s, old);
          this.listenerTtl.delete(s);
        }
      } catch (e) {
        this.opts.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'cannot set the listener TTL for ttl-security');
      }
    }
  }

  /**
   * Always on, not only while a peer has ttl-security: a SYN is saved only if the option is on
   * when it arrives, so a GTSM peer added by a reload is judged from its first connection. The
   * kernel holds the headers (about 60-100 bytes) per pending connection and frees them when the
   * accepted socket reads them (onConnection) or closes.
   */
  private saveSyns(server: net.Server, address: string): void {
    try {
      setSaveSyn(server, true);
      this.savingSyn.add(server);
    } catch (e) {
      this.opts.logger.error(
        { listener: address, err: e instanceof Error ? e.message : String(e) },
        'cannot save SYNs on the listener (TCP_SAVE_SYN): ttl-security peers are checked from accept() on only',
      );
    }
  }

  /** Peers with ttl-security (tests, status). */
  gtsmAddresses(): string[] {
    return [...this.gtsmPeers.keys()];
  }

  /** The peer addresses whose MD5 key is on the listeners (tests, status). */
  md5KeyedAddresses(): string[] {
    return [...this.md5Keys.keys()];
  }

  private setKey(address: string, password: string): void {
    if (password === '') this.md5Keys.delete(address);
    else this.md5Keys.set(address, password);
    for (const s of this.servers) {
      const fams = this.serverFamilies.get(s);
      if (fams !== undefined) this.applyKey(s, fams, address, password);
    }
  }

  /**
   * One key on one listener. A failure (no addon, a kernel without TCP_MD5SIG) is logged, not
   * thrown: that peer cannot connect to us, every other peer is unaffected.
   */
  private applyKey(server: net.Server, fams: ListenerFamilies, address: string, password: string): void {
    if (!listenerTakesPeer(fams, address)) return;
    try {
      setListenerKey(server, address, password);
    } catch (e) {
      const a = server.address();
      this.opts.logger.error(
        { peer: address, listener: typeof a === 'object' && a !== null ? a.address : null, err: e instanceof Error ? e.message : String(e) },
        password === '' ? 'cannot remove the TCP MD5 key from the listener' : 'cannot set the TCP MD5 key on the listener: the peer cannot connect to us',
      );
    }
  }

  /** Remove a peer: Cease / Peer De-configured (RFC 4486) and forget it. */
  removePeer(address: string, subcode: number = CeaseSubcode.PeerDeconfigured): boolean {
    const key = normalizeAddress(address);
    const peer = this.peers.get(key);
    if (peer === undefined) return false;
    peer.stop(subcode);
    this.peers.delete(key);
    if (this.md5Keys.has(key)) this.setKey(key, '');
    if (this.gtsmPeers.delete(key)) this.updateListenerTtl();
    return true;
  }

  peer(address: string): Peer | undefined {
    return this.peers.get(normalizeAddress(address));
  }

  allPeers(): Peer[] {
    return [...this.peers.values()];
  }

  private onConnection(server: net.Server, sock: net.Socket): void {
    const remote = sock.remoteAddress === undefined ? '' : normalizeAddress(sock.remoteAddress);
    const peer = this.peers.get(remote);
    if (peer === undefined) {
      this.refused++;
      this.opts.logger.warn({ remote, port: sock.remotePort }, 'connection from an unconfigured address refused');
      sock.destroy();
      return;
    }
    const hops = this.gtsmPeers.get(remote);
    const synTtl = this.savingSyn.has(server) ? this.takeSynTtl(sock, remote, hops !== undefined) : null;
    if (hops !== undefined) {
      const minTtl = gtsmMinTtl(hops);
      if (synTtl !== null && synTtl < minTtl) {
        this.gtsmRefused++;
        this.opts.logger.warn({ peer: remote, port: sock.remotePort, ttl: synTtl, minTtl }, 'connection refused by ttl-security: its SYN arrived with a TTL below the minimum');
        // RST rather than FIN: the connection is gone at once on both ends (no FIN-WAIT or
        // TIME-WAIT kept for a sender GTSM rejects, no retransmitted OPEN), and whatever it
        // queued already is discarded unread.
        sock.resetAndDestroy();
        return;
      }
      if (synTtl === null) this.opts.logger.debug({ peer: remote, minTtl }, 'no saved SYN for a ttl-security peer: its connection is checked from accept() on only');
    }
    const listenerTtl = this.listenerTtl.get(server);
    if (listenerTtl !== undefined && !this.gtsmPeers.has(remote)) {
      // Inherited TTL 255 from a GTSM-serving listener: this peer gets the usual TTL back.
      try {
        setTtl(sock, listenerTtl);
      } catch (e) {
        this.opts.logger.warn({ peer: remote, err: e instanceof Error ? e.message : String(e) }, 'cannot restore the TTL of an accepted connection');
      }
    }
    sock.resume();
    peer.accept(sock);
  }

  /**
   * The accepted connection's SYN TTL, or null when none was saved. Read for every configured
   * peer, GTSM or not, since the read is also what frees the saved headers for the session's
   * lifetime. A failure means no check before accept(): logged at warn for a GTSM peer.
   */
  private takeSynTtl(sock: net.Socket, remote: string, gtsm: boolean): number | null {
    try {
      return savedSynTtl(sock);
    } catch (e) {
      const fields = { peer: remote, err: e instanceof Error ? e.message : String(e) };
      if (gtsm) this.opts.logger.warn(fields, 'cannot read the saved SYN of a ttl-security peer: its connection is checked from accept() on only');
      else this.opts.logger.debug(fields, 'cannot read the saved SYN of an accepted connection');
      return null;
    }
  }

  private async closeServers(): Promise<void> {
    for (const h of this.listenRetries.values()) this.opts.clock.clearTimeout(h);
    this.listenRetries.clear();
    const servers = this.servers.splice(0);
    this.serverFamilies.clear();
    this.savingSyn.clear();
    this.listenerTtl.clear();
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
    this.md5Keys.clear();
    this.gtsmPeers.clear();
    await this.closeServers();
  }
}
