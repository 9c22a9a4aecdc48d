import { describe, expect, it } from 'vitest';
import {
  BadKeyError,
  InvalidInputError,
  RateLimitedError,
  TransientError,
  UpstreamError,
} from '../src/crawlora/errors.js';
import { interpretHashtagPage, parseRetryAfterMs, type WireResponse } from '../src/crawlora/interpret.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const wire = (status: number, body: unknown, retryAfter: string | null = null): WireResponse => ({
  status,
  retryAfter,
  bytes: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  nowMs: NOW,
});
const page = (data: Record<string, unknown>) => wire(200, { code: 200, msg: 'OK', data: { statusCode: 0, ...data } });

function thrown(response: WireResponse): unknown {
  try {
    interpretHashtagPage(response);
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('interpretHashtagPage', () => {
  it('returns items, hasMore and the next cursor of a good page', () => {
    const response = page({ cursor: '30', hasMore: true, itemList: [{ id: '7300000000000000001' }] });
    const result = interpretHashtagPage(response);
    expect(result).toEqual({
      items: [{ id: '7300000000000000001' }],
      invalidItems: 0,
      hasMore: true,
      nextCursor: '30',
      bytes: response.bytes,
      logId: null,
      fatalItemIds: null,
    });
  });

  it('takes the log id from data.extra.logid, else from data.log_pb.impr_id', () => {
    expect(interpretHashtagPage(page({ extra: { logid: '20241211093132324B6C98847222021454' }, log_pb: { impr_id: 'other' } })).logId).toBe(
      '20241211093132324B6C98847222021454',
    );
    expect(interpretHashtagPage(page({ extra: { fatal_item_ids: [] }, log_pb: { impr_id: '2024121109313232' } })).logId).toBe('2024121109313232');
    expect(interpretHashtagPage(page({ extra: 'junk', log_pb: 7 })).logId).toBeNull();
  });

  it('keeps fatal item ids exactly as served, 19-digit numbers included', () => {
    expect(interpretHashtagPage(page({ extra: { fatal_item_ids: [] } })).fatalItemIds).toEqual([]);
    expect(interpretHashtagPage(page({ extra: { fatal_item_ids: ['7446417357328764182', 12] } })).fatalItemIds).toEqual(['7446417357328764182', '12']);
    const body = '{"code":200,"data":{"statusCode":0,"extra":{"fatal_item_ids":["7300000000000000001", 7446417357328764182]}}}';
    expect(interpretHashtagPage(wire(200, body)).fatalItemIds).toEqual(['7300000000000000001', '7446417357328764182']);
  });

  it('treats an absent or null itemList as an empty page, and a numeric cursor as its string', () => {
    expect(interpretHashtagPage(page({ cursor: 60, hasMore: false }))).toMatchObject({ items: [], hasMore: false, nextCursor: '60' });
    expect(interpretHashtagPage(page({ itemList: null }))).toMatchObject({ items: [], hasMore: false, nextCursor: null });
  });

  it('keeps 19-digit ids as exact strings and counts items without a string id as invalid', () => {
    const body = '{"code":200,"data":{"statusCode":0,"itemList":[{"id":"7446417357328764182"},{"id":7446417357328764182},{"x":1},"junk"]}}';
    const result = interpretHashtagPage(wire(200, body));
    expect(result.items.map((item) => item.id)).toEqual(['7446417357328764182']);
    expect(result.invalidItems).toBe(3);
  });

  it('maps 400 to InvalidInputError (never retried) and other 4xx too', () => {
    expect(thrown(wire(400, { code: 400, msg: 'invalid id' }))).toBeInstanceOf(InvalidInputError);
    expect((thrown(wire(400, { code: 400, msg: 'invalid id' })) as InvalidInputError).retry).toBe('never');
    expect(thrown(wire(404, 'not found'))).toBeInstanceOf(InvalidInputError);
  });

  it('refuses a redirect as a wrong base URL instead of following it with the key', () => {
    const err = thrown(wire(301, '')) as InvalidInputError;
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/HTTP 301.*CRAWLORA_BASE_URL/);
  });

  it('maps 401 and 403 to BadKeyError that disables the key', () => {
    for (const status of [401, 403]) {
      const err = thrown(wire(status, { code: status, msg: 'bad key' })) as BadKeyError;
      expect(err).toBeInstanceOf(BadKeyError);
      expect(err.retry).toBe('disable-key');
      expect(err.status).toBe(status);
    }
  });

  it("maps a 403 whose body is not Crawlora's JSON (a WAF or CDN page) to a TransientError, never disabling the key", () => {
    for (const body of ['<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>', '', '[1]', '"blocked"']) {
      const err = thrown(wire(403, body)) as TransientError;
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ retry: 'backoff', charged: false });
      expect(err.message).toMatch(/HTTP 403 whose body is not Crawlora's JSON.*WAF or CDN/);
    }
    expect(thrown(wire(403, { msg: 'forbidden' }))).toBeInstanceOf(BadKeyError);
    expect(thrown(wire(401, '<html>Unauthorized</html>'))).toBeInstanceOf(BadKeyError);
  });

  it('maps 429 to RateLimitedError with the Retry-After wait, telling a daily cap from a rate limit', () => {
    const rate = thrown(wire(429, { code: 429, msg: 'rate limit exceeded' }, '7')) as RateLimitedError;
    expect(rate).toBeInstanceOf(RateLimitedError);
    expect(rate).toMatchObject({ retryAfterMs: 7_000, dailyCapReached: false, retry: 'after-wait', charged: false });
    const daily = thrown(wire(429, { code: 429, msg: 'daily credit limit reached' })) as RateLimitedError;
    expect(daily).toMatchObject({ retryAfterMs: null, dailyCapReached: true });
  });

  it('maps 5xx to an uncharged TransientError', () => {
    const err = thrown(wire(503, 'upstream down')) as TransientError;
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ retry: 'backoff', charged: false });
  });

  it('maps an empty or truncated 2xx body to a TransientError that was charged', () => {
    for (const body of ['', '   ', '{"code":200,"data":{"itemList":[{"id":"1"']) {
      const err = thrown(wire(200, body)) as TransientError;
      expect(err).toBeInstanceOf(TransientError);
      expect(err.charged).toBe(true);
    }
  });

  it('maps a 2xx reporting a failure (code, statusCode or status_code) to a charged UpstreamError', () => {
    const cases = [
      wire(200, { code: 200, data: { statusCode: 10201, status_msg: 'server is busy' } }),
      wire(200, { code: 200, data: { status_code: 5, status_msg: 'x' } }),
      wire(200, { code: 500, msg: 'oops', data: { statusCode: 0 } }),
      wire(200, { code: 200 }),
    ];
    for (const response of cases) {
      const err = thrown(response) as UpstreamError;
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err).toMatchObject({ retry: 'bounded', charged: true });
    }
    expect((thrown(cases[0]!) as UpstreamError).message).toContain('server is busy');
  });

  it('maps a 2xx whose fields have the wrong types to an UpstreamError', () => {
    expect(thrown(wire(200, { code: 200, data: { statusCode: 0, hasMore: 'yes' } }))).toBeInstanceOf(UpstreamError);
  });
});

describe('parseRetryAfterMs', () => {
  it('reads seconds and HTTP dates, and ignores what it cannot read', () => {
    expect(parseRetryAfterMs('3', NOW)).toBe(3_000);
    expect(parseRetryAfterMs(new Date(NOW + 10_000).toUTCString(), NOW)).toBe(10_000);
    expect(parseRetryAfterMs(null, NOW)).toBeNull();
    expect(parseRetryAfterMs('soon', NOW)).toBeNull();
  });
});
