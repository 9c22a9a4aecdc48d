import { afterEach, describe, expect, it } from 'vitest';
import { catalogueItemJson } from '../src/sim/catalogue.js';
import {
  catalogueIds,
  catalogueItem,
  hashtagIdForName,
  startSimulator,
  type SimOptions,
  type SimulatorHandle,
} from '../src/sim/server.js';

const KEY = 'test-key-0001';
const HASHTAG = '100200';

const started: SimulatorHandle[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

async function simulator(options: SimOptions = {}): Promise<SimulatorHandle> {
  const sim = await startSimulator(options);
  started.push(sim);
  return sim;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: number;
  json: any;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const buffer = Buffer.from(await response.arrayBuffer());
  const text = buffer.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, bytes: buffer.length, json };
}

function page(sim: SimulatorHandle, id: string, cursor?: number | string, key: string | null = KEY): Promise<Answer> {
  const query = cursor === undefined ? `id=${id}` : `id=${id}&cursor=${cursor}`;
  return call(`${sim.baseUrl}/tiktok/hashtags?${query}`, { headers: key === null ? {} : { 'x-api-key': key } });
}

function detail(sim: SimulatorHandle, name: string, key = KEY): Promise<Answer> {
  return call(`${sim.baseUrl}/tiktok/hashtag/${encodeURIComponent(name)}`, { headers: { 'x-api-key': key } });
}

