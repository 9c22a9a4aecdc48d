import type { SimHashtagOptions } from './options.js';

export interface PagePlan {
  /** Catalogue indices in the order the page lists them, repeats included. */
  itemIndices: number[];
  nextCursor: number;
  hasMore: boolean;
}

const REPEATS_WITHIN_PAGE = 2;
const REPEATS_FROM_PREVIOUS_PAGE = 3;

/** The cursor is an offset into the catalogue; a page serves [cursor, cursor + pageSize). */
export function planPage(cursor: number, pageSize: number, size: number, hashtag: SimHashtagOptions): PagePlan {
  if (hashtag.hasMoreForever && cursor >= size) {
    // The trap a crawler must notice: "more" promised, no items, and the cursor handed back unchanged.
    return { itemIndices: [], nextCursor: cursor, hasMore: true };
  }
  const end = Math.min(cursor + pageSize, size);
  const fresh: number[] = [];
  for (let index = cursor; index < end; index++) fresh.push(index);

  const itemIndices = [...fresh];
  if (fresh.length > 0 && hashtag.duplicatesAcrossPages && cursor > 0) {
    const from = Math.max(0, cursor - REPEATS_FROM_PREVIOUS_PAGE);
    for (let index = cursor - 1; index >= from; index--) itemIndices.unshift(index);
  }
  if (hashtag.duplicatesWithinPage) itemIndices.push(...fresh.slice(0, REPEATS_WITHIN_PAGE));

  return {
    itemIndices,
    nextCursor: cursor + pageSize,
    hasMore: hashtag.hasMoreForever === true || cursor + pageSize < size,
  };
}
