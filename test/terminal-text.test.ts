import { eq, inArray } from 'drizzle-orm';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { terminalLine, terminalText } from '../src/cli/terminal-text.js';
import { crawlRuns, hashtagVideos, videos } from '../src/db/schema.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';

/** Any C0 control but newline, DEL, any C1 control. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/** What a caption can do to a terminal: window title, colours, screen clear, cursor, hyperlink, bell, 8-bit CSI, carriage return. */
const HOSTILE = [
  'title\u001b]0;pwned\u0007 here',
  '\u001b[31mred\u001b[0m and \u001b[2Jclear',
  'link \u001b]8;;http://evil.example/\u001b\\click\u001b]8;;\u001b\\ me',
  'bell\u0007 back\bspace \u009b2J c1 \rreturn',
  'cursor\u001b[10A\u001b[K up',
];

describe('terminalText', () => {
  it('removes escape sequences whole and drops every other control character but newline', () => {
    expect(HOSTILE.map(terminalText)).toEqual(['title here', 'red and clear', 'link click me', 'bell backspace  c1 return', 'cursor up']);
    expect(terminalText('two\nlines\ttab')).toBe('two\nlines tab');
    expect(terminalLine('two\r\nlines\u2028and\nmore')).toBe('two lines and more');
  });

  it('keeps printable text as it is: emoji, accents, right-to-left scripts, quotes', () => {
    const text = 'Noël 🎄👨‍👩‍👧 مرحبا "quoted" \\ back <b>&amp;';
    expect(terminalText(text)).toBe(text);
  });

  it('never leaves a control character, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(terminalText(text)).not.toMatch(CONTROL);
        expect(terminalLine(text)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }),
    );
  });
});

const HASHTAG = '930001';
const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 30 } });
let runId: number;

beforeAll(async () => {
  const db = t.app.database.db;
  const [run] = await crawlAndWait(t.app, [HASHTAG]);
  runId = run!.id;
  // The archive as a hostile upstream would have filled it: captions, author names and an error message.
  const ids = (await db.select({ id: hashtagVideos.videoId }).from(hashtagVideos).where(eq(hashtagVideos.hashtagId, HASHTAG))).map((row) => row.id);
  for (const [index, id] of ids.entries()) {
    await db.update(videos).set({ description: HOSTILE[index % HOSTILE.length], authorUniqueId: `au\u001b]0;t\u0007thor${index}` }).where(eq(videos.id, id));
  }
  await db.update(crawlRuns).set({ stopReason: 'upstream', lastError: 'Crawlora said \u001b]0;owned\u0007 \u001b[5mno' }).where(inArray(crawlRuns.id, [runId]));
});

describe('commands print what the archive holds without its control characters', () => {
  it('stats shows the captions and authors, with no ESC, BEL or other control character', async () => {
    const result = await runCli(['stats', HASHTAG], t.cliEnv());
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    expect(result.stdout).toContain('red and clear');
    expect(result.stdout).toMatch(/author\d+/);
  });

  it('runs shows the error message without its escape sequences', async () => {
    await t.app.database.db.update(crawlRuns).set({ status: 'failed' }).where(eq(crawlRuns.id, runId));
    const result = await runCli(['runs'], t.cliEnv());
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    expect(result.stdout).toContain('Crawlora said  no');
  });
});

describe('error lines', () => {
  it('are one line without control characters, whatever the text they quote', async () => {
    const result = await runCli(['stats', '#ab\u001b]0;t\u0007c\nd'], t.cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(CONTROL);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: hashtag '#abc d' is neither/)]);
  });
});
