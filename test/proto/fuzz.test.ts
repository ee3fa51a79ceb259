/** A bounded share of the mutation fuzzer in `npm test` (the full run: npm run fuzz, 10M inputs). */
import t from 'tap';
import { loadMalformed, runFuzz } from './fuzz.js';

const COUNT = Number(process.env['WREN_FUZZ_COUNT'] ?? 50000);
const SEED = Number(process.env['WREN_SEED'] ?? 0xf022);

t.test(`mutation fuzz: ${COUNT} inputs, seed ${SEED}`, async (t) => {
  const r = runFuzz({ count: COUNT, seed: SEED, corpus: loadMalformed().map((x) => x.hex), slowMs: 250 });
  for (const c of r.crashers.slice(0, 5)) t.comment(`crasher [${c.kind}] ${JSON.stringify(c.ctx)} ${c.hex.slice(0, 400)} ${c.error}`);
  t.equal(r.crashers.length, 0, `no crashers (reproduce with WREN_SEED=${SEED})`);
  t.ok(r.clean > 0 && r.softened > 0, 'mutations reach clean and RFC 7606 outcomes');
  t.ok(r.heapEndMiB - r.heapStartMiB < 64, `heap flat (${r.heapStartMiB.toFixed(1)} -> ${r.heapEndMiB.toFixed(1)} MiB)`);
});
