import { isFatal, type Listing } from './listing.js';
import type { SimHashtagOptions } from './options.js';

export interface PagePlan {
  /** Catalogue indices in the order the page lists them, repeats included. */
  itemIndices: number[];
  /** Listed but not loaded: their ids go to `data.extra.fatal_item_ids` instead of `itemList`. */
  fatalIndices: number[];
  /** Feed position of the next page. */
  nextOffset: number;
  hasMore: boolean;
}

const REPEATS_WITHIN_PAGE = 2;
const REPEATS_FROM_PREVIOUS_PAGE = 3;

/** The offset is a feed position; a page serves positions [offset, offset + pageSize) of the listing. */
export function planPage(offset: number, pageSize: number, listing: Listing, hashtag: SimHashtagOptions): PagePlan {
  const size = listing.length;
  if (hashtag.hasMoreForever && offset >= size) {
    // The trap a crawler must notice: "more" promised, no items, and the cursor handed back unchanged.
    return { itemIndices: [], fatalIndices: [], nextOffset: offset, hasMore: true };
  }
  const end = Math.min(offset + pageSize, size);
  const fresh: number[] = [];
  const fatalIndices: number[] = [];
  for (let position = offset; position < end; position++) {
    const index = listing.at(position);
    (isFatal(index, hashtag) ? fatalIndices : fresh).push(index);
  }

  const itemIndices = [...fresh];
  if (fresh.length > 0 && hashtag.duplicatesAcrossPages && offset > 0) {
    const from = Math.max(0, offset - REPEATS_FROM_PREVIOUS_PAGE);
    for (let position = offset - 1; position >= from; position--) {
      const index = listing.at(position);
      if (!isFatal(index, hashtag)) itemIndices.unshift(index);
    }
  }
  if (hashtag.duplicatesWithinPage) itemIndices.push(...fresh.slice(0, REPEATS_WITHIN_PAGE));

  return {
    itemIndices,
    fatalIndices,
    nextOffset: offset + pageSize,
    hasMore: hashtag.hasMoreForever === true || offset + pageSize < size,
  };
}