function itemIds(answer: Answer): string[] {
  return (answer.json.data.itemList as Array<{ id: string }>).map((item) => item.id);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('pagination', () => {
  it('walks a 100-item catalogue to hasMore false with exact ids, then an empty page omits itemList', async () => {
    const sim = await simulator({ itemsPerHashtag: 100, pageSize: 30 });
    const seen: string[] = [];
    let cursor = 0;
    let hasMore = true;
    let pages = 0;
    while (hasMore) {
      const answer = await page(sim, HASHTAG, cursor);
      expect(answer.status).toBe(200);
      expect(answer.json.code).toBe(200);
      expect(answer.json.data.statusCode).toBe(0);
      seen.push(...itemIds(answer));
      cursor = Number(answer.json.data.cursor);
      hasMore = answer.json.data.hasMore;
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual(catalogueIds(HASHTAG, 100));

    const past = await page(sim, HASHTAG, cursor);
    expect(past.status).toBe(200);
    expect(past.json.data.hasMore).toBe(false);
    expect('itemList' in past.json.data).toBe(false);
    expect(sim.stats().idsServed[HASHTAG]).toEqual(catalogueIds(HASHTAG, 100));
  });

  it('starts at cursor 0 when cursor is omitted and returns the next cursor as a string', async () => {
    const sim = await simulator({ pageSize: 30 });
    const answer = await page(sim, HASHTAG);
    expect(answer.json.data.cursor).toBe('30');
    expect(answer.json.data.hasMore).toBe(true);
    expect(answer.json.data.extra.fatal_item_ids).toEqual([]);
    expect(answer.json.data.log_pb.impr_id).toBe(answer.json.data.extra.logid);
    expect(itemIds(answer)).toEqual(catalogueIds(HASHTAG, 30));
  });

  it('serves 19-digit ids that a JS number would corrupt, distinct across hashtags', () => {
    const a = catalogueIds('1', 50);
    const b = catalogueIds('2', 50);
    expect(new Set([...a, ...b]).size).toBe(100);
    for (const id of a) expect(id).toMatch(/^\d{19}$/);
    expect(a.some((id) => String(Number(id)) !== id)).toBe(true);
  });

  it('sends a Content-Length that matches the body bytes', async () => {
    const sim = await simulator();
    const answer = await page(sim, HASHTAG, 0);
    expect(Number(answer.headers.get('content-length'))).toBe(answer.bytes);
    expect(answer.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('answers statusCode 10205 for an unknown hashtag, still charged', async () => {
    const sim = await simulator({ hashtags: { [HASHTAG]: { unknown: true } } });
    const answer = await page(sim, HASHTAG, 0);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ code: 200, msg: 'OK', data: { statusCode: 10205, status_msg: 'hashtag not found', hasMore: false } });
    expect(sim.stats().creditsTotal).toBe(8);
  });

  it('repeats 2 of its own items within a page when duplicatesWithinPage is set', async () => {
    const sim = await simulator({ pageSize: 10, hashtags: { [HASHTAG]: { duplicatesWithinPage: true } } });
    const ids = itemIds(await page(sim, HASHTAG, 10));
    expect(ids).toHaveLength(12);
    expect(new Set(ids)).toEqual(new Set(catalogueIds(HASHTAG, 20).slice(10)));
  });

  it('repeats the last 3 items of the previous page when duplicatesAcrossPages is set', async () => {
    const sim = await simulator({ pageSize: 10, hashtags: { [HASHTAG]: { duplicatesAcrossPages: true } } });
    const expected = catalogueIds(HASHTAG, 20);
    expect(itemIds(await page(sim, HASHTAG, 0))).toEqual(expected.slice(0, 10));
    const second = await page(sim, HASHTAG, 10);
    expect(itemIds(second)).toEqual([...expected.slice(7, 10), ...expected.slice(10, 20)]);
    expect(second.json.data.cursor).toBe('20');
  });

  it('keeps hasMore true and hands back the same cursor past the end when hasMoreForever is set', async () => {
    const sim = await simulator({ pageSize: 10, hashtags: { [HASHTAG]: { size: 15, hasMoreForever: true } } });
    const last = await page(sim, HASHTAG, 10);
    expect(itemIds(last)).toHaveLength(5);
    expect(last.json.data.hasMore).toBe(true);
    expect(last.json.data.cursor).toBe('20');
    for (let i = 0; i < 2; i++) {
      const stuck = await page(sim, HASHTAG, 20);
      expect(stuck.json.data.hasMore).toBe(true);
      expect(stuck.json.data.cursor).toBe('20');
      expect('itemList' in stuck.json.data).toBe(false);
    }
  });
});

describe('request validation and keys', () => {
  it('answers 400 "invalid id" for missing, non-digit or over-long ids', async () => {
    const sim = await simulator();
    for (const query of ['cursor=0', 'id=abc', 'id=12a', `id=${'9'.repeat(26)}`, 'id=']) {
      const answer = await call(`${sim.baseUrl}/tiktok/hashtags?${query}`, { headers: { 'x-api-key': KEY } });
      expect(answer.status, query).toBe(400);
      expect(answer.json).toEqual({ code: 400, msg: 'invalid id' });
    }
    expect((await page(sim, '9'.repeat(25), 0)).status).toBe(200);
  });

  it('answers 400 for a negative, fractional or non-numeric cursor', async () => {
    const sim = await simulator();
    for (const cursor of ['-1', '1.5', 'abc', '']) {
      const answer = await page(sim, HASHTAG, cursor);
      expect(answer.status, cursor).toBe(400);
      expect(answer.json.code).toBe(400);
    }
  });

  it('answers 401 without a key, with an empty key and for rejected keys; 403 for forbidden keys', async () => {
    const sim = await simulator({ rejectKeys: ['revoked-key'], forbiddenKeys: ['free-plan-key'] });
    const missing = await page(sim, HASHTAG, 0, null);
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ code: 401, msg: 'missing api key' });
    expect((await page(sim, HASHTAG, 0, '')).status).toBe(401);
    expect((await page(sim, HASHTAG, 0, 'revoked-key')).status).toBe(401);
    expect((await page(sim, HASHTAG, 0, 'free-plan-key')).status).toBe(403);
    expect(sim.stats().creditsTotal).toBe(0);
  });

  it('answers 404 JSON for unknown paths', async () => {
    const sim = await simulator();
    const answer = await call(`${sim.url}/api/v1/tiktok/users`, { headers: { 'x-api-key': KEY } });
    expect(answer.status).toBe(404);
    expect(answer.json.code).toBe(404);
  });
});

describe('rate window', () => {
  it('admits exactly ratePerMin requests in a window, then 429 with Retry-After', async () => {
    const sim = await simulator({ limits: { ratePerMin: 3, dailyCredits: null } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await page(sim, HASHTAG, 0)).status);
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await page(sim, HASHTAG, 0);
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ code: 429, msg: 'rate limit exceeded' });
    // The oldest of the 3 leaves a 60 s window in just under 60 s; rounded up.
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(sim.stats().rateLimited).toBe(1);
    expect(sim.stats().creditsTotal).toBe(24);
  });

  it('limits each key separately and honours per-key limits', async () => {
    const sim = await simulator({
      limits: { ratePerMin: 1, dailyCredits: null },
      keyLimits: { 'pro-key-123': { ratePerMin: 2, dailyCredits: null } },
    });
    expect((await page(sim, HASHTAG, 0, 'key-a')).status).toBe(200);
    expect((await page(sim, HASHTAG, 0, 'key-a')).status).toBe(429);
    expect((await page(sim, HASHTAG, 0, 'key-b')).status).toBe(200);
    expect((await page(sim, HASHTAG, 0, 'pro-key-123')).status).toBe(200);
    expect((await page(sim, HASHTAG, 0, 'pro-key-123')).status).toBe(200);
    expect((await page(sim, HASHTAG, 0, 'pro-key-123')).status).toBe(429);
  });

  it('slides: requests leave the window one by one, and rejected requests do not count', async () => {
    const windowMs = 1_000;
    const sim = await simulator({ windowMs, limits: { ratePerMin: 3, dailyCredits: null } });
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    const firstTwoAdmittedBy = Date.now();
    await sleep(500);
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    const limited = await page(sim, HASHTAG, 0);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');

    await sleep(firstTwoAdmittedBy + windowMs + 20 - Date.now());
    // The first two have left; the third is still inside: a fixed window would admit three here.
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await page(sim, HASHTAG, 0)).status).toBe(429);
    expect(sim.stats().rateLimited).toBe(2);
  });

  it('omits Retry-After when sendRetryAfter is false', async () => {
    const sim = await simulator({ sendRetryAfter: false, limits: { ratePerMin: 0, dailyCredits: null } });
    const limited = await page(sim, HASHTAG, 0);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
  });
});

