import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CrawlRun } from '../src/db/schema.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueIds } from '../src/sim/server.js';
import { crawlAndWait } from './support/runs.js';
import { startTestServer, waitForQueueIdle, waitForStatus, type TestServer } from './support/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});

afterAll(async () => {
  await t?.close();
});

beforeEach(() => t.sim.reset());

const db = () => t.app.database.db;

const crawl = (hashtagIds: string[], maxPages: number | null = null): Promise<CrawlRun[]> => crawlAndWait(t.app, hashtagIds, { maxPages });

async function json(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await t.request(path, init);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: response.status, body: await response.json() };
}

const post = (path: string) => json(path, { method: 'POST' });

describe('JSON API on a real server', () => {
  it('GET /api/runs lists the latest runs first with their pace, filtered by status and capped by limit', async () => {
    const finished = await crawl(['7100', '7101'], 2);
    const { status, body } = await json('/api/runs');
    expect(status).toBe(200);
    const ids = body.runs.map((run: { id: number }) => run.id);
    expect(ids.slice(0, 2)).toEqual(finished.map((run) => run.id).reverse());
    expect(body.runs[0]).toMatchObject({ hashtagId: '7101', status: 'completed', pages: 2, items: 60, credits: 16, etaSeconds: null });
    expect(body.runs[0].requestsPerMin).toBeGreaterThan(0);

    expect((await json('/api/runs?limit=1')).body.runs).toHaveLength(1);
    expect((await json('/api/runs?status=failed')).body.runs).toEqual([]);
    const completed = (await json('/api/runs?status=completed')).body.runs;
    expect(completed.length).toBeGreaterThanOrEqual(2);
    expect(completed.every((run: { status: string }) => run.status === 'completed')).toBe(true);
  });

  it('GET /api/runs/:id returns the run, and 404 with a JSON error for an unknown one', async () => {
    const [run] = await crawl(['7200'], 1);
    expect((await json(`/api/runs/${run!.id}`)).body.run).toMatchObject({ id: run!.id, hashtagId: '7200', status: 'completed' });
    const missing = await json('/api/runs/999999');
    expect(missing).toEqual({ status: 404, body: { error: 'run 999999 does not exist' } });
  });

  it('pausing through the API pauses the run in Postgres; resume and cancel follow the CLI rules', async () => {
    t.sim.configure({ latencyMs: 150 });
    const [started] = await startCrawl(db(), t.app.queue, { hashtagIds: ['7300'], maxPages: null, maxItems: null });
    await waitForStatus(t.app, started!.id, 'running');

    const paused = await post(`/api/runs/${started!.id}/pause`);
    expect(paused).toMatchObject({ status: 200, body: { run: { id: started!.id, status: 'paused', stopReason: 'user' } } });
    expect((await waitForStatus(t.app, started!.id, 'paused')).stopReason).toBe('user');

    const again = await post(`/api/runs/${started!.id}/pause`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/run \d+ is paused .*only queued or running runs can be paused/);

    expect((await post(`/api/runs/${started!.id}/resume`)).body.run.status).toMatch(/queued|running/);
    expect((await post(`/api/runs/${started!.id}/cancel`)).status).toBe(200);
    await waitForStatus(t.app, started!.id, 'cancelled');

    expect((await post('/api/runs/999999/pause')).status).toBe(404);
  });

  it('GET /api/hashtags/:id/videos pages through every archived video by keyset, without raw', async () => {
    await crawl(['7400']);
    const seen: string[] = [];
    let after: string | null = null;
    const sizes: number[] = [];
    do {
      const { body }: { body: { items: Array<Record<string, unknown>>; nextAfter: string | null } } = await json(
        `/api/hashtags/7400/videos?limit=40${after === null ? '' : `&after=${after}`}`,
      );
      sizes.push(body.items.length);
      seen.push(...body.items.map((item) => String(item.id)));
      expect(body.items.every((item) => !('raw' in item) && typeof item.playCount === 'number')).toBe(true);
      after = body.nextAfter;
    } while (after !== null);
    expect(sizes).toEqual([40, 40, 10]);
    expect(seen).toEqual(catalogueIds('7400', 90).sort());
  });

  it('GET /api/usage reports what the ledger charged, with a projection of the month', async () => {
    const [{ credits }] = (await db().execute<{ credits: number }>(sql`select coalesce(sum(credits), 0)::int as credits from credit_ledger`)).rows as [
      { credits: number },
    ];
    const { body } = await json('/api/usage');
    expect(body).toMatchObject({ plan: 'enterprise', todayCredits: credits, monthCredits: credits, overageUsd: 0 });
    expect(body.projected.monthCredits).toBeGreaterThanOrEqual(credits);
  });

  it('GET /api/activity counts committed pages and 429s per minute, from every worker, in Redis', async () => {
    t.sim.configure({ faults: [{ kind: '429', hashtagId: '7500', times: 2 }] });
    await crawl(['7500']);
    await waitForQueueIdle(t.app.queue);
    const [{ pages }] = (await db().execute<{ pages: number }>(sql`select count(*)::int as pages from crawl_pages`)).rows as [{ pages: number }];
    const { body } = await json('/api/activity?minutes=60');
    const total = (series: number[]) => series.reduce((sum, value) => sum + value, 0);
    expect(body.minutes).toHaveLength(60);
    expect(total(body.pages)).toBe(pages);
    expect(total(body.responses['rate-limited'])).toBe(2);
  });

  it('answers bad parameters with 400 and a JSON error naming the parameter', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['GET', '/api/runs?limit=0', /^limit: must be a whole number from 1 to 500$/],
      ['GET', '/api/runs?limit=501', /^limit:/],
      ['GET', '/api/runs?limit=ten', /^limit:/],
      ['GET', '/api/runs?limit=1&limit=2', /^limit:/],
      ['GET', '/api/runs?status=done', /^status: must be one of queued, running/],
      ['GET', '/api/runs/abc', /^id:/],
      ['POST', '/api/runs/0/pause', /^id:/],
      ['GET', '/api/hashtags/christmas/videos', /^#christmas: not resolved yet, so not in the archive/],
      ['GET', '/api/hashtags/bad%20name!/videos', /^hashtag 'bad name!' is neither a numeric id nor a name/],
      ['GET', '/api/hashtags/1/videos?limit=1000', /^limit:/],
      ['GET', '/api/hashtags/1/videos?after=', /^after:/],
      ['GET', '/api/activity?minutes=121', /^minutes:/],
    ];
    for (const [method, path, error] of cases) {
      const { status, body } = await json(path, { method });
      expect({ path, status }).toEqual({ path, status: 400 });
      expect(body.error).toMatch(error);
    }
  });
});

