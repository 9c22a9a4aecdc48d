import { describe, expect, it } from 'vitest';
import { createCrawloraClient } from '../src/crawlora/client.js';
import { TransientError } from '../src/crawlora/errors.js';
import { DEFAULT_MAX_BODY_BYTES, loadConfig } from '../src/config.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds, crawlAndWait, requestsFor } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 120 } });

describe('response bodies have a size limit (CRAWLORA_MAX_BODY_BYTES)', () => {
  it('a 50 MB answer and an endless one are cut off at the limit, as billed transient failures naming it', async () => {
    const client = createCrawloraClient({ baseUrl: t.sim.baseUrl, timeoutMs: 20_000, maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
    for (const kind of ['huge', 'endless'] as const) {
      t.sim.configure({ faults: [{ kind, hashtagId: '6101', times: 1 }] });
      const failure = await client.fetchHashtagPage({ apiKey: 'cap-key', hashtagId: '6101', cursor: '0' }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(TransientError);
      expect(failure).toMatchObject({ charged: true, message: expect.stringMatching(/answered more than 4194304 bytes \(CRAWLORA_MAX_BODY_BYTES\)/) });
    }
    t.sim.configure({ faults: [] });
    // The limit leaves room for a real page.
    expect((await client.fetchHashtagPage({ apiKey: 'cap-key', hashtagId: '6101', cursor: '0' })).items).toHaveLength(30);
  });

  it('a crawl meeting a 50 MB and an endless answer retries those pages and archives everything', async () => {
    t.sim.reset();
    t.sim.configure({
      faults: [
        { kind: 'huge', hashtagId: '6201', cursor: 30, times: 1 },
        { kind: 'endless', hashtagId: '6201', cursor: 60, times: 1 },
      ],
    });
    const [run] = await crawlAndWait(t.app, ['6201']);
    expect(run).toMatchObject({ status: 'completed', pages: 4 });
    expect(await archivedIds(t.app.database.db, '6201')).toEqual(catalogueIds('6201', 120).sort());
    expect(requestsFor(t.sim, '6201').map((request) => request.cursor)).toEqual([0, 30, 30, 60, 60, 90]);
    // Both cut answers were 2xx, so billed, and recorded.
    expect(run!.credits).toBe(t.sim.stats().creditsTotal);
  });

  it('CRAWLORA_MAX_BODY_BYTES is read once and refused when not a positive number', () => {
    expect(loadConfig({ CRAWLORA_MAX_BODY_BYTES: '1000000' }).maxBodyBytes).toBe(1_000_000);
    expect(loadConfig({}).maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(() => loadConfig({ CRAWLORA_MAX_BODY_BYTES: '4MB' })).toThrow(/^CRAWLORA_MAX_BODY_BYTES: '4MB' is not a whole number/);
  });
});
