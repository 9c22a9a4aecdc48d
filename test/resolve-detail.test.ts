import { describe, expect, it } from 'vitest';
import { interpretHashtagDetail, UnknownHashtagError } from '../src/crawlora/detail.js';
import { BadKeyError, InvalidInputError, RateLimitedError, TransientError, UpstreamError } from '../src/crawlora/errors.js';
import type { WireResponse } from '../src/crawlora/interpret.js';

const wire = (status: number, body: unknown, retryAfter: string | null = null): WireResponse => ({
  status,
  retryAfter,
  bytes: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  nowMs: 0,
});
const detail = (challengeInfo: unknown, extra: Record<string, unknown> = {}) =>
  wire(200, { code: 200, msg: 'OK', data: { challengeInfo, statusCode: 0, ...extra } });

function thrown(response: WireResponse): unknown {
  try {
    interpretHashtagDetail('christmas', response);
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('interpretHashtagDetail', () => {
  it('returns the id, title, counts and the whole payload', () => {
    const response = detail({ challenge: { id: '7283746192837461928', title: 'christmas', desc: 'd' }, stats: { videoCount: 95, viewCount: 400_615 } });
    const result = interpretHashtagDetail('christmas', response);
    expect(result).toMatchObject({ id: '7283746192837461928', title: 'christmas', videoCount: 95, viewCount: 400_615 });
    expect(result.payload).toEqual(JSON.parse(response.bytes.toString()));
  });

  it("prefers TikTok's statsV2 string counts over stats", () => {
    const result = interpretHashtagDetail('christmas', detail({ challenge: { id: '1' }, stats: { videoCount: 0, viewCount: 0 }, statsV2: { videoCount: '6300000', viewCount: '9007199254740990' } }));
    expect(result).toMatchObject({ title: null, videoCount: 6_300_000, viewCount: 9_007_199_254_740_990 });
  });

  it('treats missing or malformed counts as unknown rather than failing a billed answer', () => {
    expect(interpretHashtagDetail('christmas', detail({ challenge: { id: '1', title: 'x' } }))).toMatchObject({ videoCount: null, viewCount: null });
    expect(interpretHashtagDetail('christmas', detail({ challenge: { id: '1' }, stats: { videoCount: -3, viewCount: 'many' } }))).toMatchObject({
      videoCount: null,
      viewCount: null,
    });
  });

  it('reports a non-zero status code as an unknown hashtag, naming it, billed and never retried', () => {
    const err = thrown(wire(200, { code: 200, msg: 'OK', data: { statusCode: 10205, status_msg: 'hashtag not found' } }));
    expect(err).toBeInstanceOf(UnknownHashtagError);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ charged: true, retry: 'never', upstreamStatusCode: 10205, hashtagName: 'christmas' });
    expect((err as Error).message).toBe("hashtag 'christmas' does not exist on TikTok (Crawlora status 10205: hashtag not found); check its spelling");
  });

  it('reports an answer without a challenge as an unknown hashtag', () => {
    expect(thrown(detail({}))).toBeInstanceOf(UnknownHashtagError);
    expect(thrown(wire(200, { code: 200, msg: 'OK', data: { statusCode: 0 } }))).toBeInstanceOf(UnknownHashtagError);
    expect((thrown(detail({ challenge: { title: 'x' } })) as Error).message).toMatch(/no challenge in the answer/);
  });

  it('refuses a numeric id, which JSON.parse may already have rounded', () => {
    const err = thrown(detail({ challenge: { id: 7283746192837461928 } }));
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/malformed id/);
  });

  it('maps HTTP statuses like the posts endpoint does', () => {
    expect(thrown(wire(401, { code: 401, msg: 'invalid api key' }))).toBeInstanceOf(BadKeyError);
    expect(thrown(wire(429, { code: 429, msg: 'rate limit exceeded' }, '2'))).toMatchObject({ retryAfterMs: 2_000, dailyCapReached: false });
    expect(thrown(wire(429, { code: 429, msg: 'rate limit exceeded' }))).toBeInstanceOf(RateLimitedError);
    expect(thrown(wire(500, { code: 500, msg: 'internal server error' }))).toBeInstanceOf(TransientError);
    expect(thrown(wire(400, { code: 400, msg: 'invalid name' }))).toBeInstanceOf(InvalidInputError);
    expect(thrown(wire(200, '{"code":200,"da'))).toMatchObject({ charged: true, retry: 'backoff' });
  });
});