describe('credits', () => {
  it('charges 8 credits per 2xx and nothing for 4xx or 5xx', async () => {
    const sim = await simulator({ faults: [{ kind: '500', times: 1, cursor: 30 }] });
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await page(sim, 'bad', 0)).status).toBe(400);
    expect((await page(sim, HASHTAG, 0, null)).status).toBe(401);
    expect((await page(sim, HASHTAG, 30)).status).toBe(500);
    expect((await page(sim, HASHTAG, 30, 'other-key')).status).toBe(200);
    const stats = sim.stats();
    expect(stats.creditsTotal).toBe(16);
    expect(stats.creditsByKey).toEqual({ [KEY]: 8, 'other-key': 8 });
    expect(stats.byStatus).toEqual({ '200': 2, '400': 1, '401': 1, '500': 1 });
    expect(stats.pageRequests.map((r) => [r.cursor, r.status, r.key])).toEqual([
      [0, 200, KEY.slice(0, 8)],
      [0, 400, KEY.slice(0, 8)],
      [0, 401, ''],
      [30, 500, KEY.slice(0, 8)],
      [30, 200, 'other-ke'],
    ]);
  });

  it('answers 429 "daily credit limit reached" until the next UTC day', async () => {
    const sim = await simulator({ limits: { ratePerMin: 1000, dailyCredits: 24 } });
    for (let i = 0; i < 3; i++) expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    const capped = await page(sim, HASHTAG, 0);
    expect(capped.status).toBe(429);
    expect(capped.json).toEqual({ code: 429, msg: 'daily credit limit reached' });
    const untilMidnightS = (86_400_000 - (Date.now() % 86_400_000)) / 1000;
    expect(Math.abs(Number(capped.headers.get('retry-after')) - untilMidnightS)).toBeLessThanOrEqual(2);
    expect(sim.stats().rateLimited).toBe(0);
    expect(sim.stats().creditsTotal).toBe(24);

    sim.configure({ dayOffsetMs: 86_400_000 });
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
  });

  it('counts detail lookups against the same per-key daily cap', async () => {
    const sim = await simulator({ limits: { ratePerMin: 1000, dailyCredits: 16 } });
    expect((await detail(sim, 'christmas')).status).toBe(200);
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await detail(sim, 'christmas')).json.msg).toBe('daily credit limit reached');
  });
});

