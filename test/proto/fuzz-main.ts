/**
 * CLI for the mutation fuzzer: npm run fuzz -- --count N [--seed S]
 * Exits 1 if any crasher was found, printing each with its seed-reproducible hex.
 */
import process from 'node:process';
import { loadMalformed, runFuzz } from './fuzz.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const count = Number(arg('count') ?? 100000);
const seed = Number(arg('seed') ?? Date.now() % 0xffffffff);
console.log(`fuzz: ${count} inputs, seed ${seed}`);
const report = runFuzz({
  count,
  seed,
  corpus: loadMalformed().map((r) => r.hex),
  progress: (done, line) => {
    if (done > 0 && done % 262144 === 0) console.log(`  ${line()}`);
  },
});
console.log(
  JSON.stringify(
    {
      seed: report.seed,
      count: report.count,
      elapsedSec: Number((report.elapsedMs / 1000).toFixed(1)),
      perSec: Math.round(report.count / (report.elapsedMs / 1000)),
      clean: report.clean,
      softened: report.softened,
      thrown: report.thrown,
      maxMsPerMessage: Number(report.maxMsPerMessage.toFixed(2)),
      heapMiB: { start: report.heapStartMiB.toFixed(1), max: report.heapMaxMiB.toFixed(1), end: report.heapEndMiB.toFixed(1) },
      crashers: report.crashers.length,
    },
    null,
    2,
  ),
);
for (const c of report.crashers.slice(0, 20)) console.log(`CRASHER #${c.index} [${c.kind}] ctx=${JSON.stringify(c.ctx)}\n  ${c.hex.length > 600 ? `${c.hex.slice(0, 600)}... (${c.hex.length / 2} octets)` : c.hex}\n  ${c.error.split('\n').slice(0, 4).join('\n  ')}`);
process.exitCode = report.crashers.length > 0 ? 1 : 0;
