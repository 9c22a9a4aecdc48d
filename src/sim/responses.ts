/**
 * Response bodies in Crawlora's envelope. Pages are assembled as text because their items
 * already are JSON text (see catalogue.ts).
 */

export function errorBody(code: number, msg: string): string {
  return JSON.stringify({ code, msg });
}

/** TikTok's logid shape: UTC yyyyMMddHHmmss followed by 20 upper-case hex digits. */
export function logId(nowMs: number, sequence: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\D/g, '').slice(0, 14);
  return stamp + sequence.toString(16).toUpperCase().padStart(20, '0');
}

export interface PageBody {
  nextCursor: number;
  hasMore: boolean;
  itemsJson: string[];
  nowMs: number;
  logId: string;
  /** JSON text of `data.extra.fatal_item_ids`'s elements. */
  fatalItemIdsJson: string[];
}

/**
 * Encoded item by item: one quirky caption (an emoji) would otherwise turn the whole joined page
 * into a two-byte string, and encoding ~0.5 MB of that was most of the simulator's CPU per page.
 */
export function pageBody(page: PageBody): Buffer {
  const head =
    `{"code":200,"msg":"OK","data":{"cursor":${JSON.stringify(String(page.nextCursor))},` +
    `"extra":{"fatal_item_ids":[${page.fatalItemIdsJson.join(',')}],"logid":"${page.logId}","now":${page.nowMs}},"hasMore":${page.hasMore},`;
  const tail = `"log_pb":{"impr_id":"${page.logId}"},"statusCode":0}}`;
  // The real API leaves itemList out of an empty page rather than sending [].
  if (page.itemsJson.length === 0) return Buffer.from(head + tail, 'utf8');
  const parts = [Buffer.from(`${head}"itemList":[`, 'utf8')];
  page.itemsJson.forEach((item, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(Buffer.from(item, 'utf8'));
  });
  parts.push(Buffer.from(`],${tail}`, 'utf8'));
  return Buffer.concat(parts);
}

const COMMA = Buffer.from(',');

/** TikTok-level failures ride inside a 200: the HTTP layer says OK, data.statusCode does not. */
export function tiktokStatusBody(statusCode: number, statusMsg: string, hasMore?: boolean): string {
  return JSON.stringify({ code: 200, msg: 'OK', data: { statusCode, status_msg: statusMsg, hasMore } });
}

export const SERVER_BUSY = { statusCode: 10201, statusMsg: 'server is busy' } as const;
export const HASHTAG_NOT_FOUND = { statusCode: 10205, statusMsg: 'hashtag not found' } as const;

export interface DetailBody {
  hashtagId: string;
  title: string;
  videoCount: number;
  viewCount: number;
}

export function detailBody(detail: DetailBody): string {
  return JSON.stringify({
    code: 200,
    msg: 'OK',
    data: {
      challengeInfo: {
        challenge: {
          id: detail.hashtagId,
          title: detail.title,
          desc: '',
          coverLarger: '',
          coverMedium: '',
          coverThumb: '',
        },
        stats: { videoCount: detail.videoCount, viewCount: detail.viewCount },
      },
      statusCode: 0,
    },
  });
}
