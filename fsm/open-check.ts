/**
 * OPEN validation and capability negotiation (RFC 4271 §6.2, RFC 5492, RFC 6793, RFC 4760,
 * RFC 7911, RFC 4724, RFC 7313, RFC 8654, RFC 8950). Pure: an OPEN and the session config in,
 * a Negotiated result or the BgpError to send out.
 */
import { AS_TRANS, AddPathMode, BGP_VERSION, CapabilityCode } from '../proto/constants.js';
import { BgpError, Errors } from '../proto/errors.js';
import { Family, family, familyAfi, familySafi } from '../proto/types.js';
import type { Capability, CodecContext, OpenMessage } from '../proto/types.js';
import type { Negotiated, PeerGracefulRestart, RequiredCapabilities, SessionConfig } from './types.js';

/** Flatten the capabilities of every Capabilities optional parameter, in wire order. */
export function capabilitiesOf(open: OpenMessage): Capability[] {
  const out: Capability[] = [];
  for (const p of open.params) if (p.type === 'capabilities') out.push(...p.capabilities);
  return out;
}

/** Our OPEN (RFC 4271 §4.2). My AS is AS_TRANS when our AS needs 4 octets (RFC 6793 §4.1). */
export function localOpen(config: SessionConfig): OpenMessage {
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: config.localAsn > 0xffff ? AS_TRANS : config.localAsn,
    holdTimeSec: config.holdTimeSec,
    bgpId: config.localBgpId,
    params: config.capabilities.length > 0 ? [{ type: 'capabilities', capabilities: config.capabilities }] : [],
  };
}

export interface LocalCapabilityOptions {
  readonly asn: number;
  readonly families?: readonly Family[];
  readonly routeRefresh?: boolean;
  readonly enhancedRouteRefresh?: boolean;
  readonly fourOctetAs?: boolean;
  readonly extendedMessage?: boolean;
  /** RFC 7911 mode per family: 'rx' (receive), 'tx' (send), 'both'. */
  readonly addPath?: ReadonlyMap<Family, 'rx' | 'tx' | 'both'>;
  readonly gracefulRestart?: { readonly restartTimeSec: number; readonly restarting?: boolean; readonly forwardingPreserved?: boolean };
  /** RFC 8950: families to carry with an IPv6 next hop (IPv4 unicast over IPv6). */
  readonly extendedNextHop?: readonly Family[];
}

/** The capability list wren advertises, in BIRD's order (bgp_write_capabilities). */
export function localCapabilities(o: LocalCapabilityOptions): Capability[] {
  const families = o.families ?? [Family.Ipv4Unicast];
  const caps: Capability[] = families.map((f) => ({ type: 'multiprotocol', afi: familyAfi(f), safi: familySafi(f) }) as const);
  if (o.routeRefresh ?? true) caps.push({ type: 'route-refresh' });
  if (o.extendedNextHop !== undefined && o.extendedNextHop.length > 0) {
    caps.push({
      type: 'extended-next-hop',
      entries: o.extendedNextHop.map((f) => ({ afi: familyAfi(f), safi: familySafi(f), nextHopAfi: 2 })),
    });
  }
  if (o.extendedMessage ?? false) caps.push({ type: 'extended-message' });
  if (o.gracefulRestart !== undefined) {
    const gr = o.gracefulRestart;
    caps.push({
      type: 'graceful-restart',
      restarting: gr.restarting ?? false,
      notification: false,
      restartTimeSec: gr.restartTimeSec,
      families: families.map((f) => ({ afi: familyAfi(f), safi: familySafi(f), forwardingPreserved: gr.forwardingPreserved ?? false })),
    });
  }
  if (o.fourOctetAs ?? true) caps.push({ type: 'four-octet-as', asn: o.asn });
  if (o.addPath !== undefined && o.addPath.size > 0) {
    const mode = { rx: AddPathMode.Receive, tx: AddPathMode.Send, both: AddPathMode.Both } as const;
    caps.push({
      type: 'add-path',
      families: [...o.addPath].map(([f, m]) => ({ afi: familyAfi(f), safi: familySafi(f), mode: mode[m] })),
    });
  }
  if (o.enhancedRouteRefresh ?? true) caps.push({ type: 'enhanced-route-refresh' });
  return caps;
}

/** What one side's capability list says, folded (the last instance of a capability wins, RFC 5492 §4). */
interface CapSummary {
  readonly mpFamilies: readonly Family[];
  readonly as4: number | null;
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  readonly extendedMessage: boolean;
  readonly addPath: ReadonlyMap<Family, number>;
  readonly extendedNextHop: ReadonlySet<string>;
  readonly gracefulRestart: Extract<Capability, { type: 'graceful-restart' }> | null;
}

