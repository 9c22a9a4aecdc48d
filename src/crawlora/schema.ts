import { z } from 'zod';

/**
 * The posts page as Crawlora documents it. Every field is optional upstream, so the schema
 * only pins the types of the fields we act on and lets everything else through untouched.
 */
export const hashtagPageBodySchema = z.looseObject({
  code: z.number().optional(),
  msg: z.string().optional(),
  data: z
    .looseObject({
      cursor: z.union([z.string(), z.number()]).nullish(),
      hasMore: z.boolean().nullish(),
      itemList: z.array(z.unknown()).nullish(),
      statusCode: z.number().nullish(),
      status_code: z.number().nullish(),
      status_msg: z.string().nullish(),
      // Read leniently: a malformed field about the page must not fail a billed answer.
      extra: z.looseObject({ logid: z.unknown().optional(), fatal_item_ids: z.unknown().optional() }).nullish().catch(null),
      log_pb: z.looseObject({ impr_id: z.unknown().optional() }).nullish().catch(null),
    })
    .nullish(),
});

export type HashtagPageBody = z.infer<typeof hashtagPageBodySchema>;

/** An item as it came from upstream: untrusted, only its `id` was checked. */
export type RawItem = Record<string, unknown> & { id: string };

/** Video ids are 19-digit snowflakes: parsing them as numbers would corrupt them, so they stay strings. */
export const VIDEO_ID_PATTERN = /^\d{1,30}$/;

export function isRawItem(value: unknown): value is RawItem {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { id?: unknown }).id === 'string' &&
    VIDEO_ID_PATTERN.test((value as { id: string }).id)
  );
}
