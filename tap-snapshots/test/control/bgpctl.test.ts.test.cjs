/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/control/bgpctl.test.ts > TAP > bgpctl log level debug > json 1`] = `
Object {
  "level": "debug",
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl log level debug > text 1`] = `
log level set to debug

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl neighbor 10.160.105.8 reset > json 1`] = `
Object {
  "action": "reset",
  "address": "10.160.105.8",
  "message": "session reset",
  "name": "Mesh_10_160_105_8",
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl neighbor 10.160.105.8 reset > text 1`] = `
neighbor 10.160.105.8 (Mesh_10_160_105_8): session reset

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl reload > json 1`] = `
Object {
  "changes": Array [],
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl reload > text 1`] = `
configuration reloaded: no changes

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show kernel > json 1`] = `
Object {
  "routes": Array [
    Object {
      "desired": "blackhole",
      "error": null,
      "installed": "blackhole",
      "prefix": "172.18.64.0/26",
      "retries": 0,
      "state": "in-sync",
    },
    Object {
      "desired": "via 10.160.105.7 dev tunl0 onlink",
      "error": null,
      "installed": "via 10.160.105.7 dev tunl0 onlink",
      "prefix": "172.18.101.64/26",
      "retries": 0,
      "state": "in-sync",
    },
    Object {
      "desired": "via 10.160.105.8 dev tunl0 onlink",
      "error": "RTNETLINK: Network is unreachable",
      "installed": null,
      "prefix": "172.18.96.128/26",
      "retries": 3,
      "state": "failed",
    },
  ],
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show kernel > text 1`] = `
PREFIX            STATE    DESIRED                            INSTALLED                          RETRIES  ERROR
172.18.64.0/26    in-sync  blackhole                          blackhole                          0        -
172.18.101.64/26  in-sync  via 10.160.105.7 dev tunl0 onlink  via 10.160.105.7 dev tunl0 onlink  0        -
172.18.96.128/26  failed   via 10.160.105.8 dev tunl0 onlink  -                                  3        RTNETLINK: Network is unreachable

3 routes: 2 in sync, 0 pending, 1 failed, 0 stale

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show neighbor 10.160.105.7 > json 1`] = `
Object {
  "neighbor": Object {
    "address": "10.160.105.7",
    "afi": "ipv4",
    "capabilities": Object {
      "local": Array [
        "refresh",
        "enhanced-refresh",
        "restart-able",
        "llgr-aware",
        "AS4",
        "add-path-rx",
        "add-path-tx",
      ],
      "negotiated": Array [
        "refresh",
        "enhanced-refresh",
        "restart-able",
        "AS4",
        "add-path-rx",
        "add-path-tx",
      ],
      "peer": Array [
        "refresh",
        "enhanced-refresh",
        "restart-able",
        "llgr-aware",
        "AS4",
        "add-path-rx",
        "add-path-tx",
      ],
    },
    "enabled": true,
    "exportUpdates": Object {
      "accepted": 1,
      "filtered": 1,
      "received": 4,
      "rejected": 2,
    },
    "exportWithdraws": Object {
      "accepted": 0,
      "received": 0,
    },
    "gracefulRestart": Object {
      "negotiated": true,
      "restartTimeSec": 120,
      "state": "none",
    },
    "holdTimerRemainingSec": 153,
    "holdTimeSec": 240,
    "importUpdates": Object {
      "accepted": 1,
      "filtered": 0,
      "ignored": 0,
      "received": 1,
      "rejected": 0,
    },
    "importWithdraws": Object {
      "accepted": 0,
      "filtered": 0,
      "ignored": 0,
      "received": 0,
      "rejected": 0,
    },
    "keepaliveSec": 80,
    "keepaliveTimerRemainingSec": 29,
    "lastError": "",
    "localAs": 64512,
    "messages": Object {
      "in": Object {
        "bytes": 150,
        "keepalive": 3,
        "notification": 0,
        "open": 1,
        "routeRefresh": 0,
        "update": 2,
      },
      "out": Object {
        "bytes": 160,
        "keepalive": 3,
        "notification": 0,
        "open": 1,
        "routeRefresh": 0,
        "update": 2,
      },
    },
    "name": "Mesh_10_160_105_7",
    "neighborId": "10.160.105.7",
    "passive": true,
    "peerAs": 64512,
    "peerType": "node-to-node mesh",
    "routeReflectorClient": false,
    "routes": Object {
      "exported": 1,
      "filtered": 0,
      "imported": 1,
      "preferred": 1,
    },
    "sinceMs": 1795587703000,
    "sourceAddress": "10.160.105.6",
    "state": "Established",
  },
  "nowMs": 1795595704000,
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show neighbor 10.160.105.7 > text 1`] = `
Neighbor 10.160.105.7 (Mesh_10_160_105_7), node-to-node mesh, remote AS 64512, local AS 64512
  State:                  up (Established) since 06:21:43, 2h 13m ago
  Enabled:                yes
  Last error:             -
  Neighbor ID:            10.160.105.7
  Source address:         10.160.105.6
  Passive:                yes
  RR client:              no
  Hold time:              240 s (153 s left)
  Keepalive:              80 s (29 s left)
  Capabilities sent:      refresh enhanced-refresh restart-able llgr-aware AS4 add-path-rx add-path-tx
  Capabilities received:  refresh enhanced-refresh restart-able llgr-aware AS4 add-path-rx add-path-tx
  Negotiated:             refresh enhanced-refresh restart-able AS4 add-path-rx add-path-tx
  Graceful restart:       negotiated, restart time 120 s, none
  Routes:                 1 imported, 1 exported, 1 preferred, 0 filtered

  Messages:
              OPEN  UPDATE  NOTIFICATION  KEEPALIVE  REFRESH  BYTES
    sent      1     2       0             3          0        160
    received  1     2       0             3          0        150

  Route changes:
                      RECEIVED  REJECTED  FILTERED  IGNORED  ACCEPTED
    import updates    1         0         0         0        1
    import withdraws  0         0         0         0        0

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show routes > json 1`] = `
Object {
  "nowMs": 1795595704000,
  "routes": Array [
    Object {
      "asPath": "",
      "best": true,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_7",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": false,
      "nextHop": "10.160.105.7",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.7",
      "prefix": "172.18.101.64/26",
      "reason": "only path",
      "sinceMs": 1795587703000,
      "stale": false,
    },
    Object {
      "asPath": "",
      "best": true,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_8",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": false,
      "nextHop": "10.160.105.8",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.8",
      "prefix": "172.18.96.128/26",
      "reason": "lowest router id (10.160.105.8 < 10.160.105.9)",
      "sinceMs": 1795587704000,
      "stale": false,
    },
    Object {
      "asPath": "",
      "best": false,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_9",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": true,
      "nextHop": "10.160.105.9",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.9",
      "prefix": "172.18.96.128/26",
      "reason": "multipath: equal up to router id",
      "sinceMs": 1795587720000,
      "stale": false,
    },
    Object {
      "asPath": "",
      "best": true,
      "clusterList": Array [],
      "communities": Array [],
      "device": null,
      "from": "local",
      "kind": "blackhole",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": false,
      "nextHop": null,
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": null,
      "prefix": "172.18.64.0/26",
      "reason": "locally originated block",
      "sinceMs": 1795587700000,
      "stale": false,
    },
  ],
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show routes > text 1`] = `
Flags: * best, + multipath, s stale.  Origin: i IGP, e EGP, ? incomplete.

     PREFIX            NEXT HOP              AS PATH  LPREF  MED  FROM                              SINCE     REASON
*    172.18.101.64/26  10.160.105.7 (tunl0)  i        100    -    Mesh_10_160_105_7 (10.160.105.7)  06:21:43  only path
*    172.18.96.128/26  10.160.105.8 (tunl0)  i        100    -    Mesh_10_160_105_8 (10.160.105.8)  06:21:44  lowest router id (10.160.105.8 < 10.160.105.9)
 +   172.18.96.128/26  10.160.105.9 (tunl0)  i        100    -    Mesh_10_160_105_9 (10.160.105.9)  06:22:00  multipath: equal up to router id
*    172.18.64.0/26    blackhole             i        100    -    local                             06:21:40  locally originated block

4 paths for 3 prefixes

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show routes 172.18.96.128/26 > json 1`] = `
Object {
  "nowMs": 1795595704000,
  "routes": Array [
    Object {
      "asPath": "",
      "best": true,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_8",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": false,
      "nextHop": "10.160.105.8",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.8",
      "prefix": "172.18.96.128/26",
      "reason": "lowest router id (10.160.105.8 < 10.160.105.9)",
      "sinceMs": 1795587704000,
      "stale": false,
    },
    Object {
      "asPath": "",
      "best": false,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_9",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": true,
      "nextHop": "10.160.105.9",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.9",
      "prefix": "172.18.96.128/26",
      "reason": "multipath: equal up to router id",
      "sinceMs": 1795587720000,
      "stale": false,
    },
  ],
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show routes 172.18.96.128/26 > text 1`] = `
Flags: * best, + multipath, s stale.  Origin: i IGP, e EGP, ? incomplete.

     PREFIX            NEXT HOP              AS PATH  LPREF  MED  FROM                              SINCE     REASON
*    172.18.96.128/26  10.160.105.8 (tunl0)  i        100    -    Mesh_10_160_105_8 (10.160.105.8)  06:21:44  lowest router id (10.160.105.8 < 10.160.105.9)
 +   172.18.96.128/26  10.160.105.9 (tunl0)  i        100    -    Mesh_10_160_105_9 (10.160.105.9)  06:22:00  multipath: equal up to router id

2 paths for 1 prefix

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show routes 172.18.96.130 > json 1`] = `
Object {
  "nowMs": 1795595704000,
  "routes": Array [
    Object {
      "asPath": "",
      "best": true,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_8",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": false,
      "nextHop": "10.160.105.8",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.8",
      "prefix": "172.18.96.128/26",
      "reason": "lowest router id (10.160.105.8 < 10.160.105.9)",
      "sinceMs": 1795587704000,
      "stale": false,
    },
    Object {
      "asPath": "",
      "best": false,
      "clusterList": Array [],
      "communities": Array [],
      "device": "tunl0",
      "from": "Mesh_10_160_105_9",
      "kind": "unicast",
      "largeCommunities": Array [],
      "localPref": 100,
      "med": null,
      "multipath": true,
      "nextHop": "10.160.105.9",
      "origin": "IGP",
      "originatorId": null,
      "peerAddress": "10.160.105.9",
      "prefix": "172.18.96.128/26",
      "reason": "multipath: equal up to router id",
      "sinceMs": 1795587720000,
      "stale": false,
    },
  ],
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show routes 172.18.96.130 > text 1`] = `
Flags: * best, + multipath, s stale.  Origin: i IGP, e EGP, ? incomplete.

     PREFIX            NEXT HOP              AS PATH  LPREF  MED  FROM                              SINCE     REASON
*    172.18.96.128/26  10.160.105.8 (tunl0)  i        100    -    Mesh_10_160_105_8 (10.160.105.8)  06:21:44  lowest router id (10.160.105.8 < 10.160.105.9)
 +   172.18.96.128/26  10.160.105.9 (tunl0)  i        100    -    Mesh_10_160_105_9 (10.160.105.9)  06:22:00  multipath: equal up to router id

2 paths for 1 prefix

`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show status > json 1`] = `
Object {
  "asn": 64512,
  "configFile": "/etc/bgpd/bgpd.conf",
  "configLoadedMs": 1795587700000,
  "gracefulRestart": Object {
    "remainingSec": null,
    "state": "none",
    "waitingFor": 0,
  },
  "nowMs": 1795595704000,
  "routerId": "10.160.105.6",
  "routesV4": 3,
  "routesV6": 0,
  "shuttingDown": false,
  "startedMs": 1795587700000,
  "version": "0.1.0",
}
`

exports[`test/control/bgpctl.test.ts > TAP > bgpctl show status > text 1`] = `
bgpd 0.1.0
  Router ID:         10.160.105.6
  Local AS:          64512
  Started:           2026-11-25 06:21:40 (up 2h 13m)
  Config file:       /etc/bgpd/bgpd.conf (loaded 2026-11-25 06:21:40)
  Graceful restart:  none
  Loc-RIB routes:    IPv4 3, IPv6 0
  State:             running

`

exports[`test/control/bgpctl.test.ts > TAP > show neighbors: down, start and v6 rows > must match snapshot 1`] = `
IPv4 BGP status
+--------------+-------------------+-------+----------+--------------------------------+
| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |              INFO              |
+--------------+-------------------+-------+----------+--------------------------------+
| 10.160.105.7 | node-to-node mesh | down  | 08:00:00 | Disabled                       |
| 10.160.105.8 | node-to-node mesh | start | 08:01:00 | Active Socket: Connection      |
|              |                   |       |          | refused                        |
+--------------+-------------------+-------+----------+--------------------------------+

IPv6 BGP status
+--------------+-------------------+-------+----------+-------------+
| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |
+--------------+-------------------+-------+----------+-------------+
| fd00::8      | node-to-node mesh | up    | 08:02:00 | Established |
+--------------+-------------------+-------+----------+-------------+

`
