// Loaded into the worker under test with NODE_OPTIONS=--import (bench/memory.ts): every 250 ms
// appends this process's memory figures to BENCH_HEAP_LOG as a JSON line, so the bench can tell
// a growing heap from V8's sawtooth without any hook in the product.
import { appendFileSync } from 'node:fs';

const path = process.env.BENCH_HEAP_LOG;
if (path) {
  const started = performance.now();
  const timer = setInterval(() => {
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    appendFileSync(path, `${JSON.stringify({ t: (performance.now() - started) / 1000, rss, heapUsed, heapTotal, external, arrayBuffers })}\n`);
  }, 250);
  timer.unref();
}
