// YAML text -> validated, normalised, deep-frozen Config, or every problem at once with
// file:line:col. Reading the file is src/'s job; this module only sees text and a name.
//
// Order: YAML syntax (stop there: the tree is unreliable), then the grammar (types, ranges,
// enums, unknown and missing keys; grammar.ts), then the cross-field rules below, each of
// which runs whenever the keys it needs parsed, so one bad key does not hide other problems.

import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { formatPath, type Anchor, type Ctx, type Path, type Severity } from './spec.js';
import { configSpec, type RawConfig } from './grammar.js';
import {
  prefixContains,
  prefixesOverlap,
  type ParsedAddress,
  type ParsedInterfaceAddress,
  type ParsedPrefix,
} from './ip.js';
import type { ConfigError } from './errors.js';
import type {
  Config,
  MeshNodeConfig,
  NodeAddress,
  PeerConfig,
  PoolConfig,
  Prefix,
} from './types.js';

export type LoadResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly ConfigError[] }
  | { readonly ok: false; readonly errors: readonly ConfigError[]; readonly warnings: readonly ConfigError[] };

/** AS_TRANS, RFC 6793 §9: a placeholder for 4-octet ASNs on 2-octet sessions, not an AS of its own. */
const AS_TRANS = 23456;

export function loadConfig(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];

  const at = (offset: number, severity: Severity, path: Path, message: string): ConfigError => {
    const { line, col } = lineCounter.linePos(offset);
    return { severity, file, line, col, path: formatPath(path), message };
  };

  if (doc.errors.length > 0) {
    for (const e of doc.errors) errors.push(at(e.pos[0], 'error', [], `YAML syntax error: ${e.message}`));
    for (const w of doc.warnings) warnings.push(at(w.pos[0], 'warning', [], `YAML: ${w.message}`));
    return { ok: false, errors, warnings };
  }
  for (const w of doc.warnings) warnings.push(at(w.pos[0], 'warning', [], `YAML: ${w.message}`));

  const offsetOf = (anchor: Anchor): number => {
    if ('node' in anchor && isNode(anchor.node) && anchor.node.range) return anchor.node.range[0];
    return offsetOfPath(doc, anchor.path);
  };
  const ctx: Ctx = {
    doc,
    report(severity, anchor, message) {
      (severity === 'error' ? errors : warnings).push(at(offsetOf(anchor), severity, anchor.path, message));
    },
  };
  const lineOf = (path: Path): number => lineCounter.linePos(offsetOfPath(doc, path)).line;

  const raw = configSpec.parseLenient(doc.contents, [], ctx);
  checkRules(raw, ctx, lineOf);
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors), warnings: sortErrors(warnings) };
  return { ok: true, config: deepFreeze(normalise(raw)), warnings: sortErrors(warnings) };
}

