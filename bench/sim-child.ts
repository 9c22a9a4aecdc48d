/**
 * The simulator in a process of its own, driven over IPC, so the crawler under test does not
 * share its event loop with the page rendering (a real Crawlora is another machine).
 *
 * It also records every API request's arrival time, end time and status: the simulator's
 * stats carry no times, and the rate bench needs exactly when upstream admitted each request.
 * The recording wraps the request listener by patching node:http's createServer before the
 * simulator calls it (module.syncBuiltinESMExports makes the ESM binding see the patch).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SimOptions } from '../src/sim/server.js';

export interface RequestRecord {
  /** Epoch ms with sub-ms precision. */
  atMs: number;
  endMs: number;
  status: number;
  hashtagId: string;
  cursor: number;
}

export type SimRequest =
  | { type: 'start'; options: SimOptions }
  | { type: 'configure'; patch: Partial<SimOptions> }
  | { type: 'reset' }
  | { type: 'summary' }
  | { type: 'close' };

export interface SimSummary {
  requests: number;
  byStatus: Record<string, number>;
  rateLimited: number;
  records: RequestRecord[];
  /** The simulator's own event-loop delay since the last reset (ms): its stalls delay arrivals too. */
  loopDelay: { p99: number; max: number };
}

let records: RequestRecord[] = [];
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const clock = () => performance.timeOrigin + performance.now();

const originalCreateServer = http.createServer;
(http as { createServer: unknown }).createServer = (listener: (req: IncomingMessage, res: ServerResponse) => void) =>
  originalCreateServer((req, res) => {
    if (req.url?.startsWith('/api/v1/tiktok/hashtags?')) {
      const url = new URL(req.url, 'http://sim');
      const record: RequestRecord = {
        atMs: clock(),
        endMs: 0,
        status: 0,
        hashtagId: url.searchParams.get('id') ?? '',
        cursor: Number(url.searchParams.get('cursor') ?? -1),
      };
      // Bound to the recording live at arrival, so a reset drops in-flight requests with it.
      const into = records;
      into.push(record);
      res.once('finish', () => {
        record.endMs = clock();
        record.status = res.statusCode;
      });
    }
    listener(req, res);
  });
syncBuiltinESMExports();

const { startSimulator } = await import('../src/sim/server.js');
let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;

const reply = (message: unknown) => process.send?.(message);

process.on('message', (message: SimRequest) => {
  void (async () => {
    switch (message.type) {
      case 'start':
        sim = await startSimulator(message.options);
        reply({ type: 'started', baseUrl: sim.baseUrl });
        break;
      case 'configure':
        sim?.configure(message.patch);
        reply({ type: 'ok' });
        break;
      case 'reset':
        sim?.reset();
        records = [];
        loop.reset();
        reply({ type: 'ok' });
        break;
      case 'summary': {
        const stats = sim?.stats();
        const summary: SimSummary = {
          requests: stats?.requests ?? 0,
          byStatus: stats?.byStatus ?? {},
          rateLimited: stats?.rateLimited ?? 0,
          records,
          loopDelay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        };
        reply({ type: 'summary', summary });
        break;
      }
      case 'close':
        await sim?.close();
        reply({ type: 'ok' });
        process.disconnect();
        break;
    }
  })().catch((err: unknown) => reply({ type: 'error', message: String(err) }));
});
// The parent going away ends the simulator too.
process.on('disconnect', () => process.exit(0));
