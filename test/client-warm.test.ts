import { describe, expect, it } from 'vitest';
import { createCrawloraClient } from '../src/crawlora/client.js';
import { DEFAULT_MAX_BODY_BYTES } from '../src/config.js';
import { startSimulator } from '../src/sim/server.js';

describe("a worker's HTTP client is warmed before its first job", () => {
  it('warming sends nothing to Crawlora (nothing billed), and the first page after it is fetched as usual', async () => {
    const sim = await startSimulator({ itemsPerHashtag: 60 });
    try {
      const client = createCrawloraClient({ baseUrl: sim.baseUrl, timeoutMs: 20_000, maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
      await client.warm();
      await client.warm();
      expect(sim.stats().requests).toBe(0);
      expect((await client.fetchHashtagPage({ apiKey: 'warm-key', hashtagId: '7101', cursor: '0' })).items).toHaveLength(30);
      expect(sim.stats()).toMatchObject({ requests: 1, creditsTotal: 8 });
    } finally {
      await sim.close();
    }
  });
});