function offsetOfPath(doc: Document, path: Path): number {
  // A defaulted or failed key has no node: point at the nearest enclosing one that exists.
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

function sortErrors(es: ConfigError[]): ConfigError[] {
  return es.map((e, i) => [e, i] as const).sort(([a, i], [b, j]) => a.line - b.line || a.col - b.col || i - j).map(([e]) => e);
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules

type RawPeer = NonNullable<NonNullable<RawConfig['peers']>[number]>;
type RawMeshNode = NonNullable<NonNullable<NonNullable<RawConfig['mesh']>['nodes']>[number]>;

function meshNode(n: RawMeshNode): { address: ParsedAddress; asn?: number; port?: number; routeReflector: boolean } {
  if ('family' in n) return { address: n, routeReflector: false };
  return {
    address: n.address,
    ...(n.asn === undefined ? {} : { asn: n.asn }),
    ...(n.port === undefined ? {} : { port: n.port }),
    routeReflector: n['route-reflector'],
  };
}

const where = (path: Path): string => formatPath(path);

function checkKeepalive(
  ctx: Ctx,
  hold: number,
  keepalive: number | undefined,
  path: Path,
): void {
  if (keepalive === undefined) return;
  const p = where(path);
  if (hold === 0) {
    if (keepalive > 0) {
      ctx.report('warning', { path }, `${p}: keepalive is not used when hold is 0: no KEEPALIVEs are sent (RFC 4271 §4.4)`);
    }
    return;
  }
  if (keepalive === 0) {
    ctx.report('error', { path }, `${p}: keepalive 0 sends no KEEPALIVEs, so a hold time of ${hold} s would expire; set hold to 0 too, or a keepalive below ${hold}`);
  } else if (keepalive >= hold) {
    // An error, not BIRD's silence: the peer's hold timer would expire between our keepalives.
    ctx.report('error', { path }, `${p}: keepalive (${keepalive} s) must be less than hold (${hold} s) (RFC 4271 §4.4)`);
  } else if (keepalive > Math.floor(hold / 3)) {
    ctx.report(
      'warning',
      { path },
      `${p}: keepalive ${keepalive} s is more than a third of hold ${hold} s; RFC 4271 §10 suggests ${Math.floor(hold / 3)}, so that one lost KEEPALIVE is not fatal`,
    );
  }
}

function checkRules(raw: RawConfig, ctx: Ctx, lineOf: (path: Path) => number): void {
  const err = (path: Path, message: string): void => ctx.report('error', { path }, `${where(path)}: ${message}`);

  if (raw.asn === AS_TRANS) {
    ctx.report('warning', { path: ['asn'] }, `asn: ${AS_TRANS} is AS_TRANS (RFC 6793 §9), not a real AS`);
  }

  // Timers
  const timers = raw.timers;
  if (timers !== undefined) {
    checkKeepalive(ctx, timers.hold, timers.keepalive, ['timers', 'keepalive']);
    const ew = timers['error-wait'];
    if (ew.max < ew.min) err(['timers', 'error-wait', 'max'], `max (${ew.max} s) is less than min (${ew.min} s)`);
  }

  // Control sockets: one path, one listener.
  const control = raw.control;
  if (control !== undefined) {
    const seen = new Map<string, string>();
    for (const k of ['socket', 'bird-socket', 'bird6-socket', 'read-only-socket'] as const) {
      const v = control[k];
      if (v === undefined) continue;
      const other = seen.get(v);
      if (other !== undefined) err(['control', k], `'${v}' is already used by control.${other}`);
      else seen.set(v, k);
    }
  }

  // Metrics must not collide with the BGP listener.
  const ml = raw.metrics?.listen;
  if (ml !== undefined && raw.listen !== undefined && ml.port === raw.listen.port) {
    const wild = (a: ParsedAddress): boolean => a.value === 0n;
    const l = raw.listen.address;
    if (wild(l) || wild(ml.address) || l.text === ml.address.text) {
      err(['metrics', 'listen'], `port ${ml.port} is already the BGP listen port`);
    }
  }

  // Pools: disjoint (a route must have one pool's modes), IPIP is IPv4-only (calico.md §1.9), and
  // IPIP and VXLAN exclude each other (Calico's IPPool validation).
  const pools = raw.pools ?? [];
  pools.forEach((pool, i) => {
    if (pool === undefined) return;
    if (pool.cidr.family === 'ipv6' && pool['ipip-mode'] !== 'Never') {
      err(['pools', i, 'ipip-mode'], `ipip-mode ${pool['ipip-mode']} on IPv6 pool ${pool.cidr.cidr}: IPIP is IPv4 only; use Never`);
    }
    if (pool['ipip-mode'] !== 'Never' && pool['vxlan-mode'] !== 'Never') {
      err(['pools', i, 'vxlan-mode'], `ipip-mode and vxlan-mode cannot both be enabled on pool ${pool.cidr.cidr}`);
    }
    for (let j = 0; j < i; j++) {
      const other = pools[j];
      if (other !== undefined && prefixesOverlap(pool.cidr, other.cidr)) {
        err(
          ['pools', i, 'cidr'],
          `pool ${pool.cidr.cidr} overlaps pool ${other.cidr.cidr} (pools[${j}], line ${lineOf(['pools', j, 'cidr'])})`,
        );
      }
    }
  });

  // Blocks: each inside a pool (calico.md §1.7: export accepts only routes inside a pool), disjoint.
  const blocks = raw.blocks ?? [];
  blocks.forEach((block, i) => {
    if (block === undefined) return;
    // Only when every pool parsed: a broken pool must not make its blocks look orphaned.
    const poolsKnown = raw.pools !== undefined && pools.every((p) => p !== undefined);
    if (poolsKnown && !pools.some((p) => p !== undefined && prefixContains(p.cidr, block))) {
      err(['blocks', i], `block ${block.cidr} is outside every pool; it would be neither announced nor programmed`);
    }
    for (let j = 0; j < i; j++) {
      const other = blocks[j];
      if (other === undefined || !prefixesOverlap(block, other)) continue;
      const what = other.cidr === block.cidr ? 'duplicates' : 'overlaps';
      err(['blocks', i], `block ${block.cidr} ${what} block ${other.cidr} (blocks[${j}], line ${lineOf(['blocks', j])})`);
      break; // the first clash is enough to act on
    }
  });

  const nodeV4 = raw['node-address'];
  const nodeV6 = raw['node-address-v6'];
  const own = (a: ParsedAddress): boolean => a.text === nodeV4?.address.text || a.text === nodeV6?.address.text;
  const clusterId = raw['route-reflector']?.['cluster-id'];
  const mesh = raw.mesh;

  // Mesh nodes: each once.
  const meshByAddr = new Map<string, { index: number; node: ReturnType<typeof meshNode> }>();
  (mesh?.nodes ?? []).forEach((n, i) => {
    if (n === undefined) return;
    const m = meshNode(n);
    const first = meshByAddr.get(m.address.text);
    if (first !== undefined) {
      err(['mesh', 'nodes', i], `duplicate mesh node ${m.address.text} (mesh.nodes[${first.index}], line ${lineOf(['mesh', 'nodes', first.index])})`);
    } else {
      meshByAddr.set(m.address.text, { index: i, node: m });
    }
  });
  // The mesh is in effect when enabled and this node is not a route reflector (calico.md §1.3).
  const meshActive = mesh !== undefined && mesh.enabled && raw['route-reflector'] === undefined;

  // Peers
  const localAsn = raw.asn;
  const peerKeys = new Map<string, number>();
  (raw.peers ?? []).forEach((peer, i) => {
    if (peer === undefined) return;
    const path = ['peers', i] as const;
    const addr = peer.address;
    if (own(addr)) err([...path, 'address'], `${addr.text} is this node's own address`);
    const meshEntry = meshByAddr.get(addr.text);

    // Duplicate: same neighbour address and port, whatever the scope (Calico drops a node peer that
    // duplicates a global one, calico.md §1.4; two sessions to one peer would collide).
    const port = peer.port ?? (meshEntry === undefined ? 179 : (meshEntry.node.port ?? raw.listen?.port ?? 179));
    const key = `${addr.text}|${port}`;
    const first = peerKeys.get(key);
    if (first !== undefined) {
      err([...path, 'address'], `duplicate peer ${addr.text} port ${port} (peers[${first}], line ${lineOf(['peers', first, 'address'])})`);
    } else {
      peerKeys.set(key, i);
    }
    if (meshActive && meshEntry !== undefined && !meshEntry.node.routeReflector && !own(addr)) {
      err(
        [...path, 'address'],
        `peer ${addr.text} is also a mesh node (mesh.nodes[${meshEntry.index}], line ${lineOf(['mesh', 'nodes', meshEntry.index])}); two sessions to one node collide: remove one, mark the node route-reflector, or disable the mesh`,
      );
    }

    if (addr.family === 'ipv6' && raw['node-address'] !== undefined && nodeV6 === undefined) {
      const src = peer['source-address'];
      if (src === undefined) err([...path, 'address'], `IPv6 peer ${addr.text} needs node-address-v6 (or an explicit source-address)`);
    }
    const src = peer['source-address'];
    if (src !== undefined && src !== 'none' && src.family !== addr.family) {
      err([...path, 'source-address'], `source-address ${src.text} is not of the peer's family (${addr.family})`);
    }
    const via = peer['reachable-by'];
    if (via !== undefined && via.family !== addr.family) {
      err([...path, 'reachable-by'], `reachable-by ${via.text} is not of the peer's family (${addr.family})`);
    }

    // RFC 4456 §6: clients are iBGP peers of a reflector. BIRD refuses otherwise
    // ("Only internal neighbor can be RR client", calico#2292).
    if (peer['route-reflector-client']) {
      if (clusterId === undefined) {
        err([...path, 'route-reflector-client'], 'route-reflector-client needs route-reflector.cluster-id (this node must be a route reflector)');
      }
      const effLocal = peer['local-asn'] ?? localAsn;
      if (effLocal !== undefined && peer.asn !== effLocal) {
        err([...path, 'route-reflector-client'], `route-reflector-client needs an iBGP peer, but asn ${peer.asn} differs from the local AS ${effLocal}`);
      }
    }

    checkPeerTimers(ctx, peer, timers, path);
  });
}

function checkPeerTimers(ctx: Ctx, peer: RawPeer, timers: RawConfig['timers'], path: Path): void {
  if (peer.hold === undefined && peer.keepalive === undefined) return;
  if (timers === undefined) return;
  const hold = peer.hold ?? timers.hold;
  const keepalive = effectiveKeepalive(peer.hold, peer.keepalive, timers.hold, timers.keepalive);
  checkKeepalive(ctx, hold, keepalive, [...path, peer.keepalive === undefined ? 'hold' : 'keepalive']);
}

/**
 * A peer's keepalive: its own; else a third of its own hold; else the global keepalive; else a
 * third of the global hold (BIRD: "keepalive time: default one third of the hold time").
 */
function effectiveKeepalive(
  peerHold: number | undefined,
  peerKeepalive: number | undefined,
  hold: number,
  keepalive: number | undefined,
): number {
  if (peerKeepalive !== undefined) return peerKeepalive;
  if (peerHold !== undefined) return Math.floor(peerHold / 3);
  return keepalive ?? Math.floor(hold / 3);
}

// ---------------------------------------------------------------------------------------------
// Normalisation (runs only when there are no errors, so every value is present)

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`config: ${what} missing after successful validation`);
  return v;
}

