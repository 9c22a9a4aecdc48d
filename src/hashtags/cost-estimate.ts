import Table from 'cli-table3';
import { CREDITS_PER_REQUEST, ITEMS_PER_PAGE, PLANS, type PlanName } from '../crawlora/plans.js';

export interface EstimateHashtag {
  /** As the user gave it: '#christmas' or '3242'. */
  label: string;
  id: string;
  /** From the detail endpoint; null when no count is known (an id never resolved by name). */
  videoCount: number | null;
}

/** The per-run limits the crawl would obey (null: none). */
export interface EstimateLimits {
  maxPages: number | null;
  maxItems: number | null;
  budgetCredits: number | null;
}

export interface EstimateInput {
  hashtags: EstimateHashtag[];
  limits: EstimateLimits;
  plan: PlanName;
  /** Per key (config.ratePerMin). */
  ratePerMin: number;
  /** Per key; null: the plan has no daily cap. */
  dailyCredits: number | null;
  /** What each configured key spent today (the daily cap is per key). */
  keysSpentToday: number[];
  /** Spent this month so far, all keys together (the plan's included credits are per account). */
  monthCredits: number;
  monthResetsAt: Date;
  /** Names this dry run had to resolve, already spent (and counted in monthCredits). */
  namesResolved: number;
  /** `crawl --passes N`: full passes of each hashtag at most; default 1. */
  passes?: number;
  /** Hashtags whose reported count the crawl will look up after its first page (HA_COVERAGE), 8 credits each; default 0. */
  coverageLookups?: number;
}

export interface HashtagEstimate extends EstimateHashtag {
  /** Of one full pass; null when videoCount is. */
  pages: number | null;
  credits: number | null;
}

export interface CostEstimate {
  hashtags: HashtagEstimate[];
  /** Of the hashtags whose video count is known, over every pass. */
  pages: number;
  passes: number;
  /** Detail requests for the reported counts (coverage), within `credits`. */
  coverageLookups: number;
  credits: number;
  unknownHashtags: number;
  /** At the plan's rate over all keys, ignoring daily caps. */
  minutes: number;
  requestsPerMin: number;
  keys: number;
  today: {
    remaining: number | null;
    /** Pages today's remaining credits pay for, when they do not cover the whole estimate. */
    pagesToday: number | null;
    /** Further days at every key's daily cap, after today's remainder. */
    extraDays: number;
  };
  month: {
    included: number;
    spentBefore: number;
    spentAfter: number;
    /** Credits past the included ones that this archive would add. */
    overageCredits: number;
    /** null: the plan has no overage, and crawls pause at the included credits instead. */
    overageUsd: number | null;
    resetsAt: Date;
  };
  namesResolved: number;
  resolveCredits: number;
}

/**
 * What archiving these hashtags would take, before any of it is queued. Pages are
 * ceil(videos / 30), at least one (an empty hashtag still costs its first page), then capped by
 * the limits the runs would stop at. TikTok's video count is approximate, so this is too.
 */
export function estimateCost(input: EstimateInput): CostEstimate {
  const hashtags = input.hashtags.map((hashtag): HashtagEstimate => {
    if (hashtag.videoCount === null) return { ...hashtag, pages: null, credits: null };
    const pages = cappedPages(Math.max(1, Math.ceil(hashtag.videoCount / ITEMS_PER_PAGE)), input.limits);
    return { ...hashtag, pages, credits: pages * CREDITS_PER_REQUEST };
  });
  const passes = input.passes ?? 1;
  const coverageLookups = input.coverageLookups ?? 0;
  const pages = hashtags.reduce((sum, hashtag) => sum + (hashtag.pages ?? 0), 0) * passes;
  const credits = (pages + coverageLookups) * CREDITS_PER_REQUEST;
  const keys = input.keysSpentToday.length;
  const requestsPerMin = input.ratePerMin * keys;

  const { dailyCredits } = input;
  const remainingToday = dailyCredits === null ? null : input.keysSpentToday.reduce((sum, spent) => sum + Math.max(0, dailyCredits - spent), 0);
  const coveredToday = remainingToday === null || credits <= remainingToday;
  const extraDays = coveredToday ? 0 : Math.ceil((credits - remainingToday) / (dailyCredits! * keys));

  const plan = PLANS[input.plan];
  const spentAfter = input.monthCredits + credits;
  const pastIncluded = (spent: number) => Math.max(0, spent - plan.includedCredits);
  const overageCredits = pastIncluded(spentAfter) - pastIncluded(input.monthCredits);

  return {
    hashtags,
    pages,
    credits,
    unknownHashtags: hashtags.filter((hashtag) => hashtag.pages === null).length,
    passes,
    coverageLookups,
    minutes: (pages + coverageLookups) / requestsPerMin,
    requestsPerMin,
    keys,
    today: {
      remaining: remainingToday,
      pagesToday: coveredToday ? null : Math.floor(remainingToday / CREDITS_PER_REQUEST),
      extraDays,
    },
    month: {
      included: plan.includedCredits,
      spentBefore: input.monthCredits,
      spentAfter,
      overageCredits,
      overageUsd: plan.overageUsdPer1000 === null ? null : Math.round((overageCredits * plan.overageUsdPer1000 * 100) / 1000) / 100,
      resetsAt: input.monthResetsAt,
    },
    namesResolved: input.namesResolved,
    resolveCredits: input.namesResolved * CREDITS_PER_REQUEST,
  };
}

