/**
 * The hashtags a video carries, from its archived item: `challenges` (id and title), or, when an
 * item has none, the hashtag mentions of its caption in `textExtra` (hashtagId, hashtagName).
 * One definition in SQL for `--match` and the co-hashtag network, so both see the same tags.
 * Names are lower-cased by Postgres (`lower` folds non-ASCII letters as the database's locale does).
 *
 * `raw` is an SQL expression of the item's jsonb, e.g. `v.raw`. Yields rows (id, name); either may
 * be null. Anything that is not an array of objects yields nothing rather than an error: items are
 * untrusted.
 */
export function carriedHashtagsSql(raw: string): string {
  const array = (key: string) => `case when jsonb_typeof(${raw}->'${key}') = 'array' then ${raw}->'${key}' else '[]'::jsonb end`;
  return `
    select nullif(c->>'id', '') as id, lower(nullif(c->>'title', '')) as name
    from jsonb_array_elements(${array('challenges')}) c
    where jsonb_typeof(c) = 'object'
    union all
    select nullif(e->>'hashtagId', ''), lower(e->>'hashtagName')
    from jsonb_array_elements(${array('textExtra')}) e
    where jsonb_array_length(${array('challenges')}) = 0 and jsonb_typeof(e) = 'object' and coalesce(e->>'hashtagName', '') <> ''`;
}
