import { readFileSync } from 'node:fs';

/**
 * The version in package.json, which sits two levels up from both src/exports and dist/exports:
 * read when a file is written, so a dataset names the tool that made it.
 */
export function toolVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${manifest.name} ${manifest.version}`;
}
