import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, expectOneLineError } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { startReceiver, verified, type WebhookReceiver } from './support/webhook-receiver.js';

const t = useCrawlEnvironment({ app: false });
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

const cli = (args: string[], extra: Record<string, string> = {}) => runCli(['webhook', ...args], t.cliEnv(extra));

describe('hashtag-archiver webhook', () => {
  it('add prints the whsec_ secret once on a line of its own; list never shows it; test sends a signed ping; remove removes', async () => {
    const added = await cli(['add', receiver.url, '--events', 'run.completed,run.failed', '--hashtag', '3242', '--hashtag', '4242,5252']);
    expect(added.code).toBe(0);
    const lines = added.stdout.trim().split('\n');
    const secret = lines.find((line) => line.startsWith('whsec_'))!;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(lines[0]).toMatch(/^webhook (\d+) added: http:\/\/127\.0\.0\.1:\d+\/hooks, events run\.completed, run\.failed; hashtags 3242, 4242, 5252$/);
    const id = /^webhook (\d+)/.exec(lines[0]!)![1]!;

    const listed = await cli(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(receiver.url);
    expect(listed.stdout).toContain('run.completed');
    expect(listed.stdout).toContain('active');
    expect(listed.stdout + listed.stderr).not.toContain(secret.slice('whsec_'.length));

    const tested = await cli(['test', id]);
    expect(tested.stderr).toBe('');
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(new RegExp(`^webhook ${id}: ping msg_[0-9a-f]{32} answered HTTP 204 in \\d+ ms\\n$`));
    const [ping] = await receiver.waitFor(1);
    expect(verified(secret, ping!)).toMatchObject({ type: 'ping', data: { webhookId: Number(id) } });
    expect((await cli(['list'])).stdout).toMatch(/ok 204/);

    expect(await cli(['remove', id])).toMatchObject({ code: 0, stdout: `webhook ${id} removed\n` });
    expect((await cli(['list'])).stdout).toMatch(/^no webhooks/);
    expectOneLineError(await cli(['remove', id]), new RegExp(`^error: webhook ${id} does not exist`));
  });

  it('refuses a URL that is not http(s), and a cloud-metadata host unless HA_WEBHOOK_ALLOW_PRIVATE=true, in one line', async () => {
    expectOneLineError(await cli(['add', 'ftp://127.0.0.1/x']), /^error: webhook url 'ftp:\/\/127\.0\.0\.1\/x': only http:\/\/ and https:\/\/ endpoints are allowed/, 2);
    expectOneLineError(
      await cli(['add', 'http://169.254.169.254/latest/meta-data']),
      /^error: webhook endpoint 169\.254\.169\.254 is a link-local or cloud-metadata address, refused against SSRF; set HA_WEBHOOK_ALLOW_PRIVATE=true to allow it$/,
      2,
    );
    expect((await cli(['add', 'http://169.254.169.254/latest'], { HA_WEBHOOK_ALLOW_PRIVATE: 'true' })).code).toBe(0);
  });

  it('refuses an unknown event and a bad HA_WEBHOOK_ALLOW_PRIVATE in one line', async () => {
    expectOneLineError(await cli(['add', receiver.url, '--events', 'run.completed,run.exploded']), /^error: --events: 'run\.exploded' is not an event; use a comma-separated list of run\.completed, run\.failed/, 2);
    expectOneLineError(await cli(['add', receiver.url], { HA_WEBHOOK_ALLOW_PRIVATE: 'yes' }), /^error: HA_WEBHOOK_ALLOW_PRIVATE: 'yes' is not true or false$/, 2);
  });
});