describe('injected faults', () => {
  it("'500' fires at most `times` times, then requests succeed", async () => {
    const sim = await simulator({ faults: [{ kind: '500', times: 2 }] });
    const first = await page(sim, HASHTAG, 0);
    expect(first.status).toBe(500);
    expect(first.json).toEqual({ code: 500, msg: 'internal server error' });
    expect((await page(sim, HASHTAG, 0)).status).toBe(500);
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
  });

  it("'429' answers like the rate limit with Retry-After but is not counted as rateLimited", async () => {
    const sim = await simulator({ faults: [{ kind: '429', times: 1 }] });
    const limited = await page(sim, HASHTAG, 0);
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ code: 429, msg: 'rate limit exceeded' });
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(sim.stats().rateLimited).toBe(0);
  });

  it("'400' answers 400", async () => {
    const sim = await simulator({ faults: [{ kind: '400', times: 1 }] });
    const answer = await page(sim, HASHTAG, 0);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe(400);
  });

  it("'slow' delays a normal answer by delayMs", async () => {
    const sim = await simulator({ faults: [{ kind: 'slow', delayMs: 150, times: 1 }] });
    const startedAt = Date.now();
    const answer = await page(sim, HASHTAG, 0);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(answer.status).toBe(200);
    expect(itemIds(answer)).toEqual(catalogueIds(HASHTAG, 30));
  });

  it("'slow' does not charge when the client disconnects before the answer", async () => {
    const sim = await simulator({ faults: [{ kind: 'slow', delayMs: 5_000, times: 1 }] });
    const abort = new AbortController();
    const pending = fetch(`${sim.baseUrl}/tiktok/hashtags?id=${HASHTAG}`, {
      headers: { 'x-api-key': KEY },
      signal: abort.signal,
    });
    await until(() => sim.stats().pageRequests.length === 1);
    abort.abort();
    await expect(pending).rejects.toThrow();
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    await sleep(50);
    const stats = sim.stats();
    expect(stats.creditsTotal).toBe(8);
    expect(stats.pageRequests.map((r) => r.status)).toEqual([0, 200]);
    expect(stats.byStatus).toEqual({ '200': 1 });
  });

  it("'truncated' sends half the JSON with a matching Content-Length, charged, ids not counted as served", async () => {
    const sim = await simulator({ faults: [{ kind: 'truncated', times: 1 }] });
    const cut = await page(sim, HASHTAG, 0);
    expect(cut.status).toBe(200);
    expect(Number(cut.headers.get('content-length'))).toBe(cut.bytes);
    expect(cut.json).toBeUndefined();
    expect(cut.bytes).toBeGreaterThan(100_000);
    const whole = await page(sim, HASHTAG, 0);
    expect(Math.abs(cut.bytes - whole.bytes / 2)).toBeLessThanOrEqual(1);
    expect(sim.stats().creditsTotal).toBe(16);
    expect(sim.stats().pageRequests).toHaveLength(2);
  });

  it("'empty' sends a 200 with an empty body, charged", async () => {
    const sim = await simulator({ faults: [{ kind: 'empty', times: 1 }] });
    const empty = await page(sim, HASHTAG, 0);
    expect(empty.status).toBe(200);
    expect(empty.text).toBe('');
    expect(empty.headers.get('content-length')).toBe('0');
    expect(sim.stats().creditsTotal).toBe(8);
    expect(sim.stats().idsServed[HASHTAG]).toBeUndefined();
  });

  it("'status10201' sends TikTok's server-busy status inside a 200", async () => {
    const sim = await simulator({ faults: [{ kind: 'status10201', times: 1 }] });
    const busy = await page(sim, HASHTAG, 0);
    expect(busy.status).toBe(200);
    expect(busy.json).toEqual({ code: 200, msg: 'OK', data: { statusCode: 10201, status_msg: 'server is busy', hasMore: false } });
    expect(sim.stats().creditsTotal).toBe(8);
  });

  it('applies a rule only to its hashtag and cursor, and not to detail lookups unless asked', async () => {
    const sim = await simulator({
      faults: [
        { kind: '500', hashtagId: HASHTAG, cursor: 30 },
        { kind: '400', endpoint: 'detail', times: 1 },
      ],
    });
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await page(sim, HASHTAG, 30)).status).toBe(500);
    expect((await page(sim, '777', 30)).status).toBe(200);
    expect((await detail(sim, 'christmas')).status).toBe(400);
    expect((await detail(sim, 'christmas')).status).toBe(200);
  });

  it('fires probabilistic rules reproducibly for a given seed', async () => {
    const statuses = async (seed: number): Promise<number[]> => {
      const sim = await simulator({ seed, itemsPerHashtag: 1, faults: [{ kind: '500', rate: 0.5 }] });
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await page(sim, HASHTAG, 0)).status);
      return out;
    };
    const first = await statuses(7);
    expect(await statuses(7)).toEqual(first);
    expect(first).toContain(200);
    expect(first).toContain(500);
  });
});

