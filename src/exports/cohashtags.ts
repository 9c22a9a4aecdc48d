import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UndirectedGraph } from 'graphology';
import type pg from 'pg';
import { queryStream, withConnection, type Statement } from '../db/query-stream.js';
import { carriedHashtagsSql } from '../selection/carried-hashtags.js';
import { selectionCondition, type Selection } from '../selection/selection.js';
import { SqlParams } from '../selection/sql-params.js';

/** A hashtag as one video carries it (see carried-hashtags.ts); either part may be missing. */
export interface CarriedTag {
  id: string | null;
  name: string | null;
}

export interface HashtagNode {
  label: string;
  /** TikTok's id of the hashtag, from the first video that gave one. */
  hashtag_id: string | null;
  /** Selected videos carrying it. */
  video_count: number;
}

export interface CoHashtagEdge {
  /** Selected videos carrying both hashtags. */
  weight: number;
}

export type CoHashtagGraph = UndirectedGraph<HashtagNode, CoHashtagEdge>;

/**
 * Characters XML 1.0 cannot carry at all (C0 controls but tab and newlines, U+FFFE/U+FFFF):
 * hashtag titles come from TikTok items, and one such character would make the file unreadable.
 */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** A hashtag is known by its name (what people search and Gephi shows), else by its id. */
function nodeKey(tag: CarriedTag): string | null {
  const key = (tag.name ?? tag.id)?.replace(NOT_XML, '') ?? '';
  return key === '' ? null : key;
}

/**
 * Adds one video: each hashtag it carries counts the video once, and each pair of them one video
 * more on their edge. Pairs are taken in key order, so the graph does not depend on the item's order.
 */
export function addVideo(graph: CoHashtagGraph, tags: readonly CarriedTag[]): void {
  const byKey = new Map<string, CarriedTag>();
  for (const tag of tags) {
    const key = nodeKey(tag);
    if (key !== null && !byKey.has(key)) byKey.set(key, tag);
  }
  const keys = [...byKey.keys()].sort();
  for (const key of keys) {
    const id = byKey.get(key)!.id;
    graph.updateNode(key, (node) => ({
      label: key,
      hashtag_id: node.hashtag_id ?? id,
      video_count: (node.video_count ?? 0) + 1,
    }));
  }
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      graph.updateEdge(keys[i], keys[j], (edge) => ({ weight: (edge.weight ?? 0) + 1 }));
    }
  }
}

/** One row a selected video, with the hashtags it carries; each video once, however many hashtags it is archived under. */
function carriedTagsSql(selection: Selection): Statement {
  const params = new SqlParams();
  const where = selectionCondition(selection, params, { hashtagVideos: 'hv', videos: 'v' });
  return {
    text: `select v.id,
             (select coalesce(json_agg(json_build_object('id', t.id, 'name', t.name)), '[]'::json) from (${carriedHashtagsSql('v.raw')}) t) as tags
           from videos v
           where exists (select 1 from hashtag_videos hv where hv.video_id = v.id and ${where})
           order by v.id`,
    values: params.values,
  };
}

/**
 * The co-hashtag network of the selected videos. Videos stream through a cursor; only the graph
 * (a node per hashtag, an edge per pair seen together) is held.
 */
export async function coHashtagGraph(pool: pg.Pool, selection: Selection): Promise<CoHashtagGraph> {
  const graph: CoHashtagGraph = new UndirectedGraph();
  await withConnection(pool, (client) =>
    pipeline(
      queryStream(client, carriedTagsSql(selection)),
      new Writable({
        objectMode: true,
        write(row: { tags: CarriedTag[] }, _encoding, done) {
          addVideo(graph, row.tags);
          done();
        },
      }),
    ),
  );
  return graph;
}
