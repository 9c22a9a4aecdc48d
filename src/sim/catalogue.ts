import { readFileSync } from 'node:fs';
import { hashText, mix32 } from './hash.js';

/**
 * Deterministic video items per (hashtagId, index, epoch), shaped like the ~16 KB sample item.
 *
 * Items are produced as JSON text from a template pre-split around the fields that vary, so a
 * page costs string concatenation rather than deep cloning plus serialising 16 KB objects. The
 * varying fields are written as JSON text directly too, and whatever depends only on the hashtag
 * (id prefix, challenges, authors, sounds) is rendered once per hashtag: a page is 30 items of
 * one hashtag, so per-item work is down to a few numbers and the description.
 */

const SAMPLE_ITEM_URL = new URL('./fixtures/sample-item.json', import.meta.url);

/** Index digits inside an item id; catalogues are capped at this many items per hashtag. */
const INDEX_DIGITS = 7;
export const MAX_CATALOGUE_SIZE = 10 ** INDEX_DIGITS;

/**
 * Fewer authors than a page holds, so every page lists some author twice: the crawler's batch
 * upserts of authors must cope with the same key twice in one statement. Prime, so repeats
 * land at different page positions.
 */
const AUTHORS_PER_HASHTAG = 23;
const SOUNDS_PER_HASHTAG = 7;

/** Newest item's creation time (unix seconds); later indices are older, as a listing is. */
const NEWEST_CREATE_TIME_S = 1_733_000_000;
const CREATE_TIME_STEP_S = 3_607;

const SLOT_NAMES = [
  'id',
  'authorId',
  'authorUniqueId',
  'authorNickname',
  'desc',
  'contents',
  'createTime',
  'stats',
  'statsV2',
  'musicId',
  'challenges',
  'textExtra',
] as const;
type SlotName = (typeof SLOT_NAMES)[number];
/** JSON text per slot; undefined omits the field (only possible for fields after a comma). */
type SlotValues = Record<SlotName, string | undefined>;

interface CompiledTemplate {
  literals: string[];
  slots: Array<{ name: SlotName; keyPrefix: string | undefined }>;
  challengeShape: Record<string, unknown>;
  otherChallenge: Record<string, unknown>;
}

let compiled: CompiledTemplate | undefined;

function slotMarker(name: SlotName): string {
  return `@@slot:${name}@@`;
}