const toPrefix = (p: ParsedPrefix): Prefix => ({ family: p.family, cidr: p.cidr, length: p.length });

const toNodeAddress = (a: ParsedInterfaceAddress): NodeAddress => ({
  address: a.address.text,
  prefixLength: a.length,
  network: a.network.cidr,
});

function normalise(raw: RawConfig): Config {
  const nodeAddress = must(raw['node-address'], 'node-address');
  const timers = must(raw.timers, 'timers');
  const gr = must(raw['graceful-restart'], 'graceful-restart');
  const kernel = must(raw.kernel, 'kernel');
  const control = must(raw.control, 'control');
  const listen = must(raw.listen, 'listen');
  const mesh = must(raw.mesh, 'mesh');
  const nodeV6 = raw['node-address-v6'];
  const routerId = raw['router-id'];
  const rr = raw['route-reflector'];
  const metricsListen = raw.metrics?.listen;

  const pools: PoolConfig[] = must(raw.pools, 'pools').map((p) => {
    const pool = must(p, 'pool');
    return {
      cidr: toPrefix(pool.cidr),
      ipipMode: pool['ipip-mode'],
      vxlanMode: pool['vxlan-mode'],
      disableBgpExport: pool['disable-bgp-export'],
    };
  });

  const nodes: MeshNodeConfig[] = must(mesh.nodes, 'mesh.nodes').map((n) => {
    const m = meshNode(must(n, 'mesh node'));
    return {
      address: m.address.text,
      family: m.address.family,
      ...(m.asn === undefined ? {} : { asn: m.asn }),
      ...(m.port === undefined ? {} : { port: m.port }),
      routeReflector: m.routeReflector,
    };
  });

  const peers: PeerConfig[] = must(raw.peers, 'peers').map((p) => {
    const peer = must(p, 'peer');
    const src = peer['source-address'];
    const grp = peer['graceful-restart'];
    const mp = peer['max-prefix'];
    return {
      address: peer.address.text,
      family: peer.address.family,
      asn: peer.asn,
      ...(peer['local-asn'] === undefined ? {} : { localAsn: peer['local-asn'] }),
      scope: peer.scope,
      routeReflectorClient: peer['route-reflector-client'],
      ...(peer.passive === undefined ? {} : { passive: peer.passive }),
      ...(peer.password === undefined ? {} : { password: peer.password }),
      ...(peer['ttl-security'] === undefined ? {} : { ttlSecurityHops: peer['ttl-security'] }),
      ...(mp === undefined ? {} : { maxPrefix: { limit: mp.limit, action: mp.action } }),
      nextHop: peer['next-hop'],
      ...(peer.hold === undefined ? {} : { holdTimeSec: peer.hold }),
      ...(peer.keepalive === undefined ? {} : { keepaliveSec: peer.keepalive }),
      ...(src === undefined ? {} : { sourceAddress: src === 'none' ? 'none' : src.text }),
      ...(peer.port === undefined ? {} : { port: peer.port }),
      addPath: peer['add-path'],
      ...(grp === undefined
        ? {}
        : {
            gracefulRestart: {
              ...(grp.enabled === undefined ? {} : { enabled: grp.enabled }),
              ...(grp['restart-time'] === undefined ? {} : { restartTimeSec: grp['restart-time'] }),
            },
          }),
      allowLocalAs: peer['allow-local-as'],
      enforceFirstAs: peer['enforce-first-as'],
      ...(peer['reachable-by'] === undefined ? {} : { reachableBy: peer['reachable-by'].text }),
      enabled: peer.enabled,
    };
  });

  const ew = timers['error-wait'];
  return {
    routerId: routerId?.text ?? nodeAddress.address.text,
    routerIdFromNodeAddress: routerId === undefined,
    asn: must(raw.asn, 'asn'),
    nodeAddress: toNodeAddress(nodeAddress),
    ...(nodeV6 === undefined ? {} : { nodeAddressV6: toNodeAddress(nodeV6) }),
    listen: { address: listen.address.text, port: listen.port },
    control: {
      socket: control.socket,
      ...(control['bird-socket'] === undefined ? {} : { birdSocket: control['bird-socket'] }),
      ...(control['bird6-socket'] === undefined ? {} : { bird6Socket: control['bird6-socket'] }),
      ...(control['read-only-socket'] === undefined ? {} : { readOnlySocket: control['read-only-socket'] }),
      ...(control['socket-group'] === undefined ? {} : { socketGroup: control['socket-group'] }),
      socketMode: control['socket-mode'],
    },
    log: { level: must(raw.log, 'log').level },
    timers: {
      holdTimeSec: timers.hold,
      keepaliveSec: timers.keepalive ?? Math.floor(timers.hold / 3),
      connectRetrySec: timers['connect-retry'],
      connectDelaySec: timers['connect-delay'],
      errorWaitMinSec: ew.min,
      errorWaitMaxSec: ew.max,
    },
    gracefulRestart: {
      enabled: gr.enabled,
      restartTimeSec: gr['restart-time'],
      ...(gr['stale-time'] === undefined ? {} : { staleTimeSec: gr['stale-time'] }),
      waitSec: gr.wait,
    },
    kernel: {
      program: kernel.program,
      table: kernel.table,
      protocol: kernel.protocol,
      tunnelDevice: kernel['tunnel-device'],
      persist: kernel.persist,
      ...(kernel.device === undefined ? {} : { device: kernel.device }),
      programClusterRoutes: kernel['program-cluster-routes'],
    },
    blocks: must(raw.blocks, 'blocks').map((b) => toPrefix(must(b, 'block'))),
    pools,
    mesh: {
      enabled: mesh.enabled,
      ...(mesh.password === undefined ? {} : { password: mesh.password }),
      ...(mesh['restart-time'] === undefined ? {} : { restartTimeSec: mesh['restart-time'] }),
      nodes,
    },
    peers,
    ...(rr === undefined ? {} : { routeReflector: { clusterId: rr['cluster-id'].text } }),
    metrics: metricsListen === undefined ? {} : { listen: { address: metricsListen.address.text, port: metricsListen.port } },
  };
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
