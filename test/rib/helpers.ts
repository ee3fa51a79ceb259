import { AttrStore } from '../../rib/attrs.js';
import type { AttrSet } from '../../rib/attrs.js';
import type { PathSource, PathView } from '../../rib/decision.js';
import type { PeerConfig } from '../../rib/messages.js';
import { Rib } from '../../rib/rib.js';
import type { RibOptions } from '../../rib/rib.js';
import type { PathAttributes, UpdateMessage } from '../../proto/types.js';
import { Family } from '../../proto/types.js';
import { parseIpv4, parsePrefix } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';

export const ip = (s: string): number => {
  const v = parseIpv4(s);
  if (v === null) throw new Error(`bad ip ${s}`);
  return v;
};
export const pfx = (s: string): Prefix => {
  const p = parsePrefix(s);
  if (p === null) throw new Error(`bad prefix ${s}`);
  return p.prefix;
};

export const seq = (...asns: number[]) => ({ type: 2 as const, asns });

export function pathView(store: AttrStore, attrs: PathAttributes, src: Partial<PathSource> & { nextHop?: number }, pathId = 0): PathView {
  const set: AttrSet = store.intern(attrs, src.nextHop ?? ip('10.0.0.1'));
  return { set, source: { kind: src.kind ?? 'ibgp', address: src.address ?? ip('10.0.0.1'), routerId: src.routerId ?? ip('1.1.1.1') }, pathId };
}

export function peer(id: string, over: Partial<PeerConfig> = {}): PeerConfig {
  return {
    id, address: ip(id), asn: 64512, localAsn: 64512, routerId: ip(id), localAddress: ip('10.0.0.254'),
    families: [Family.Ipv4Unicast, Family.Ipv6Unicast], rrClient: false, nextHopMode: 'auto',
    addPathReceive: [], addPathSend: [], addPathSendMode: 'multipath', enhancedRouteRefresh: false,
    softReconfigIn: false, allowOwnAs: 0, localAddressV6: 'fd00::fe', ...over,
  };
}

export function announce(prefixes: Prefix[], attrs: PathAttributes, pathIds?: number[]): UpdateMessage {
  const v4 = prefixes.filter((p) => typeof p === 'number') as number[];
  const v6 = prefixes.filter((p) => typeof p === 'string');
  return {
    type: 'update', withdrawn: [], attrs, nlri: v4, ...(pathIds !== undefined ? { nlriPathIds: pathIds } : {}),
    ...(v6.length > 0 ? { mpReach: { afi: 2, safi: 1, nextHop: 'fd00::1', nlri: v6 } } : {}),
  };
}

export function withdraw(prefixes: number[], pathIds?: number[]): UpdateMessage {
  return { type: 'update', withdrawn: prefixes, attrs: null, nlri: [], ...(pathIds !== undefined ? { withdrawnPathIds: pathIds } : {}) };
}

export const ibgpAttrs = (nh: string, over: Partial<PathAttributes> = {}): PathAttributes => ({ origin: 0, asPath: [], nextHop: ip(nh), localPref: 100, ...over });

/** A node's RIB (AS 64512, router id 10.0.0.254) with one pool, 172.18.0.0/16, exporting everything. */
export function poolRib(over: Partial<RibOptions> = {}): Rib {
  const pools = [{ cidr: pfx('172.18.0.0/16'), ipipMode: 'Never' as const, vxlanMode: 'Never' as const, disableBgpExport: false }];
  return new Rib({
    asn: 64512,
    routerId: ip('10.0.0.254'),
    nodeAddress: { address: ip('10.0.0.254'), length: 24 },
    pools,
    exportPolicy: { pools, extraExport: [], exportOutsidePools: true },
    kernel: { tunnelDevice: 'tunl0' },
    ...over,
  });
}
