/**
 * `npm run fuzz` entry: with --live, mutated UPDATEs through live sessions into a running bgpd
 * (fuzz-live.ts); without it, the decoder fuzzer (test/proto/fuzz-main.ts, same arguments).
 *   node dist/test/hardening/fuzz-live-main.js --live --count N [--seed S] [--reset-every K] [--peers P] [--max-rss-growth-mib M]
 * Exits 1 on any finding (crash, hang, wrong or missing NOTIFICATION, witness flap) or RSS growth
 * after warm-up above the bound (default 64 MiB).
 */
import process from 'node:process';
import { runLiveFuzz } from './fuzz-live.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (!process.argv.includes('--live')) {
  await import('../proto/fuzz-main.js');
} else {
  const count = Number(arg('count') ?? 100000);
  const seed = Number(arg('seed') ?? Date.now() % 0xffffffff);
  const resetEvery = Number(arg('reset-every') ?? 250);
  const peers = Number(arg('peers') ?? 4);
  const maxGrowthMiB = Number(arg('max-rss-growth-mib') ?? 64);
  console.log(`fuzz --live: ${count} inputs, seed ${seed}, one reset per ~${resetEvery}, ${peers} fuzz peers`);
  const r = await runLiveFuzz({ count, seed, resetEvery, peers, progress: (l) => console.log(`  ${l}`) });
  const growthMiB = (r.rssKiB.end - r.rssKiB.warm) / 1024;
  console.log(JSON.stringify({ ...r, findings: r.findings.length, rssGrowthAfterWarmMiB: Number(growthMiB.toFixed(1)) }, null, 2));
  for (const f of r.findings.slice(0, 20)) console.log(`FINDING [${f.kind}] ${f.detail}${f.ctx === undefined ? '' : ` ctx=${JSON.stringify(f.ctx)}`}${f.recent === undefined ? '' : `\n  last input: ${f.recent[f.recent.length - 1] ?? ''}`}`);
  const ok = r.findings.length === 0 && r.alive && growthMiB <= maxGrowthMiB;
  if (growthMiB > maxGrowthMiB) console.log(`RSS grew ${growthMiB.toFixed(1)} MiB after warm-up (limit ${maxGrowthMiB})`);
  process.exitCode = ok ? 0 : 1;
}