describe('items', () => {
  it('are ~10-16 KB of realistic JSON each', () => {
    const bytes = Buffer.byteLength(catalogueItemJson(HASHTAG, 0, 1, true));
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(17_000);
  });

  it('carry the fields a crawler stores, with the hashtag among the challenges', () => {
    const item = catalogueItem(HASHTAG, 0, 1, true) as any;
    expect(item.id).toBe(catalogueIds(HASHTAG, 1)[0]);
    expect(item.video.id).toBe(item.id);
    expect(item.author.id).toMatch(/^\d{19}$/);
    expect(typeof item.author.uniqueId).toBe('string');
    expect(item.music.id).toMatch(/^\d{19}$/);
    expect(typeof item.createTime).toBe('number');
    expect(item.challenges[0]).toMatchObject({ id: HASHTAG });
    expect(item.statsV2.playCount).toBe(String(item.stats.playCount));
  });

  it('have the quirks when enabled: string createTime, missing challenges/textExtra, NULs and escapes', async () => {
    const sim = await simulator({ pageSize: 20 });
    const items = (await page(sim, HASHTAG, 0)).json.data.itemList as any[];
    expect(typeof items[4].createTime).toBe('string');
    expect(items[4].createTime).toMatch(/^\d+$/);
    expect(typeof items[3].createTime).toBe('number');
    expect('challenges' in items[6]).toBe(false);
    expect('textExtra' in items[10]).toBe(false);
    expect(items[12].desc).toContain('\u0000');
    expect(items[12].desc).toMatch(/["'\\]/);
    expect(items[12].desc).toContain('"');
    expect(items[12].desc).toContain("'");
    expect(items[12].desc).toContain('\\');
    expect(items[12].desc).toMatch(/\p{Extended_Pictographic}/u);
    expect(items[16].author.nickname).toContain('\u0000');
    expect(items[0].author.nickname).not.toContain('\u0000');
  });

  it('have none of the quirks when quirks is false', () => {
    for (let index = 0; index < 40; index++) {
      const item = catalogueItem(HASHTAG, index, 1, false) as any;
      expect(typeof item.createTime).toBe('number');
      expect(item.challenges).toBeDefined();
      expect(item.textExtra).toBeDefined();
      expect(JSON.stringify(item)).not.toContain('\\u0000');
    }
  });

  it('keep their ids but grow their stats with epoch', async () => {
    const sim = await simulator({ pageSize: 5 });
    const before = (await page(sim, HASHTAG, 0)).json.data.itemList as any[];
    sim.configure({ epoch: 2 });
    const after = (await page(sim, HASHTAG, 0)).json.data.itemList as any[];
    expect(after.map((item) => item.id)).toEqual(before.map((item) => item.id));
    for (let i = 0; i < before.length; i++) {
      expect(after[i].stats.playCount).toBeGreaterThan(before[i].stats.playCount);
      expect(after[i].stats.diggCount).toBeGreaterThan(before[i].stats.diggCount);
    }
  });
});

describe('detail endpoint', () => {
  it('resolves a name to a deterministic, case-insensitive id with the catalogue size as videoCount', async () => {
    const sim = await simulator({ itemsPerHashtag: 120 });
    const answer = await detail(sim, 'Christmas');
    expect(answer.status).toBe(200);
    const id = hashtagIdForName('christmas');
    expect(id).toMatch(/^\d+$/);
    expect(answer.json.data.statusCode).toBe(0);
    expect(answer.json.data.challengeInfo.challenge).toMatchObject({ id, title: 'Christmas' });
    expect(answer.json.data.challengeInfo.stats.videoCount).toBe(120);
    expect((await detail(sim, 'CHRISTMAS')).json.data.challengeInfo.challenge.id).toBe(id);
    expect(sim.stats().detailRequests).toBe(2);
    expect(sim.stats().creditsTotal).toBe(16);
  });

  it('reports the configured size of the resolved hashtag', async () => {
    const id = hashtagIdForName('winter');
    const sim = await simulator({ hashtags: { [id]: { size: 42 } } });
    expect((await detail(sim, 'winter')).json.data.challengeInfo.stats.videoCount).toBe(42);
  });

  it('accepts unicode letters and digits and rejects other names with 400', async () => {
    const sim = await simulator();
    expect((await detail(sim, 'ÉtéNoël_2024')).status).toBe(200);
    for (const name of ['has space', 'dash-tag', '#hash', 'x'.repeat(101)]) {
      expect((await detail(sim, name)).status, name).toBe(400);
    }
  });

  it('answers statusCode 10205 for names starting with "unknown", charged', async () => {
    const sim = await simulator();
    const answer = await detail(sim, 'unknownTag');
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ code: 200, msg: 'OK', data: { statusCode: 10205, status_msg: 'hashtag not found' } });
    expect(sim.stats().creditsTotal).toBe(8);
  });

  it('requires a key like the posts endpoint', async () => {
    const sim = await simulator();
    expect((await detail(sim, 'christmas', '')).status).toBe(401);
  });
});

