import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dedupeById, sanitizeForPostgres, toVideoRow } from '../src/db/video-row.js';

const sample = JSON.parse(readFileSync(new URL('../src/sim/fixtures/sample-item.json', import.meta.url), 'utf8'));

describe('toVideoRow', () => {
  it('pulls the typed columns out of a realistic item and keeps the whole item as raw', () => {
    const row = toVideoRow(sample);
    expect(row).toMatchObject({
      id: sample.id,
      author_id: sample.author.id,
      author_unique_id: sample.author.uniqueId,
      description: sample.desc,
      play_count: sample.stats.playCount,
      music_id: sample.music.id,
    });
    expect(row.create_time).toBe(new Date(sample.createTime * 1000).toISOString());
    expect(row.raw).toEqual(sample);
  });

  it('accepts createTime and counts as numeric strings, and tolerates missing objects', () => {
    const row = toVideoRow({ id: '7300000000000000001', createTime: '1700000000', statsV2: { playCount: '12' } });
    expect(row).toMatchObject({ create_time: '2023-11-14T22:13:20.000Z', play_count: 12, author_id: null, music_id: null, description: null });
  });

  it('does not trust numeric author ids, which JSON.parse may already have rounded', () => {
    expect(toVideoRow({ id: '1', author: { id: 6800000000445444300 } }).author_id).toBeNull();
  });
});

describe('sanitizeForPostgres', () => {
  it('removes NUL characters from values and keys, deep inside arrays and objects', () => {
    const dirty = { desc: 'a\u0000b', list: [{ 'k\u0000': 'v\u0000' }], n: 1 };
    expect(sanitizeForPostgres(dirty)).toEqual({ desc: 'ab', list: [{ k: 'v' }], n: 1 });
  });

  it('replaces a half emoji (lone surrogate) that jsonb would refuse', () => {
    const cleaned = sanitizeForPostgres({ desc: 'cut \ud83d' }) as { desc: string };
    expect(cleaned.desc.isWellFormed()).toBe(true);
  });

  it('returns the very same object when nothing needs cleaning', () => {
    expect(sanitizeForPostgres(sample)).toBe(sample);
  });

  it('keeps backslashes, quotes and emoji intact', () => {
    const text = 'say "hi" \\ it\'s 🎄';
    expect(sanitizeForPostgres({ text })).toEqual({ text });
  });
});

describe('dedupeById', () => {
  it('keeps one item per id, the last one seen', () => {
    const items = [
      { id: '1', v: 'a' },
      { id: '2', v: 'b' },
      { id: '1', v: 'c' },
    ];
    expect(dedupeById(items)).toEqual([
      { id: '2', v: 'b' },
      { id: '1', v: 'c' },
    ]);
  });
});