function summarize(caps: readonly Capability[]): CapSummary {
  const mp: Family[] = [];
  let as4: number | null = null;
  let routeRefresh = false;
  let enhanced = false;
  let extendedMessage = false;
  const addPath = new Map<Family, number>();
  const enh = new Set<string>();
  let gr: CapSummary['gracefulRestart'] = null;
  for (const c of caps) {
    switch (c.type) {
      case 'multiprotocol': {
        const f = family(c.afi, c.safi);
        if (!mp.includes(f)) mp.push(f);
        break;
      }
      case 'route-refresh':
      case 'route-refresh-legacy':
        routeRefresh = true;
        break;
      case 'enhanced-route-refresh':
        enhanced = true;
        break;
      case 'four-octet-as':
        as4 = c.asn;
        break;
      case 'graceful-restart':
        gr = c;
        break;
      case 'add-path':
        for (const f of c.families) addPath.set(family(f.afi, f.safi), f.mode);
        break;
      case 'extended-message':
        extendedMessage = true;
        break;
      case 'extended-next-hop':
        for (const e of c.entries) enh.add(`${family(e.afi, e.safi)}/${e.nextHopAfi}`);
        break;
      case 'fqdn':
      case 'unknown':
        break;
      default:
        return assertNeverCap(c);
    }
  }
  return { mpFamilies: mp, as4, routeRefresh, enhancedRouteRefresh: enhanced, extendedMessage, addPath, extendedNextHop: enh, gracefulRestart: gr };
}

function assertNeverCap(x: never): never {
  throw new Error(`unknown capability ${JSON.stringify(x)}`);
}

/** RFC 5492 §5 Data: each capability as code, length, value. */
function capTlv(code: number, value: readonly number[]): number[] {
  return [code, value.length, ...value];
}

