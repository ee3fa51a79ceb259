/**
 * From configured neighbours to the session layer's and the RIB's view of a peer. Pure mapping:
 * the daemon owns the sessions; this module only says what each one is configured to be.
 */
import type { Config } from '../config/types.js';
import type { Neighbor } from '../config/neighbors.js';
import { makeSessionConfig } from '../fsm/config.js';
import { localCapabilities } from '../fsm/open-check.js';
import type { Negotiated, SessionConfig } from '../fsm/types.js';
import type { PeerConfig as RibPeerConfig } from '../rib/messages.js';
import { parseIpv4, parsePrefix } from '../proto/prefix.js';
import type { Prefix } from '../proto/prefix.js';
import { Family } from '../proto/types.js';
import type { Address } from '../proto/types.js';
import type { ManagedPeerOptions } from './session/manager.js';

export function routerIdNumber(config: Config): number {
  const id = parseIpv4(config.routerId);
  if (id === null) throw new Error(`router-id ${config.routerId} is not an IPv4 address`);
  return id;
}

/** IPv4 text -> u32; IPv6 text stays text (proto/types Address). */
export function toAddress(text: string): Address {
  return parseIpv4(text) ?? text;
}

function familiesOf(n: Neighbor): Family[] {
  return n.family === 'ipv6' ? [Family.Ipv6Unicast] : [Family.Ipv4Unicast];
}

export interface SessionFlags {
  /** wren restarted with routes still in the kernel: advertise R and F (RFC 4724 §4.1). */
  readonly restarting: boolean;
}

/** The session (FSM) configuration for one neighbour. */
export function sessionConfigFor(config: Config, n: Neighbor, flags: SessionFlags): SessionConfig {
  const families = familiesOf(n);
  const addPath = new Map<number, 'rx' | 'tx' | 'both'>();
  if (n.addPath !== 'off') for (const f of families) addPath.set(f, n.addPath);
  const gr = n.gracefulRestart.enabled && config.gracefulRestart.enabled;
  return makeSessionConfig({
    localAsn: n.localAsn,
    peerAsn: n.asn,
    localBgpId: routerIdNumber(config),
    holdTimeSec: n.holdTimeSec,
    keepaliveSec: n.keepaliveSec,
    connectRetrySec: n.connectRetrySec,
    connectDelaySec: n.connectDelaySec,
    errorWaitMinSec: n.errorWaitMinSec,
    errorWaitMaxSec: n.errorWaitMaxSec,
    passive: n.passive,
    // One family per session: a peer that does not offer it would give an empty session that
    // looks Established; refuse it with Unsupported Capability naming the family (RFC 5492 §5).
    required: { families },
    capabilities: localCapabilities({
      asn: n.localAsn,
      families,
      addPath,
      ...(gr
        ? { gracefulRestart: { restartTimeSec: n.gracefulRestart.restartTimeSec, restarting: flags.restarting, forwardingPreserved: flags.restarting } }
        : {}),
    }),
  });
}

/** What the session manager needs to run one neighbour. */
export function peerOptionsFor(config: Config, n: Neighbor, flags: SessionFlags): ManagedPeerOptions {
  const source = n.sourceAddress ?? (n.family === 'ipv6' ? config.nodeAddressV6?.address : config.nodeAddress.address);
  return {
    name: n.name,
    address: n.address,
    port: n.port,
    ...(source === undefined ? {} : { localAddress: source }),
    ...(n.password === undefined || n.password === '' ? {} : { password: n.password }),
    ...(n.ttlSecurityHops === undefined ? {} : { ttlSecurityHops: n.ttlSecurityHops }),
    config: sessionConfigFor(config, n, flags),
  };
}

/** The RIB's view of an established session. */
export function ribPeerFor(config: Config, n: Neighbor, neg: Negotiated): RibPeerConfig {
  const gr = neg.gracefulRestart;
  return {
    id: n.address,
    address: toAddress(n.address),
    asn: neg.peerAsn,
    localAsn: n.localAsn,
    routerId: neg.peerBgpId,
    localAddress: toAddress(n.sourceAddress ?? config.nodeAddress.address),
    ...(config.nodeAddressV6 === undefined ? {} : { localAddressV6: config.nodeAddressV6.address }),
    families: neg.families,
    rrClient: n.routeReflectorClient,
    nextHopMode: n.nextHop,
    addPathReceive: neg.addPathReceive,
    addPathSend: neg.addPathSend,
    addPathSendMode: 'multipath',
    ...(gr === null ? {} : { gracefulRestart: { restartTimeSec: gr.restartTimeSec, families: gr.families } }),
    enhancedRouteRefresh: neg.enhancedRouteRefresh,
    softReconfigIn: false,
    ...(n.maxPrefix === undefined
      ? {}
      : { maxPrefix: { limit: n.maxPrefix.limit, action: n.maxPrefix.action === 'restart' ? 'teardown' : 'warn' } }),
    allowOwnAs: n.allowLocalAs,
    enforceFirstAs: n.enforceFirstAs,
  };
}

/** config/'s prefix (canonical text) -> proto/'s compact prefix. */
export function compactPrefix(p: { readonly cidr: string }): Prefix {
  const parsed = parsePrefix(p.cidr);
  if (parsed === null) throw new Error(`config prefix ${p.cidr} does not parse`);
  return parsed.prefix;
}

export function compactPrefixes(ps: readonly { readonly cidr: string }[]): Prefix[] {
  return ps.map(compactPrefix);
}