describe('control', () => {
  it('serves stats, resets, and merges config over HTTP', async () => {
    const sim = await simulator({ pageSize: 10 });
    await page(sim, HASHTAG, 0);
    const stats = await call(`${sim.url}/__sim/stats`);
    expect(stats.json.requests).toBe(1);
    expect(stats.json.idsServed[HASHTAG]).toHaveLength(10);

    const configured = await call(`${sim.url}/__sim/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pageSize: 5, faults: [{ kind: '500', times: 1 }] }),
    });
    expect(configured.status).toBe(200);
    expect((await page(sim, HASHTAG, 0)).status).toBe(500);
    expect(itemIds(await page(sim, HASHTAG, 0))).toHaveLength(5);

    expect((await call(`${sim.url}/__sim/reset`, { method: 'POST' })).status).toBe(200);
    expect(sim.stats()).toEqual({
      requests: 0,
      byStatus: {},
      creditsTotal: 0,
      creditsByKey: {},
      pageRequests: [],
      idsServed: {},
      pagesServed: [],
      detailRequests: 0,
      rateLimited: 0,
    });
    // Reset re-arms the fault counters.
    expect((await page(sim, HASHTAG, 0)).status).toBe(500);
  });

  it('rejects an invalid config with 400 and keeps the previous one', async () => {
    const sim = await simulator({ pageSize: 5 });
    const rejected = await call(`${sim.url}/__sim/config`, { method: 'POST', body: JSON.stringify({ pageSize: -1 }) });
    expect(rejected.status).toBe(400);
    const notJson = await call(`${sim.url}/__sim/config`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect(itemIds(await page(sim, HASHTAG, 0))).toHaveLength(5);
  });

  it('resets the rate window and credits', async () => {
    const sim = await simulator({ limits: { ratePerMin: 1, dailyCredits: 8 } });
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
    expect((await page(sim, HASHTAG, 0)).status).toBe(429);
    sim.reset();
    expect((await page(sim, HASHTAG, 0)).status).toBe(200);
  });

  it('closes idempotently, with a slow request in flight', async () => {
    const sim = await startSimulator({ faults: [{ kind: 'slow', delayMs: 30_000 }] });
    const pending = fetch(`${sim.baseUrl}/tiktok/hashtags?id=${HASHTAG}`, { headers: { 'x-api-key': KEY } }).catch(
      (error: unknown) => error,
    );
    await until(() => sim.stats().pageRequests.length === 1);
    const startedAt = Date.now();
    await Promise.all([sim.close(), sim.close()]);
    await sim.close();
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
    expect(sim.stats().creditsTotal).toBe(0);
  });

  it('rejects unknown option names', async () => {
    await expect(startSimulator({ pageSize: 0 })).rejects.toThrow();
    await expect(startSimulator({ itemsPerHashtg: 5 } as SimOptions)).rejects.toThrow();
  });
});
