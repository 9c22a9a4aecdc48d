import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZodError, prettifyError } from 'zod';
import { catalogueItemId, catalogueItemJson } from './catalogue.js';
import { CREDITS_PER_REQUEST, CreditLedger } from './credits.js';
import { hashtagIdForName, isUnknownHashtagName, isValidHashtagName } from './detail.js';
import { DEFAULT_SLOW_DELAY_MS, FaultInjector, type FaultTarget } from './faults.js';
import { hashText } from './hash.js';
import {
  DEFAULT_OPTIONS,
  limitsForKey,
  mergeOptions,
  simOptionsPatchSchema,
  type ResolvedSimOptions,
  type SimHashtagOptions,
  type SimOptions,
} from './options.js';
import { feedListing, isPerPass, type Listing } from './listing.js';
import { planPage } from './pagination.js';
import { lognormalSampler } from './latency.js';
import { createCounter, retryAfterSeconds, type RateCounter } from './rate-window.js';
import {
  HASHTAG_NOT_FOUND,
  SERVER_BUSY,
  detailBody,
  errorBody,
  logId,
  pageBody,
  tiktokStatusBody,
} from './responses.js';
import { StatsRecorder, type SimPageRequest, type SimStats } from './stats.js';

export type { SimFaultRule, SimHashtagOptions, SimKeyLimits, SimOptions } from './options.js';
export type { SimPageRequest, SimServedPage, SimStats } from './stats.js';
export { catalogueIds, catalogueItem } from './catalogue.js';
export { hashtagIdForName } from './detail.js';

export interface SimulatorHandle {
  /** http://HOST:PORT */
  url: string;
  /** url + '/api/v1' */
  baseUrl: string;
  port: number;
  stats(): SimStats;
  /** Clears stats, rate windows, credits and fault counters; options stay as configured. */
  reset(): void;
  /** Shallow merge (see mergeOptions); host and port only take effect at start. */
  configure(patch: Partial<SimOptions>): void;
  /** Idempotent; drops open connections, so in-flight slow requests end uncharged. */
  close(): Promise<void>;
}

const POSTS_PATH = '/api/v1/tiktok/hashtags';
const DETAIL_PATH = /^\/api\/v1\/tiktok\/hashtag\/([^/]+)$/;
const CONTROL_PREFIX = '/__sim/';
const HASHTAG_ID = /^\d{1,25}$/;
const CURSOR = /^\d{1,15}$/;
/** Injected 429s are transient blips, not a full window: a short wait keeps fault tests fast. */
const INJECTED_RETRY_AFTER_MS = 1_000;
const MAX_CONFIG_BYTES = 1_000_000;
/** A per-pass feed's cursor is pass × this + the feed position: it still only grows within a pass. */
const PASS_CURSOR_STRIDE = 10_000_000_000;
const MAX_CACHED_LISTINGS = 1_000;
const WAF_PAGE = '<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1><p>Request blocked by the edge firewall.</p></body></html>';

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Rendered once the request is admitted, so timestamps in the body are those of the answer. */
  render: () => string | Buffer;
  /** Send only the first half of the bytes. */
  truncated?: boolean;
  /** Instead of the body, send JSON-valid padding until the client leaves. */
  endless?: boolean;
  extraDelayMs?: number;
  /** Bookkeeping for a complete 2xx body that reached the socket. */
  onDelivered?: (stats: StatsRecorder) => void;
}

/**
 * State a request binds to on arrival: a reset() while it is in flight must not let its late
 * answer leak into the fresh stats and credits.
 */
interface Exchange {
  stats: StatsRecorder;
  ledger: CreditLedger;
  /** Key whose credits this request reserved, once it passed the rate and credit checks. */
  reservedFor?: string;
  pageRequest?: SimPageRequest;
}

function jsonReply(status: number, body: string, headers?: Record<string, string>): Reply {
  return headers ? { status, render: () => body, headers } : { status, render: () => body };
}

const DEFAULT_HUGE_BYTES = 50_000_000;

/** The page with a padding field in front, `sizeBytes` long in all: still valid JSON. */
function hugeBody(page: string | Buffer, sizeBytes: number): Buffer {
  const bytes = typeof page === 'string' ? Buffer.from(page, 'utf8') : page;
  const head = Buffer.from('{"padding":"');
  const tail = Buffer.concat([Buffer.from('",'), bytes.subarray(1)]);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, sizeBytes - head.length - tail.length), 0x20), tail]);
}

/** 64 KB of spaces at a time, each once the socket drained the last, until the client leaves. */
function writeEndless(res: ServerResponse): Promise<void> {
  const chunk = Buffer.alloc(65_536, 0x20);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.write('{"padding":"');
  return new Promise((resolve) => {
    const more = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', more);
    };
    res.once('close', () => resolve());
    more();
  });
}