/** Lazy so that importing the simulator does no file I/O. */
function template(): CompiledTemplate {
  if (compiled) return compiled;
  const sample = JSON.parse(readFileSync(SAMPLE_ITEM_URL, 'utf8')) as Record<string, any>;
  const [challengeShape, otherChallenge] = sample.challenges as Array<Record<string, unknown>>;
  if (!challengeShape || !otherChallenge) throw new Error('sample item needs two challenges');

  sample.id = slotMarker('id');
  sample.video.id = slotMarker('id');
  sample.author.id = slotMarker('authorId');
  sample.author.uniqueId = slotMarker('authorUniqueId');
  sample.author.nickname = slotMarker('authorNickname');
  sample.desc = slotMarker('desc');
  sample.contents = slotMarker('contents');
  sample.createTime = slotMarker('createTime');
  sample.stats = slotMarker('stats');
  sample.statsV2 = slotMarker('statsV2');
  sample.music.id = slotMarker('musicId');
  sample.challenges = slotMarker('challenges');
  sample.textExtra = slotMarker('textExtra');

  // Capturing the preceding `,"key":` lets an omitted value drop its key too.
  const parts = JSON.stringify(sample).split(/(,"[^"\\]+":)?"@@slot:(\w+)@@"/);
  const literals: string[] = [];
  const slots: CompiledTemplate['slots'] = [];
  for (let i = 0; i < parts.length; i += 3) {
    literals.push(parts[i] ?? '');
    if (i + 2 >= parts.length) break;
    const name = parts[i + 2] as SlotName;
    if (!SLOT_NAMES.includes(name)) throw new Error(`unknown template slot ${name}`);
    slots.push({ name, keyPrefix: parts[i + 1] });
  }
  compiled = { literals, slots, challengeShape, otherChallenge };
  return compiled;
}

function fill(t: CompiledTemplate, values: SlotValues): string {
  let out = t.literals[0] ?? '';
  for (let i = 0; i < t.slots.length; i++) {
    const slot = t.slots[i]!;
    const value = values[slot.name];
    if (value !== undefined) {
      out += (slot.keyPrefix ?? '') + value;
    } else if (slot.keyPrefix === undefined) {
      throw new Error(`template slot ${slot.name} cannot be omitted`);
    }
    out += t.literals[i + 1] ?? '';
  }
  return out;
}

function pad(value: number, digits: number): string {
  return String(value).padStart(digits, '0');
}

/** 11 digits per hashtag id: keeps item ids of different hashtags apart (barring a hash collision). */
function hashtagPrefix(hashtagId: string): string {
  return pad((hashText(hashtagId) % 100_000) * 1_000_000 + (hashText(hashtagId, 0x9e3779b9) % 1_000_000), 11);
}

/** Title the items use for the hashtag's own challenge; the detail endpoint maps it back to the id (see detail.ts). */
function hashtagTitle(hashtagId: string): string {
  return `tag${hashtagId}`;
}

/** JSON text of the item fields that depend on the hashtag only, not on the item. */
interface HashtagFragments {
  prefix: string;
  /** hashText(hashtagId), the base of every item's seed. */
  hash: number;
  title: string;
  hashtagIdJson: string;
  titleJson: string;
  challengesJson: string;
  /** Per author number: `author.id` and `author.uniqueId`. */
  authors: Array<{ idJson: string; uniqueIdJson: string }>;
  /** Per sound number: `music.id`. */
  musicIdJson: string[];
}

/** Hashtag ids come from request paths, so the cache is bounded: it is simply emptied when full. */
const MAX_CACHED_HASHTAGS = 10_000;
const hashtagCache = new Map<string, HashtagFragments>();

function hashtagFragments(hashtagId: string): HashtagFragments {
  let fragments = hashtagCache.get(hashtagId);
  if (fragments) return fragments;
  const t = template();
  const prefix = hashtagPrefix(hashtagId);
  const title = hashtagTitle(hashtagId);
  const ownChallenge = { ...t.challengeShape, id: hashtagId, title };
  const challenges = t.otherChallenge.id === hashtagId ? [ownChallenge] : [ownChallenge, t.otherChallenge];
  fragments = {
    prefix,
    hash: hashText(hashtagId),
    title,
    hashtagIdJson: JSON.stringify(hashtagId),
    titleJson: JSON.stringify(title),
    challengesJson: JSON.stringify(challenges),
    authors: Array.from({ length: AUTHORS_PER_HASHTAG }, (_, n) => ({
      idJson: JSON.stringify(`6${prefix}${pad(n, INDEX_DIGITS)}`),
      uniqueIdJson: JSON.stringify(`creator_${prefix}_${n}`),
    })),
    musicIdJson: Array.from({ length: SOUNDS_PER_HASHTAG }, (_, n) => JSON.stringify(`70${prefix}${pad(n, 6)}`)),
  };
  if (hashtagCache.size >= MAX_CACHED_HASHTAGS) hashtagCache.clear();
  hashtagCache.set(hashtagId, fragments);
  return fragments;
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_CATALOGUE_SIZE) {
    throw new RangeError(`catalogue index ${index} outside 0..${MAX_CATALOGUE_SIZE - 1}`);
  }
}

function itemId(h: HashtagFragments, index: number): string {
  return `7${h.prefix}${pad(index, INDEX_DIGITS)}`;
}

/** 19 digits, always above 2^53: parsing it as a JS number corrupts it. */
export function catalogueItemId(hashtagId: string, index: number): string {
  checkIndex(index);
  return itemId(hashtagFragments(hashtagId), index);
}

/**
 * Item ids are independent of epoch (a re-crawl sees the same videos with newer counts); the
 * epoch parameter is accepted so callers can pass their crawl's options through unchanged.
 */
export function catalogueIds(hashtagId: string, size: number, _epoch = 1): string[] {
  return Array.from({ length: size }, (_, index) => catalogueItemId(hashtagId, index));
}

/** Strictly increasing in epoch so a re-crawl always observes changed counts. */
function grown(base: number, epoch: number): number {
  return base + (epoch - 1) * (1 + Math.floor(base / 20));
}

/** 1-based "every nth item", so index 0 is not a quirk of every kind at once. */
function isEvery(index: number, n: number): boolean {
  return (index + 1) % n === 0;
}