/** The page a run stops at first: --max-pages, --max-items, or the last page its budget pays for. */
function cappedPages(pages: number, limits: EstimateLimits): number {
  const caps = [
    limits.maxPages,
    limits.maxItems === null ? null : Math.ceil(limits.maxItems / ITEMS_PER_PAGE),
    limits.budgetCredits === null ? null : Math.floor(limits.budgetCredits / CREDITS_PER_REQUEST),
  ];
  return caps.reduce<number>((least, cap) => (cap === null ? least : Math.min(least, cap)), pages);
}

export function renderCostEstimate(estimate: CostEstimate): string {
  const number = (value: number) => value.toLocaleString('en-US');
  const table = new Table({ head: ['hashtag', 'id', 'reported videos', 'pages a pass', 'credits', 'time'], style: { head: [], border: [] } });
  for (const hashtag of estimate.hashtags) {
    table.push([
      hashtag.label,
      hashtag.id,
      hashtag.videoCount === null ? 'unknown' : number(hashtag.videoCount),
      hashtag.pages === null ? '-' : number(hashtag.pages),
      hashtag.credits === null ? '-' : number(hashtag.credits),
      hashtag.pages === null ? '-' : duration(hashtag.pages / estimate.requestsPerMin),
    ]);
  }
  if (estimate.hashtags.length > 1) table.push(['total', '', '', number(estimate.pages), number(estimate.credits), duration(estimate.minutes)]);

  const { today, month } = estimate;
  const lines = [
    'dry run: nothing queued, no page fetched',
    table.toString(),
    `time     at ${number(estimate.requestsPerMin)} requests/min (${estimate.keys} key${estimate.keys === 1 ? '' : 's'} × ${number(estimate.requestsPerMin / estimate.keys)} a minute), without daily caps`,
  ];
  if (estimate.passes > 1) lines.push(`passes   up to ${estimate.passes} full passes of each hashtag: totals count them all (a series ends early once a pass adds few new videos)`);
  if (estimate.unknownHashtags > 0) {
    lines.push(`unknown  ${estimate.unknownHashtags} hashtag(s) given by id have no video count; give them by name to estimate them`);
  }
  if (estimate.coverageLookups > 0) {
    lines.push(
      `coverage ${estimate.coverageLookups} hashtag count(s) looked up after the first page (${CREDITS_PER_REQUEST} credits each, in the totals; HA_COVERAGE=off skips them)`,
    );
  }
  if (today.remaining === null) lines.push('today    no daily cap on this plan');
  else if (today.pagesToday === null) lines.push(`today    ${number(today.remaining)} credits left: enough for all of it`);
  else {
    lines.push(
      `today    ${number(today.remaining)} credits left pay for ${number(today.pagesToday)} pages; ` +
        `the rest takes about ${today.extraDays} more day(s) at the daily cap (runs pause and continue by themselves)`,
    );
  }
  const monthLine = `month    ${number(month.spentBefore)} of ${number(month.included)} included credits spent; ${number(month.spentAfter)} after this`;
  if (month.overageCredits === 0) lines.push(`${monthLine}, within the included credits`);
  else if (month.overageUsd === null) {
    lines.push(`${monthLine}: ${number(month.overageCredits)} past the included ones, and this plan has no overage: runs pause until ${month.resetsAt.toISOString().slice(0, 10)}`);
  } else {
    lines.push(`${monthLine}: ${number(month.overageCredits)} credits of overage, about $${month.overageUsd.toFixed(2)}`);
  }
  const spent = estimate.namesResolved > 0 ? ` (this dry run resolved ${estimate.namesResolved}: ${number(estimate.resolveCredits)} credits)` : '';
  lines.push(`names    resolving a name not cached yet costs ${CREDITS_PER_REQUEST} credits${spent}; cached names cost nothing`);
  return lines.join('\n');
}

function duration(minutes: number): string {
  if (minutes < 1) return '< 1 min';
  const total = Math.ceil(minutes);
  const days = Math.floor(total / 1_440);
  const hours = Math.floor((total % 1_440) / 60);
  const rest = total % 60;
  if (days > 0) return `${days} d ${hours} h`;
  return hours > 0 ? `${hours} h ${rest} min` : `${rest} min`;
}
