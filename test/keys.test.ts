import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { keyFingerprint } from '../src/crawlora/api-key.js';
import { createRateLimiter } from '../src/queue/rate-limiter.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment, usePerTestApps } from './support/environment.js';
import { waitForRuns } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300 }, app: false });
const makeApp = usePerTestApps(t, () => {
  t.sim.reset();
  t.sim.configure({ faults: [], forbiddenKeys: [], latencyMs: 0 });
});

function startApp(overrides: Partial<Config> = {}): App {
  const app = makeApp(overrides);
  app.startWorker();
  return app;
}

async function crawl(app: App, hashtagIds: string[], maxPages: number | null = null) {
  const runs = await startCrawl(app.database.db, app.queue, { hashtagIds, maxPages, maxItems: null });
  return waitForRuns(app.database.db, runs.map((run) => run.id));
}

/** `key:status` of every page request, keys cut to the simulator's 8 characters. */
const answers = () => t.sim.stats().pageRequests.map((request) => `${request.key}:${request.status}`);

describe('API keys refused by Crawlora', () => {
  it("a 403 with a WAF's HTML page is a fault on the way: retried, the key stays enabled, the run completes", async () => {
    t.sim.configure({ faults: [{ kind: '403html', times: 3 }] });
    const app = startApp({ apiKeys: ['waf-key'], attempts: 5 });
    const [run] = await crawl(app, ['91'], 4);
    expect(run).toMatchObject({ status: 'completed', pages: 4 });
    expect(answers().filter((answer) => answer.endsWith(':403'))).toHaveLength(3);
    expect(await app.keyStates.list([keyFingerprint('waf-key')])).toEqual([{ fingerprint: keyFingerprint('waf-key'), disabled: false, nextProbeAt: null, lastRefusal: null }]);
  });

  it('a disabled key is probed after its cool-down and comes back once Crawlora takes it again', async () => {
    t.sim.configure({ forbiddenKeys: ['comeback-key'] });
    const app = startApp({ apiKeys: ['comeback-key', 'steady-key'], keyProbeEveryMs: 60_000 });
    // Three runs at once, so each key gets its turn.
    expect((await crawl(app, ['921', '922', '923'], 2)).map((run) => run.status)).toEqual(['completed', 'completed', 'completed']);
    const fingerprint = keyFingerprint('comeback-key');
    const [disabled] = await app.keyStates.list([fingerprint]);
    expect(disabled).toMatchObject({ disabled: true, lastRefusal: { status: 403, message: expect.stringMatching(/refused the API key \(403: forbidden\)/) } });

    t.sim.configure({ forbiddenKeys: [] });
    // As if the cool-down had passed.
    await app.keyStates.releaseProbe(fingerprint);
    expect((await crawl(app, ['93'], 6)).map((run) => run.status)).toEqual(['completed']);
    expect(await app.keyStates.list([fingerprint])).toMatchObject([{ disabled: false, nextProbeAt: null }]);
    expect(answers().filter((answer) => answer === 'comeback:200').length).toBeGreaterThanOrEqual(1);
  });

  it('a probe Crawlora refuses again leaves the key disabled until its next probe', async () => {
    t.sim.configure({ forbiddenKeys: ['revoked-key'] });
    const app = startApp({ apiKeys: ['revoked-key', 'steady-key'], keyProbeEveryMs: 60_000 });
    await app.keyStates.disable(keyFingerprint('revoked-key'), { status: 403, message: 'Crawlora refused the API key (403: forbidden)' });
    // As if the cool-down had passed.
    await app.keyStates.releaseProbe(keyFingerprint('revoked-key'));
    await crawl(app, ['95'], 3);
    expect(answers().filter((answer) => answer.startsWith('revoked-'))).toEqual(['revoked-:403']);
    const [state] = await app.keyStates.list([keyFingerprint('revoked-key')]);
    expect(state).toMatchObject({ disabled: true });
    // The next probe is one cool-down after the refused one.
    expect(state!.nextProbeAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(answers().filter((answer) => answer === 'steady-k:200')).toHaveLength(3);
  });

  it('`keys` lists fingerprints, state, rate and last refusal, never a key; `keys enable` takes a refused key back', async () => {
    t.sim.configure({ forbiddenKeys: ['listed-secret-key'] });
    const app = startApp({ apiKeys: ['listed-secret-key', 'other-secret-key'] });
    await app.keyStates.disable(keyFingerprint('listed-secret-key'), { status: 403, message: 'Crawlora refused the API key (403: forbidden)' });
    // A 429 to a request sent at the starter plan's 15/min cuts that key's effective rate.
    const limiter = createRateLimiter(app.redis, app.config.queuePrefix, () => ({ ratePerMin: 15, windowMs: 60_000 }));
    const admission = await limiter.tryAcquire(keyFingerprint('other-secret-key'));
    await limiter.pause(keyFingerprint('other-secret-key'), 1, admission.admitted ? admission.slot : undefined);
    const env = t.cliEnv({ HA_QUEUE_PREFIX: app.config.queuePrefix, CRAWLORA_API_KEY: 'listed-secret-key,other-secret-key', CRAWLORA_PLAN: 'starter' });
    const listed = await runCli(['keys'], env);
    expect(listed.code).toBe(0);
    const refusedLine = listed.stdout.split('\n').find((line) => line.includes(keyFingerprint('listed-secret-key')));
    expect(refusedLine).toMatch(/disabled; next probe \d{4}-.*15\/min.*refused the API key \(403: forbidden\)/);
    expect(listed.stdout.split('\n').find((line) => line.includes(keyFingerprint('other-secret-key')))).toMatch(/active.* \d{1,2}\/min \(plan 15, cut after 429s\)/);
    expect(listed.stdout + listed.stderr).not.toContain('secret-key');

    const enabled = await runCli(['keys', 'enable', keyFingerprint('listed-secret-key')], env);
    expect(enabled).toMatchObject({ code: 0, stdout: `${keyFingerprint('listed-secret-key')} enabled: workers use it again from their next page\n` });
    expect(await app.keyStates.list([keyFingerprint('listed-secret-key')])).toMatchObject([{ disabled: false }]);
    expectOneLineError(await runCli(['keys', 'enable', keyFingerprint('listed-secret-key')], env), /is not disabled; `hashtag-archiver keys` lists/);
    const pasted = await runCli(['keys', 'enable', 'listed-secret-key'], env);
    expectOneLineError(pasted, /give a key's fingerprint .*never the key itself/);
    expect(pasted.stderr).not.toContain('secret-key');
  });
});
