// `npm run lab`: the seed cluster in network namespaces, with wren on every node. Prints what an
// operator on the first node would see: `bgpctl show neighbors` and `ip route`. Run as root.
import { readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import { buildCluster, waitConverged, birdRoutes, expectedBirdRoutes } from './cluster.js';
import type { ClusterMode, ClusterOptions } from './cluster.js';
import { run } from './lib/exec.js';

const STATE_FILE = '/run/wren-lab/state.json';
const KEEP_ID = 'wlab';

const HELP = `Usage: npm run lab -- [options]

Builds the seed cluster (nodes 10.160.105.6, .7, .8 on one segment, gateway .1, tunl0, blocks in
pool 172.18.64.0/18 IPIP Always, AS 64512, node-to-node mesh), runs wren on every node, waits for
convergence and prints the first node's "bgpctl show neighbors" and "ip route". Needs root.

Options:
  --nodes N        number of BGP nodes (default 3)
  --mixed          BIRD 1.6 with a Calico-style config on every node but the first
  --rr             two wren route reflectors (10.160.105.2, .3) and N clients, no mesh
  --cross-subnet   nodes on two subnets joined by the gateway; the pool is IPIP CrossSubnet
  --ipv6           dual stack: IPv6 addresses, pool and blocks, IPv6 sessions too
  --keep           leave the lab running (namespaces ${KEEP_ID}-*) to explore:
                     ip netns exec ${KEEP_ID}-n6 node dist/src/bgpctl.js -s <dir>/n6/bgpd.sock show neighbors
  --down           stop and remove a lab left by --keep
  -h, --help       this text`;

interface KeptState {
  readonly id: string;
  readonly dir: string;
  readonly namespaces: readonly string[];
  readonly pids: readonly number[];
}

async function down(): Promise<number> {
  let state: KeptState;
  try {
    state = JSON.parse(await readFile(STATE_FILE, 'utf8')) as KeptState;
  } catch {
    process.stderr.write(`no kept lab (${STATE_FILE} not found)\n`);
    return 1;
  }
  for (const pid of state.pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 1500));
  for (const pid of state.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const ns of [...state.namespaces].reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  await rm(state.dir, { recursive: true, force: true });
  await rm(STATE_FILE, { force: true });
  process.stdout.write(`lab ${state.id} removed\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const opts: { -readonly [K in keyof ClusterOptions]: ClusterOptions[K] } = {};
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--nodes') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 60) {
        process.stderr.write('--nodes takes a whole number from 1 to 60\n');
        return 2;
      }
      opts.nodes = n;
    } else if (a === '--mixed' || a === '--rr') opts.mode = a.slice(2) as ClusterMode;
    else if (a === '--cross-subnet') opts.crossSubnet = true;
    else if (a === '--ipv6') opts.ipv6 = true;
    else if (a === '--keep') keep = true;
    else if (a === '--down') return down();
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    } else {
      process.stderr.write(`unknown option ${a}\n${HELP}\n`);
      return 2;
    }
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run lab needs root (it creates network namespaces)\n');
    return 2;
  }
  if (keep) opts.runId = KEEP_ID;
  const c = await buildCluster(opts);
  try {
    const t0 = Date.now();
    await waitConverged(c, 120_000);
    const first = c.nodes.find((n) => n.role !== 'rr')!;
    process.stdout.write(`converged in ${((Date.now() - t0) / 1000).toFixed(1)} s\n\n`);
    process.stdout.write(`# bgpctl show neighbors   (node ${first.address})\n`);
    process.stdout.write((await first.wren!.ctlText(['show', 'neighbors'])).stdout);
    process.stdout.write(`\n# ip route   (node ${first.address})\n`);
    process.stdout.write(await first.host.routes(4));
    if (c.options.ipv6) {
      process.stdout.write(`\n# ip -6 route   (node ${first.address})\n`);
      process.stdout.write(await first.host.routes(6));
    }
    const got = await birdRoutes(first);
    const want = expectedBirdRoutes(c, first);
    const ok = got.join('\n') === want.join('\n');
    process.stdout.write(`\nproto bird routes ${ok ? 'match' : 'DO NOT match'} the expected lines\n`);
    if (keep) {
      const state = c.lab.detach();
      await mkdir('/run/wren-lab', { recursive: true });
      await writeFile(STATE_FILE, JSON.stringify(state, null, 2));
      process.stdout.write(`\nkept: namespaces ${state.namespaces.join(' ')}\nfiles: ${state.dir}\nremove with: npm run lab -- --down\n`);
    }
    return ok ? 0 : 1;
  } finally {
    if (!keep) await c.lab.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
