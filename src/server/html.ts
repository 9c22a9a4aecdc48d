import escapeHtml from 'escape-html';

/** Markup known to be safe because `html` built it; a string from outside never becomes one. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Interpolated = SafeHtml | string | number | false | null | undefined | readonly Interpolated[];

/** A template tag that escapes every value unless it is SafeHtml; arrays are concatenated, false/null/undefined vanish. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  return new SafeHtml(strings.reduce((out, text, index) => out + render(values[index - 1]) + text));
}

function render(value: Interpolated): string {
  if (value === false || value === null || value === undefined) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Scripts only from our own origin: whatever a hashtag name or an upstream error contains, it cannot run. */
export const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'";

export function page(title: string, body: SafeHtml, head: SafeHtml = html``): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · hashtag-archiver</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${head}
</head>
<body>
${body}
</body>
</html>
`.value;
}
