/**
 * The decoder fuzzer alone: `node dist/test/proto/fuzz-main.js [--count N] [--seed S] ...`, the
 * same as `npm run fuzz -- --decoder-only ...` (test/hardening/fuzz-live-main.ts has every option).
 */
import process from 'node:process';

if (!process.argv.includes('--decoder-only')) process.argv.push('--decoder-only');
await import('../hardening/fuzz-live-main.js');
