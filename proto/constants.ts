/**
 * IANA and RFC code points used on the wire. One place, named, so no bare numbers elsewhere.
 * Registries: https://www.iana.org/assignments/bgp-parameters/bgp-parameters.xhtml
 *             https://www.iana.org/assignments/capability-codes/capability-codes.xhtml
 */

/** RFC 4271 §4.1: the header is a 16-octet all-ones marker, a 2-octet length and a 1-octet type. */
export const HEADER_LEN = 19;
export const MARKER_LEN = 16;
/** RFC 4271 §4.1: maximum message size without RFC 8654 Extended Message. */
export const MAX_MESSAGE_LEN = 4096;
/** RFC 8654 §4: maximum message size once Extended Message is negotiated (except OPEN and KEEPALIVE). */
export const MAX_EXTENDED_MESSAGE_LEN = 65535;

export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5, // RFC 2918
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** RFC 4271 §4.2 minimum OPEN length (header + 10), §4.3 UPDATE (header + 4), §4.5 NOTIFICATION (header + 2). */
export const MIN_OPEN_LEN = 29;
export const MIN_UPDATE_LEN = 23;
export const MIN_NOTIFICATION_LEN = 21;
export const KEEPALIVE_LEN = 19;
export const ROUTE_REFRESH_LEN = 23;

export const BGP_VERSION = 4;
/** RFC 6793 §9: AS_TRANS, the 2-octet stand-in for a 4-octet AS. */
export const AS_TRANS = 23456;

export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
export type AfiCode = (typeof Afi)[keyof typeof Afi];
export const Safi = { Unicast: 1, Multicast: 2 } as const;
export type SafiCode = number;

/** OPEN optional parameter types (RFC 5492 §4; RFC 9072 §2 for 255). */
export const OptParamType = {
  Capabilities: 2,
  ExtendedLength: 255,
} as const;

export const CapabilityCode = {
  Multiprotocol: 1, // RFC 4760
  RouteRefresh: 2, // RFC 2918
  ExtendedNextHop: 5, // RFC 8950
  ExtendedMessage: 6, // RFC 8654
  GracefulRestart: 64, // RFC 4724
  FourOctetAs: 65, // RFC 6793
  AddPath: 69, // RFC 7911
  EnhancedRouteRefresh: 70, // RFC 7313
  Fqdn: 73, // draft-walton-bgp-hostname-capability
  RouteRefreshCisco: 128, // pre-standard, still sent by some speakers
} as const;

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8, // RFC 1997
  OriginatorId: 9, // RFC 4456
  ClusterList: 10, // RFC 4456
  MpReachNlri: 14, // RFC 4760
  MpUnreachNlri: 15, // RFC 4760
  ExtendedCommunities: 16, // RFC 4360
  As4Path: 17, // RFC 6793
  As4Aggregator: 18, // RFC 6793
  LargeCommunities: 32, // RFC 8092
} as const;
export type AttrTypeCode = (typeof AttrType)[keyof typeof AttrType];

/** RFC 4271 §4.3 attribute flag bits. */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;
export type OriginCode = (typeof Origin)[keyof typeof Origin];

/** RFC 4271 §4.3 and RFC 5065 §3 AS_PATH segment types. */
export const AsPathSegmentType = {
  Set: 1,
  Sequence: 2,
  ConfedSequence: 3,
  ConfedSet: 4,
} as const;
export type AsPathSegmentTypeCode = (typeof AsPathSegmentType)[keyof typeof AsPathSegmentType];

/** RFC 7313 §4: ROUTE-REFRESH message subtype carried in the Reserved octet. */
export const RouteRefreshSubtype = {
  Normal: 0,
  BeginningOfRouteRefresh: 1,
  EndOfRouteRefresh: 2,
} as const;

/** RFC 7911 §4 ADD-PATH Send/Receive field. */
export const AddPathMode = { Receive: 1, Send: 2, Both: 3 } as const;

/** Well-known communities (RFC 1997, RFC 8326). */
export const WellKnownCommunity = {
  GracefulShutdown: 0xffff0000,
  NoExport: 0xffffff01,
  NoAdvertise: 0xffffff02,
  NoExportSubconfed: 0xffffff03,
  NoPeer: 0xffffff04,
} as const;
