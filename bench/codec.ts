/**
 * Codec throughput on a synthetic IPv4 full table: 1M prefixes (mostly /24, /22-/23, /16-/21)
 * over ~100k attribute sets, packed into 4096-octet UPDATEs by packer.ts.
 *   encode: packUpdates over all groups (attribute blocks encoded once per group)
 *   decode: decodeUpdate over every message
 * Usage: npm run bench:codec [-- --prefixes N --groups N --rounds N --seed S]
 */
import process from 'node:process';
import type { Buffer } from 'node:buffer';
import { packUpdates } from '../proto/packer.js';
import { decodeUpdate } from '../proto/update.js';
import { Family } from '../proto/types.js';
import type { CodecContext } from '../proto/types.js';
import { genFullTable } from '../test/proto/gen.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const prefixes = arg('prefixes', 1_000_000);
const groupCount = arg('groups', 100_000);
const rounds = arg('rounds', 5);
const seed = arg('seed', 42);
const ctx: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };

const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
const t0 = performance.now();
const table = genFullTable(seed, prefixes, groupCount);
console.log(`table: ${prefixes} prefixes, ${table.groups.length} attribute sets (generated in ${(performance.now() - t0).toFixed(0)} ms)`);

let messages: Buffer[] = [];
let bestEncode = Infinity;
for (let r = 0; r < rounds; r++) {
  const out: Buffer[] = [];
  const s = performance.now();
  packUpdates(Family.Ipv4Unicast, [], table.groups, ctx, (b) => out.push(b));
  const ms = performance.now() - s;
  bestEncode = Math.min(bestEncode, ms);
  messages = out;
}
const bytes = messages.reduce((n, b) => n + b.length, 0);
console.log(`encode: ${messages.length} messages, ${mb(bytes)}, best ${bestEncode.toFixed(1)} ms = ${((prefixes / bestEncode) * 1000 / 1e6).toFixed(2)} M prefixes/s`);

let bestDecode = Infinity;
let decoded = 0;
for (let r = 0; r < rounds; r++) {
  decoded = 0;
  const s = performance.now();
  for (const m of messages) decoded += decodeUpdate(m, ctx).message.nlri.length;
  bestDecode = Math.min(bestDecode, performance.now() - s);
}
if (decoded !== prefixes) throw new Error(`decoded ${decoded} prefixes, expected ${prefixes}`);
console.log(`decode: ${messages.length} messages, best ${bestDecode.toFixed(1)} ms = ${((prefixes / bestDecode) * 1000 / 1e6).toFixed(2)} M prefixes/s`);
const mem = process.memoryUsage();
console.log(`heap used ${mb(mem.heapUsed)}, rss ${mb(mem.rss)} (table + messages held)`);
const ok = prefixes / bestDecode >= 5000 && prefixes / bestEncode >= 3000;
console.log(`targets (decode >= 5M/s, encode >= 3M/s): ${ok ? 'met' : 'NOT met'}`);
