/** TikTok's challenge ids: digits only, up to 25 of them (some exceed 2^53, so they stay strings). */
export const HASHTAG_ID_PATTERN = /^\d{1,25}$/;
