import { z } from 'zod';
import { InvalidInputError, UpstreamError } from './errors.js';
import { HASHTAG_ID_PATTERN } from './hashtag-id.js';
import { billedJson, truncate, type WireResponse } from './interpret.js';

/** What the detail endpoint says about one hashtag name. */
export interface HashtagDetail {
  id: string;
  title: string | null;
  /** null when the answer carries no usable count: the cost of an archive is then unknown. */
  videoCount: number | null;
  viewCount: number | null;
  /** The whole answer, kept because only the id and title are documented as reliable. */
  payload: unknown;
}

/**
 * The name does not exist on TikTok: a billed 2xx, and asking again gives the same answer.
 * An InvalidInputError because the input was wrong, not the request.
 */
export class UnknownHashtagError extends InvalidInputError {
  constructor(
    readonly hashtagName: string,
    readonly upstreamStatusCode: number | null,
    statusMsg: string | null,
  ) {
    const why = upstreamStatusCode === null ? 'no challenge in the answer' : `Crawlora status ${upstreamStatusCode}${statusMsg ? `: ${truncate(statusMsg)}` : ''}`;
    super(`hashtag '${hashtagName}' does not exist on TikTok (${why}); check its spelling`, { charged: true });
  }
}

/**
 * TikTok's web shape. Only the challenge's id and title are documented as reliable, so counts are
 * read leniently (a malformed count is treated as absent rather than failing a billed answer).
 */
const detailBodySchema = z.looseObject({
  code: z.number().optional(),
  msg: z.string().optional(),
  data: z
    .looseObject({
      statusCode: z.number().nullish(),
      status_code: z.number().nullish(),
      status_msg: z.string().nullish(),
      challengeInfo: z
        .looseObject({
          challenge: z.looseObject({ id: z.unknown().optional(), title: z.unknown().optional() }).nullish(),
          stats: z.looseObject({ videoCount: z.unknown().optional(), viewCount: z.unknown().optional() }).nullish(),
          statsV2: z.looseObject({ videoCount: z.unknown().optional(), viewCount: z.unknown().optional() }).nullish(),
        })
        .nullish(),
    })
    .nullish(),
});

/** Turns one exchange with the detail endpoint into a hashtag or a typed error; pure, like interpretHashtagPage. */
export function interpretHashtagDetail(name: string, response: WireResponse): HashtagDetail {
  const json = billedJson(response);
  const parsed = detailBodySchema.safeParse(json);
  if (!parsed.success) {
    throw new UpstreamError(`Crawlora's hashtag detail did not match the documented shape: ${parsed.error.issues[0]?.message ?? 'unknown'}`, null, {
      cause: parsed.error,
    });
  }
  const { code, msg, data } = parsed.data;
  if (code !== undefined && code !== 200) {
    throw new UpstreamError(`Crawlora reported a failure in a 2xx answer (code ${code}: ${truncate(msg ?? 'no message')})`, null);
  }
  const statusCode = data?.statusCode ?? data?.status_code ?? 0;
  if (statusCode !== 0) throw new UnknownHashtagError(name, statusCode, data?.status_msg ?? null);
  const info = data?.challengeInfo;
  const id = info?.challenge?.id;
  if (id === undefined || id === null || id === '') throw new UnknownHashtagError(name, null, null);
  // A numeric id has lost precision in JSON.parse already (they exceed 2^53), so only a string is trusted.
  if (typeof id !== 'string' || !HASHTAG_ID_PATTERN.test(id)) {
    throw new UpstreamError(`Crawlora's hashtag detail for '${name}' carries a malformed id (${truncate(JSON.stringify(id))})`, null);
  }
  const title = info?.challenge?.title;
  return {
    id,
    title: typeof title === 'string' && title !== '' ? title : null,
    // TikTok's statsV2 holds the counts as strings and is the more accurate of the two when present.
    videoCount: count(info?.statsV2?.videoCount) ?? count(info?.stats?.videoCount),
    viewCount: count(info?.statsV2?.viewCount) ?? count(info?.stats?.viewCount),
    payload: json,
  };
}

function count(value: unknown): number | null {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : null;
}
