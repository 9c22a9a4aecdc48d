import { InvalidInputError } from '../crawlora/errors.js';

export interface HashtagFileLine {
  lineNumber: number;
  text: string;
}

/**
 * One hashtag a line; blank lines and comments are skipped. A comment is a '#' followed by a space
 * (or alone), so that '#christmas' still reads as a hashtag name.
 * Returns the entries in file order, deduplicated; `isValid` decides what counts as junk.
 * Any junk line refuses the whole file, so a typo never starts half a bulk crawl.
 */
export function parseHashtagFile(fileName: string, text: string, isValid: (entry: string) => boolean): string[] {
  const entries: string[] = [];
  const junk: HashtagFileLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const entry = raw.replace(/(^|\s)#(\s.*)?$/, '').trim();
    if (entry === '') return;
    if (isValid(entry)) entries.push(entry);
    else junk.push({ lineNumber: index + 1, text: entry });
  });
  if (junk.length > 0) {
    const shown = junk.slice(0, 3).map((line) => `line ${line.lineNumber}: '${line.text.slice(0, 40)}'`).join(', ');
    const more = junk.length > 3 ? ` and ${junk.length - 3} more` : '';
    throw new InvalidInputError(`${fileName}: ${junk.length} line(s) are not hashtags (${shown}${more}); fix them or comment them out with '# '`);
  }
  return [...new Set(entries)];
}
