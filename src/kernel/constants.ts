/**
 * rtnetlink numbers wren uses, named as in the kernel headers (linux/netlink.h, linux/rtnetlink.h,
 * linux/if.h). Kept here rather than taken from the `netlink` package so the hot encoder reads plain
 * numbers and a reviewer can check each value against the uapi headers in one place.
 */

export const NETLINK_ROUTE = 0;

export const NLMSG = {
  NOOP: 1,
  ERROR: 2,
  DONE: 3,
  OVERRUN: 4,
} as const;

export const NLM_F = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  // GET requests
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  // NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
} as const;

/** nlmsg_flags of an NLMSG_ERROR reply (same bits as NLM_F.ROOT / MATCH, other meaning). */
export const NLMSGERR_F = {
  /** NETLINK_CAP_ACK: only the failed request's header follows the errno, not its payload. */
  CAPPED: 0x100,
  /** NETLINK_EXT_ACK: NLMSGERR_ATTR_* attributes follow. */
  ACK_TLVS: 0x200,
} as const;

export const NLMSGERR_ATTR = {
  MSG: 1,
  OFFS: 2,
} as const;

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;
export const RTM_NEWROUTE = RTM.NEWROUTE;
export const RTM_DELROUTE = RTM.DELROUTE;
export const RTM_GETROUTE = RTM.GETROUTE;
export const RTM_NEWLINK = RTM.NEWLINK;
export const RTM_DELLINK = RTM.DELLINK;
export const RTM_GETLINK = RTM.GETLINK;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_UNSPEC = 0;

export const RTN = {
  UNSPEC: 0,
  UNICAST: 1,
  LOCAL: 2,
  BROADCAST: 3,
  ANYCAST: 4,
  MULTICAST: 5,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
} as const;
export const RTN_UNICAST = RTN.UNICAST;
export const RTN_BLACKHOLE = RTN.BLACKHOLE;

export const RT_SCOPE = {
  UNIVERSE: 0,
  LINK: 253,
  HOST: 254,
  NOWHERE: 255,
} as const;

export const RTPROT_BIRD = 12;
export const RT_TABLE_MAIN = 254;

export const RTA = {
  UNSPEC: 0,
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  TABLE: 15,
} as const;

export const RTNH_F = {
  DEAD: 1,
  PERVASIVE: 2,
  ONLINK: 4,
  OFFLOAD: 8,
  LINKDOWN: 16,
  UNRESOLVED: 32,
} as const;
export const RTNH_F_ONLINK = RTNH_F.ONLINK;

export const IFLA = {
  IFNAME: 3,
} as const;

export const IFF = {
  UP: 0x1,
  RUNNING: 0x40,
  LOWER_UP: 0x10000,
} as const;

/** Multicast group numbers for NETLINK_ADD_MEMBERSHIP (not the legacy bitmask). */
export const RTNLGRP = {
  LINK: 1,
  IPV4_IFADDR: 5,
  IPV4_ROUTE: 7,
  IPV6_IFADDR: 9,
  IPV6_ROUTE: 11,
} as const;

/** struct ifaddrmsg attributes (linux/if_addr.h). */
export const IFA = {
  ADDRESS: 1,
  LOCAL: 2,
} as const;

/** Sizes of the fixed headers, all 4-byte aligned. */
export const NLMSG_HDRLEN = 16;
export const RTMSG_LEN = 12;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTNEXTHOP_LEN = 8;

/** errno values the sync logic reasons about (Linux, all architectures wren runs on). */
export const ERRNO = {
  ENOENT: 2,
  ESRCH: 3,
  ENOBUFS: 105,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ETIMEDOUT: 110,
} as const;