function errorReply(status: number, msg: string): Reply {
  return jsonReply(status, errorBody(status, msg));
}

function parseCursor(raw: string | null): number | undefined {
  if (raw === null) return 0;
  return CURSOR.test(raw) ? Number(raw) : undefined;
}

function writeJson(res: ServerResponse, status: number, body: string | Buffer, headers?: Record<string, string>): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(bytes.length),
    ...headers,
  });
  res.end(bytes);
}

/** Resolves after `delayMs`, or as soon as the client disconnects (no timer left behind). */
function waitUnlessClientLeaves(res: ServerResponse, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, delayMs);
    res.once('close', done);
  });
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        reject(new Error(`body larger than ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseOptions(patch: unknown): Partial<SimOptions> {
  return simOptionsPatchSchema.parse(patch);
}

class Simulator {
  private stats = new StatsRecorder();
  private ledger = new CreditLedger();
  private windows = new Map<string, RateCounter>();
  private readonly faults: FaultInjector;
  private logSequence = 0;
  /** Passes started per hashtag (per-pass feeds only). */
  private passes = new Map<string, number>();
  private listings = new Map<string, Listing>();
  private latencyMs: () => number = () => 0;

  constructor(private options: ResolvedSimOptions) {
    this.faults = new FaultInjector(options.faults, options.seed);
    this.applyLatency();
  }

  private applyLatency(): void {
    const { latency, latencyMs } = this.options;
    this.latencyMs = latency ? lognormalSampler(latency, this.options.seed) : () => latencyMs;
  }

  snapshot(): SimStats {
    return this.stats.snapshot();
  }

  configure(patch: Partial<SimOptions>): void {
    const before = this.options;
    this.options = mergeOptions(this.options, parseOptions(patch));
    this.faults.configure(this.options.faults, this.options.seed);
    this.listings.clear();
    this.applyLatency();
    // A counter of another kind starts from nothing; same kind keeps its history.
    if (this.options.counting !== before.counting || this.options.burst !== before.burst) this.windows.clear();
  }

  reset(): void {
    this.stats = new StatsRecorder();
    this.ledger = new CreditLedger();
    this.windows.clear();
    this.faults.reset();
    this.passes.clear();
    this.listings.clear();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange: Exchange = { stats: this.stats, ledger: this.ledger };
    try {
      const url = new URL(req.url ?? '/', 'http://simulator');
      if (url.pathname.startsWith(CONTROL_PREFIX)) {
        await this.control(req, res, url.pathname);
        return;
      }
      exchange.stats.request();
      await this.send(res, this.route(req, url, exchange), exchange);
    } catch (error) {
      // A simulator bug must surface in the test that hit it, not as an unhandled rejection.
      this.settle(exchange, false);
      if (!res.headersSent) writeJson(res, 500, errorBody(500, `simulator error: ${String(error)}`));
      else res.destroy();
    }
  }

  private async control(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    if (req.method === 'GET' && pathname === '/__sim/stats') {
      writeJson(res, 200, JSON.stringify(this.stats.snapshot()));
    } else if (req.method === 'POST' && pathname === '/__sim/reset') {
      this.reset();
      writeJson(res, 200, '{"ok":true}');
    } else if (req.method === 'POST' && pathname === '/__sim/config') {
      let patch: unknown;
      try {
        patch = JSON.parse(await readBody(req, MAX_CONFIG_BYTES));
        this.configure(patch as Partial<SimOptions>);
      } catch (error) {
        const reason = error instanceof ZodError ? prettifyError(error) : String(error);
        writeJson(res, 400, errorBody(400, `invalid config: ${reason}`));
        return;
      }
      writeJson(res, 200, '{"ok":true}');
    } else {
      writeJson(res, 404, errorBody(404, 'not found'));
    }
  }

  private route(req: IncomingMessage, url: URL, exchange: Exchange): Reply {
    if (req.method === 'GET' && url.pathname === POSTS_PATH) return this.posts(req, url, exchange);
    const detail = req.method === 'GET' ? DETAIL_PATH.exec(url.pathname) : null;
    if (detail) return this.detail(req, detail[1] ?? '', exchange);
    return errorReply(404, 'not found');
  }

  private posts(req: IncomingMessage, url: URL, exchange: Exchange): Reply {
    const hashtagId = url.searchParams.get('id');
    const cursor = parseCursor(url.searchParams.get('cursor'));
    const apiKey = req.headers['x-api-key'];
    exchange.pageRequest = exchange.stats.pageRequest(
      hashtagId ?? '',
      cursor ?? -1,
      typeof apiKey === 'string' ? apiKey : '',
    );

    const key = this.authenticate(req);
    if (typeof key !== 'string') return key;
    if (hashtagId === null || !HASHTAG_ID.test(hashtagId)) return errorReply(400, 'invalid id');
    if (cursor === undefined) return errorReply(400, 'invalid cursor');
    const refused = this.admit(key, exchange);
    if (refused) return refused;
    return this.withFault({ endpoint: 'hashtags', hashtagId, cursor }, () => this.page(hashtagId, cursor));
  }

  private detail(req: IncomingMessage, encodedName: string, exchange: Exchange): Reply {
    exchange.stats.detailRequest();
    const key = this.authenticate(req);
    if (typeof key !== 'string') return key;
    let name: string;
    try {
      name = decodeURIComponent(encodedName);
    } catch {
      return errorReply(400, 'invalid name');
    }
    if (!isValidHashtagName(name)) return errorReply(400, 'invalid name');
    const refused = this.admit(key, exchange);
    if (refused) return refused;
    const hashtagId = hashtagIdForName(name);
    return this.withFault({ endpoint: 'detail', hashtagId }, () => this.challenge(name, hashtagId));
  }

  /** The key itself, or the refusal to send. */
  private authenticate(req: IncomingMessage): string | Reply {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') return errorReply(401, 'missing api key');
    if (this.options.rejectKeys.includes(key)) return errorReply(401, 'invalid api key');
    if (this.options.forbiddenKeys.includes(key)) return errorReply(403, 'forbidden');
    return key;
  }

  /** Rate window, then daily credits; on success the request's credits are reserved. */
  private admit(key: string, exchange: Exchange): Reply | undefined {
    const nowMs = Date.now();
    const limits = limitsForKey(this.options, key);
    let window = this.windows.get(key);
    if (!window) {
      window = createCounter(this.options.counting, this.options.burst);
      this.windows.set(key, window);
    }
    const rate = window.admit(nowMs, limits.ratePerMin, this.options.windowMs);
    if (!rate.admitted) {
      exchange.stats.rateLimitedRequest();
      return this.tooManyRequests('rate limit exceeded', rate.retryAfterMs);
    }
    const credits = exchange.ledger.reserve(key, nowMs + this.options.dayOffsetMs, limits.dailyCredits);
    if (!credits.allowed) return this.tooManyRequests('daily credit limit reached', credits.retryAfterMs);
    exchange.reservedFor = key;
    return undefined;
  }

  private tooManyRequests(msg: string, retryAfterMs: number): Reply {
    const headers = this.options.sendRetryAfter ? { 'retry-after': String(retryAfterSeconds(retryAfterMs)) } : undefined;
    return jsonReply(429, errorBody(429, msg), headers);
  }

  private withFault(target: FaultTarget, normal: () => Reply): Reply {
    const rule = this.faults.pick(target);
    switch (rule?.kind) {
      case undefined:
        return normal();
      case '500':
        return errorReply(500, 'internal server error');
      case '429':
        return this.tooManyRequests('rate limit exceeded', INJECTED_RETRY_AFTER_MS);
      case '400':
        return errorReply(400, 'invalid input');
      case '403html':
        return jsonReply(403, WAF_PAGE, { 'content-type': 'text/html; charset=utf-8' });
      case 'huge': {
        const page = normal();
        return { ...page, render: () => hugeBody(page.render(), rule.sizeBytes ?? DEFAULT_HUGE_BYTES) };
      }
      case 'endless':
        return { ...normal(), endless: true };
      case 'slow':
        return { ...normal(), extraDelayMs: rule.delayMs ?? DEFAULT_SLOW_DELAY_MS };
      case 'truncated':
        return { ...normal(), truncated: true };
      case 'empty':
        return jsonReply(200, '');
      case 'status10201': {
        const hasMore = target.endpoint === 'hashtags' ? false : undefined;
        return jsonReply(200, tiktokStatusBody(SERVER_BUSY.statusCode, SERVER_BUSY.statusMsg, hasMore));
      }
    }
  }

  private page(hashtagId: string, cursor: number): Reply {
    const hashtag = this.options.hashtags[hashtagId] ?? {};
    if (hashtag.unknown) {
      return jsonReply(200, tiktokStatusBody(HASHTAG_NOT_FOUND.statusCode, HASHTAG_NOT_FOUND.statusMsg, false));
    }
    // A per-pass feed carries its pass in the cursor, so the pages of one pass stay one listing.
    const perPass = isPerPass(hashtag);
    const pass = !perPass ? 0 : cursor === 0 ? this.nextPass(hashtagId) : Math.floor(cursor / PASS_CURSOR_STRIDE);
    const offset = perPass ? cursor % PASS_CURSOR_STRIDE : cursor;
    const listing = this.listing(hashtagId, hashtag, pass);
    const plan = planPage(offset, this.options.pageSize, listing, hashtag);
    const { epoch, quirks } = this.options;
    const nextCursor = pass * PASS_CURSOR_STRIDE + plan.nextOffset;
    const fatalItemIds = plan.fatalIndices.map((index) => catalogueItemId(hashtagId, index));
    let id = '';
    return {
      status: 200,
      render: () => {
        const nowMs = Date.now();
        id = logId(nowMs, ++this.logSequence);
        const itemsJson = plan.itemIndices.map((index) => catalogueItemJson(hashtagId, index, epoch, quirks, hashtag.createTimeMsEvery));
        const fatalItemIdsJson = fatalItemIds.map((fatal) => JSON.stringify(fatal));
        return pageBody({ nextCursor, hasMore: plan.hasMore, itemsJson, nowMs, logId: id, fatalItemIdsJson });
      },
      onDelivered: (stats) => {
        stats.served(hashtagId, plan.itemIndices.map((index) => catalogueItemId(hashtagId, index)));
        stats.servedPage({ hashtagId, cursor, logId: id, fatalItemIds });
      },
    };
  }

  private nextPass(hashtagId: string): number {
    const pass = (this.passes.get(hashtagId) ?? 0) + 1;
    this.passes.set(hashtagId, pass);
    return pass;
  }

  /** Listings of per-pass feeds are drawn once per pass; the cache is emptied when full, as the catalogue's is. */
  private listing(hashtagId: string, hashtag: SimHashtagOptions, pass: number): Listing {
    const size = hashtag.size ?? this.options.itemsPerHashtag;
    const key = `${hashtagId}:${pass}`;
    let listing = this.listings.get(key);
    if (!listing) {
      listing = feedListing(hashtagId, size, hashtag, pass, this.options.seed);
      if (this.listings.size >= MAX_CACHED_LISTINGS) this.listings.clear();
      this.listings.set(key, listing);
    }
    return listing;
  }

  private challenge(name: string, hashtagId: string): Reply {
    const hashtag = this.options.hashtags[hashtagId] ?? {};
    if (hashtag.unknown || isUnknownHashtagName(name)) {
      return jsonReply(200, tiktokStatusBody(HASHTAG_NOT_FOUND.statusCode, HASHTAG_NOT_FOUND.statusMsg));
    }
    const videoCount = hashtag.size ?? this.options.itemsPerHashtag;
    const viewCount = videoCount * 4_217 + (hashText(hashtagId) % 1_000);
    return jsonReply(200, detailBody({ hashtagId, title: name, videoCount, viewCount }));
  }

  private async send(res: ServerResponse, reply: Reply, exchange: Exchange): Promise<void> {
    // A real API's response time includes its own work: the latency counts the rendering.
    const startedMs = performance.now();
    const rendered = reply.render();
    const full = typeof rendered === 'string' ? Buffer.from(rendered, 'utf8') : rendered;
    const delayMs = this.latencyMs() + (reply.extraDelayMs ?? 0) - (performance.now() - startedMs);
    if (delayMs > 0) await waitUnlessClientLeaves(res, delayMs);
    const success = reply.status >= 200 && reply.status < 300;
    if (reply.endless && !res.destroyed) {
      // The headers of a 2xx reached the client: billed, as any 2xx is.
      this.settle(exchange, true);
      await writeEndless(res);
      return;
    }
    if (res.destroyed) {
      // Nothing reached the client: charged only where the options say upstream bills it anyway.
      this.settle(exchange, success && this.options.billAbandoned);
      return;
    }
    writeJson(res, reply.status, reply.truncated ? full.subarray(0, Math.floor(full.length / 2)) : full, reply.headers);

    exchange.stats.status(reply.status);
    if (exchange.pageRequest) exchange.pageRequest.status = reply.status;
    this.settle(exchange, success);
    // Ids in a cut body cannot be parsed by the client, so they do not count as served.
    if (success && !reply.truncated) reply.onDelivered?.(exchange.stats);
  }

  /** Turns the request's credit reservation into a charge (2xx) or releases it; once. */
  private settle(exchange: Exchange, charged: boolean): void {
    const key = exchange.reservedFor;
    if (key === undefined) return;
    exchange.reservedFor = undefined;
    exchange.ledger.settle(key, Date.now() + this.options.dayOffsetMs, charged);
    if (charged) exchange.stats.credits(key, CREDITS_PER_REQUEST);
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSimulator(options: SimOptions = {}): Promise<SimulatorHandle> {
  const resolved = mergeOptions(DEFAULT_OPTIONS, parseOptions(options));
  const simulator = new Simulator(resolved);
  const server = createServer((req, res) => void simulator.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${urlHost(resolved.host)}:${port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    baseUrl: `${url}/api/v1`,
    port,
    stats: () => simulator.snapshot(),
    reset: () => simulator.reset(),
    configure: (patch) => simulator.configure(patch),
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