const QUIRKY_DESC_BODY = 'party 🎄🔥 "quoted" it\'s a back\\slash C:\\tmp and a nul\u0000here';

/** An item's `stats` as served. */
export interface ItemCounts {
  playCount: number;
  diggCount: number;
  commentCount: number;
  shareCount: number;
  collectCount: number;
}

/*
 * The stats are written out by hand rather than stringified: they are integers (epoch is), so
 * each value's JSON is its decimal text. Key orders are the ones the catalogue has always served.
 */
function statsJson(c: ItemCounts): string {
  return (
    `{"playCount":${c.playCount},"diggCount":${c.diggCount},"commentCount":${c.commentCount},` +
    `"shareCount":${c.shareCount},"collectCount":${c.collectCount}}`
  );
}

/** statsV2 carries the same counts as decimal strings, plus a repostCount. */
function statsV2Json(c: ItemCounts): string {
  return (
    `{"collectCount":"${c.collectCount}","commentCount":"${c.commentCount}","diggCount":"${c.diggCount}",` +
    `"playCount":"${c.playCount}","repostCount":"0","shareCount":"${c.shareCount}"}`
  );
}

/** The hashtag's own mention: the `#title` at the end of desc. */
function textExtraJson(h: HashtagFragments, desc: string): string {
  const end = desc.length;
  const start = end - h.title.length - 1;
  return (
    `[{"awemeId":"","end":${end},"hashtagId":${h.hashtagIdJson},"hashtagName":${h.titleJson},` +
    `"isCommerce":false,"start":${start},"subType":0,"type":1}]`
  );
}

export function catalogueItemJson(hashtagId: string, index: number, epoch: number, quirks: boolean, createTimeMsEvery?: number): string {
  checkIndex(index);
  const t = template();
  const h = hashtagFragments(hashtagId);
  const seed = mix32(h.hash ^ mix32(index));

  const authorNumber = index % AUTHORS_PER_HASHTAG;
  const author = h.authors[authorNumber]!;
  const nickname = quirks && isEvery(index, 17) ? `Creator\u0000${authorNumber}` : `Creator ${authorNumber}`;
  const body = quirks && isEvery(index, 13) ? QUIRKY_DESC_BODY : `video ${index} number ${seed % 9973} for the archive`;
  const desc = `${body} #${h.title}`;
  const descJson = JSON.stringify(desc);
  const createTimeS = NEWEST_CREATE_TIME_S - index * CREATE_TIME_STEP_S - (seed % 600);

  const counts: ItemCounts = {
    playCount: grown(1_000 + (seed % 5_000_000), epoch),
    diggCount: grown(10 + (mix32(seed + 1) % 200_000), epoch),
    commentCount: grown(mix32(seed + 2) % 5_000, epoch),
    shareCount: grown(mix32(seed + 3) % 3_000, epoch),
    collectCount: grown(mix32(seed + 4) % 10_000, epoch),
  };

  return fill(t, {
    id: `"${itemId(h, index)}"`,
    authorId: author.idJson,
    authorUniqueId: author.uniqueIdJson,
    authorNickname: JSON.stringify(nickname),
    desc: descJson,
    contents: `[{"desc":${descJson},"textExtra":[]}]`,
    createTime: createTimeJson(createTimeMsEvery !== undefined && isEvery(index, createTimeMsEvery) ? createTimeS * 1000 : createTimeS, quirks && isEvery(index, 5)),
    stats: statsJson(counts),
    statsV2: statsV2Json(counts),
    musicId: h.musicIdJson[index % SOUNDS_PER_HASHTAG]!,
    challenges: quirks && isEvery(index, 7) ? undefined : h.challengesJson,
    textExtra: quirks && isEvery(index, 11) ? undefined : textExtraJson(h, desc),
  });
}

function createTimeJson(value: number, asString: boolean): string {
  return asString ? `"${value}"` : String(value);
}

/**
 * One item as an object. Quirks (1-based positions, when enabled): every 7th has no
 * `challenges`, every 11th no `textExtra`, every 5th a numeric-string `createTime`, every 13th a
 * desc with emoji, quotes, backslashes and NUL, every 17th a NUL in `author.nickname`.
 */
export function catalogueItem(hashtagId: string, index: number, epoch: number, quirks: boolean): Record<string, unknown> {
  return JSON.parse(catalogueItemJson(hashtagId, index, epoch, quirks)) as Record<string, unknown>;
}
