/**
 * `npm run soak -- --minutes M [--rate R] [--nodes N]`: the soak of soak.ts; prints its figures as
 * JSON and exits 1 if a node died, a session flapped, a control socket failed to answer, the
 * cluster did not converge, or a node's RSS at the end exceeds its start by more than
 * --max-rss-growth-mib (default 64).
 */
import process from 'node:process';
import { runSoak } from './soak.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const minutes = Number(arg('minutes') ?? 1);
const rate = Number(arg('rate') ?? 100);
const nodes = Number(arg('nodes') ?? 10);
const maxGrowth = Number(arg('max-rss-growth-mib') ?? 64);
console.log(`soak: ${nodes} nodes, ${rate} changes/s for ${minutes} min`);
const r = await runSoak({ minutes, rate, nodes, progress: (l) => console.log(`  ${l}`) });
console.log(JSON.stringify(r, null, 2));
const bad = r.nodes.filter((n) => n.flaps > 0 || n.ctlFailures > 0 || n.rssEndMiB - n.rssStartMiB > maxGrowth);
const ok = r.converged && r.allAlive && r.feederUp && bad.length === 0;
if (!ok) console.log(`FAILED: converged ${r.converged}, alive ${r.allAlive}, feeder ${r.feederUp}, nodes ${bad.map((n) => n.node).join(' ')}`);
process.exitCode = ok ? 0 : 1;