describe('pages on the same server', () => {
  it('the runs page lists runs with their buttons, and its panel refreshes as a fragment', async () => {
    const [run] = await crawl(['7600'], 1);
    const response = await t.request('/runs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const page = await response.text();
    expect(page).toContain(`<tr data-run-id="${run!.id}" data-status="completed">`);
    expect(page).toContain('<script src="/assets/uplot/uPlot.iife.min.js" defer></script>');
    expect(page).toMatch(/Credits · enterprise plan/);
    const panel = await (await t.request('/runs/panel')).text();
    expect(panel).toContain(`data-run-id="${run!.id}"`);
    expect(panel).not.toContain('<html');
    expect((await t.request('/assets/uplot/uPlot.iife.min.js')).status).toBe(200);
  });

  it('the usage panel follows a plan changed while the server runs, as /api/usage does', async () => {
    await t.app.settings.set({ plan: 'starter' });
    try {
      const panel = await (await t.request('/runs/panel')).text();
      expect(panel).toMatch(/Credits · starter plan/);
      expect(panel).toMatch(/of 20,000 included credits/);
      expect((await json('/api/usage')).body).toMatchObject({ plan: 'starter', includedCredits: 20_000, dailyCredits: 5_000 });
    } finally {
      await t.app.settings.reset();
    }
  });

  it('serves Bull Board over the pages queue at /queues, job schedulers included', async () => {
    expect((await t.request('/queues')).status).toBe(200);
    const { body } = await json('/queues/api/queues');
    expect(body.queues.map((queue: { name: string }) => queue.name)).toEqual(['pages']);
    expect((await t.request('/queues/api/job-schedulers')).status).toBe(200);
  });

  it('GET /api/hashtags/:id/coverage: what the archive holds against the reported count; 400 for a hashtag never crawled', async () => {
    t.sim.configure({ hashtags: { '7650': { size: 90, fatalEvery: 9 } } });
    await crawl(['7650']);
    const { status, body } = await json('/api/hashtags/7650/coverage');
    expect(status).toBe(200);
    expect(body).toEqual({
      hashtagId: '7650',
      coverage: { reported: null, archived: 80, ratio: null, estimatedTotal: null, fatalItems: 10, missing: 0, creditsPerNewVideo: null, explanation: null },
    });
    // The dashboard's runs panel shows it beside the hashtag's latest run.
    const panel = await (await t.request('/runs/panel')).text();
    expect(panel).toContain('<td class="coverage" title="">80 / ?</td>');
    const unknown = await json('/api/hashtags/7699/coverage');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/hashtag 7699 is not in the archive/);
  });
});
