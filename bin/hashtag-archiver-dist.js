#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=30
// The compiled CLI (`npm run build` writes dist/), for long-running workers: no tsx loader
// thread, ~40 MB less than bin/hashtag-archiver.js before any work.
// The flags make V8 collect garbage before it piles up, so a worker's RSS follows what it holds
// (bench row 5: 20,000 pages at concurrency 8 peak at ~145 MB instead of ~350 MB, for about
// twice the CPU per page). Neither is a limit, so no concurrency runs the heap out:
// - after each full collection the heap may grow 1.3× its live objects before the next one,
//   where V8 otherwise allows up to 4× on a machine with a few GB;
// - 2 MB semi-spaces instead of 16 keep the young generation small; measured, they cost no more
//   CPU than 4 or 8 MB.
// Run this file itself (`bin/hashtag-archiver-dist.js worker`): `node bin/hashtag-archiver-dist.js`
// skips the flags.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("error: dist/ has not been built; run 'npm run build' first\n");
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
// Every command closes what it opened; exiting here also ends any stray handle a library left behind.
process.exit(process.exitCode ?? 0);