function u32bytes(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** RFC 5492 §5: the required capabilities the peer did not advertise, as NOTIFICATION Data. */
function missingRequired(req: RequiredCapabilities, peer: CapSummary, peerFamilies: readonly Family[], config: SessionConfig): number[] | null {
  const data: number[] = [];
  for (const f of req.families ?? []) {
    if (!peerFamilies.includes(f)) {
      const afi = familyAfi(f);
      data.push(...capTlv(CapabilityCode.Multiprotocol, [afi >>> 8, afi & 0xff, 0, familySafi(f)]));
    }
  }
  if (req.routeRefresh === true && !peer.routeRefresh) data.push(...capTlv(CapabilityCode.RouteRefresh, []));
  if (req.extendedMessage === true && !peer.extendedMessage) data.push(...capTlv(CapabilityCode.ExtendedMessage, []));
  if (req.gracefulRestart === true && peer.gracefulRestart === null) {
    const gr = config.capabilities.find((c) => c.type === 'graceful-restart');
    const t = gr?.type === 'graceful-restart' ? gr.restartTimeSec & 0x0fff : 0;
    data.push(...capTlv(CapabilityCode.GracefulRestart, [t >>> 8, t & 0xff]));
  }
  if (req.fourOctetAs === true && peer.as4 === null) data.push(...capTlv(CapabilityCode.FourOctetAs, u32bytes(config.localAsn)));
  if (req.enhancedRouteRefresh === true && !peer.enhancedRouteRefresh) data.push(...capTlv(CapabilityCode.EnhancedRouteRefresh, []));
  return data.length > 0 ? data : null;
}

/**
 * Check the peer's OPEN against our configuration and negotiate the session (RFC 4271 §6.2 in
 * its order: version, My AS, Hold Time, BGP Identifier, optional parameters).
 */
export function checkOpen(open: OpenMessage, config: SessionConfig): Negotiated | BgpError {
  // §6.2: "If the version number in the Version field of the received OPEN message is not supported".
  if (open.version !== BGP_VERSION) return Errors.unsupportedVersion(open.version);

  const peerCaps = capabilitiesOf(open);
  const ours = summarize(config.capabilities);
  const theirs = summarize(peerCaps);

  // RFC 6793 §4.1: with the capability, the real AS is in it and My AS is AS_TRANS when it does not
  // fit. A 2-octet My AS that contradicts the capability is inconsistent: refuse it as Bad Peer AS
  // rather than guess which one the peer meant.
  const fourOctetAs = ours.as4 !== null && theirs.as4 !== null;
  let peerAsn = open.myAs;
  if (theirs.as4 !== null) {
    if (open.myAs !== AS_TRANS && open.myAs !== theirs.as4) {
      return Errors.badPeerAs(`My AS ${open.myAs} but 4-octet AS capability ${theirs.as4}`);
    }
    if (ours.as4 !== null) peerAsn = theirs.as4;
  }
  if (peerAsn !== config.peerAsn) return Errors.badPeerAs(`expected ${config.peerAsn}, got ${peerAsn}`);

  // §6.2 / §4.2: "Hold Time ... MUST be either zero or at least three seconds".
  if (open.holdTimeSec === 1 || open.holdTimeSec === 2) return Errors.unacceptableHoldTime(open.holdTimeSec);

  // RFC 6286 §2.2: zero is invalid; our own identifier is invalid from an internal peer only.
  const internal = peerAsn === config.localAsn;
  const peerBgpId = open.bgpId >>> 0;
  if (peerBgpId === 0) return Errors.badBgpIdentifier('zero');
  if (internal && peerBgpId === config.localBgpId >>> 0) return Errors.badBgpIdentifier('same as ours on an internal session');

  // RFC 5492 §4: an optional parameter other than Capabilities is not supported.
  for (const p of open.params) if (p.type === 'unknown') return Errors.unsupportedOptionalParameter(p.code);

  // RFC 4760 §8 (and RFC 4271 default): a side that sends no Multiprotocol capability speaks
  // IPv4 unicast only.
  const ourFamilies = ours.mpFamilies.length > 0 ? ours.mpFamilies : [Family.Ipv4Unicast];
  const theirFamilies = theirs.mpFamilies.length > 0 ? theirs.mpFamilies : [Family.Ipv4Unicast];
  const families = ourFamilies.filter((f) => theirFamilies.includes(f));

  const missing = missingRequired(config.required, theirs, theirFamilies, config);
  if (missing !== null) return Errors.unsupportedCapability(Uint8Array.from(missing), 'required capability not advertised');

  // RFC 7911 §4: we send path identifiers when we said Send and they said Receive, and vice versa.
  const addPathSend: Family[] = [];
  const addPathReceive: Family[] = [];
  for (const f of families) {
    const o = ours.addPath.get(f) ?? 0;
    const t = theirs.addPath.get(f) ?? 0;
    if (o & AddPathMode.Send && t & AddPathMode.Receive) addPathSend.push(f);
    if (o & AddPathMode.Receive && t & AddPathMode.Send) addPathReceive.push(f);
  }

  const extendedNextHop = families.filter((f) => ours.extendedNextHop.has(`${f}/2`) && theirs.extendedNextHop.has(`${f}/2`));
  const extendedMessage = ours.extendedMessage && theirs.extendedMessage;
  const routeRefresh = ours.routeRefresh && theirs.routeRefresh;

  // RFC 4271 §4.2: the smaller Hold Time; keepalive one third of it unless configured shorter.
  const holdTimeSec = Math.min(config.holdTimeSec, open.holdTimeSec);
  let keepaliveSec = 0;
  if (holdTimeSec > 0) {
    keepaliveSec = Math.max(1, Math.floor(holdTimeSec / 3));
    if (config.keepaliveSec !== undefined && config.keepaliveSec > 0) keepaliveSec = Math.min(keepaliveSec, config.keepaliveSec);
  }

  let gracefulRestart: PeerGracefulRestart | null = null;
  if (theirs.gracefulRestart !== null) {
    const g = theirs.gracefulRestart;
    gracefulRestart = {
      restartTimeSec: g.restartTimeSec,
      restarting: g.restarting,
      notification: g.notification,
      families: g.families
        .map((x) => ({ family: family(x.afi, x.safi), forwardingPreserved: x.forwardingPreserved }))
        .filter((x) => families.includes(x.family)),
    };
  }

  const ctx = (addPath: readonly Family[]): CodecContext => ({
    fourOctetAs,
    extendedMessage,
    addPath: new Set(addPath),
    extendedNextHop: new Set(extendedNextHop),
  });

  return {
    peerAsn,
    peerBgpId,
    internal,
    holdTimeSec,
    keepaliveSec,
    peerHoldTimeSec: open.holdTimeSec,
    fourOctetAs,
    families,
    addPathSend,
    addPathReceive,
    routeRefresh,
    enhancedRouteRefresh: routeRefresh && ours.enhancedRouteRefresh && theirs.enhancedRouteRefresh,
    extendedMessage,
    extendedNextHop,
    gracefulRestart,
    localGracefulRestart: ours.gracefulRestart !== null,
    peerCapabilities: peerCaps,
    rx: ctx(addPathReceive),
    tx: ctx(addPathSend),
  };
}

export function isNegotiated(r: Negotiated | BgpError): r is Negotiated {
  return !(r instanceof BgpError);
}
