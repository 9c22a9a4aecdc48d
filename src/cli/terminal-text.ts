import { stripVTControlCharacters } from 'node:util';

/**
 * C0 controls but newline, DEL and C1 controls (U+0080–U+009F: 8-bit CSI, OSC, ST…): what is
 * left of an escape sequence once its known forms are gone, and lone BEL, backspace or CR, which
 * ring, overwrite or rewind what the terminal shows.
 */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text the archive or the upstream wrote (captions, author names, hashtag titles, error
 * messages), made safe to print on a terminal: escape sequences (colours, cursor moves, window
 * titles, OSC 8 hyperlinks) are removed whole, other control characters dropped, tabs become a
 * space. Newlines stay: pass the result of `terminalLine` where one line is meant.
 * Everything printable, emoji and right-to-left scripts included, is kept as it is.
 */
export function terminalText(text: string): string {
  return stripVTControlCharacters(text)
    .replaceAll('\t', ' ')
    .replace(CONTROLS, '');
}

/** `terminalText` on one line: line breaks (and U+2028/U+2029) become a space. */
export function terminalLine(text: string): string {
  return terminalText(text.replace(/\r\n|[\n\r\u2028\u2029]/g, ' '));
}
