import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import { UndirectedGraph } from 'graphology';
import type { AbstractGraph } from 'graphology-types';
import gexf from 'graphology-gexf';
import graphml from 'graphology-graphml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVideo, type CoHashtagGraph } from '../src/exports/cohashtags.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { CARRIED_PAIRS_SQL, hasTagSql, insertTaggedVideos } from './support/tagged-videos.js';

const t = useCrawlEnvironment({ app: false });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ha-network-'));
  await insertTaggedVideos(t.database.database.db);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Counts = Map<string, number>;

/** Node and edge counts computed with SQL alone, over the videos `selected` returns. */
async function sqlCounts(selected: SQL): Promise<{ nodes: Counts; edges: Counts }> {
  const db = t.database.database.db;
  const tags = sql`(select * from (${CARRIED_PAIRS_SQL}) p where p.video in (select id from ${selected} s))`;
  const nodes = await db.execute<{ tag: string; videos: number }>(sql`select tag, count(*)::int as videos from ${tags} n group by tag`);
  const edges = await db.execute<{ a: string; b: string; videos: number }>(
    sql`select x.tag as a, y.tag as b, count(*)::int as videos from ${tags} x join ${tags} y on x.video = y.video and x.tag < y.tag group by 1, 2`,
  );
  return {
    nodes: new Map(nodes.rows.map((row) => [row.tag, row.videos])),
    edges: new Map(edges.rows.map((row) => [[row.a, row.b].sort().join(' + '), row.videos])),
  };
}

function graphCounts(graph: AbstractGraph): { nodes: Counts; edges: Counts } {
  const label = (node: string) => String(graph.getNodeAttribute(node, 'label'));
  const nodes: Counts = new Map(graph.mapNodes((node, attributes) => [label(node), Number(attributes.video_count)]));
  const edges: Counts = new Map(
    graph.mapEdges((_edge, attributes, source, target) => [[label(source), label(target)].sort().join(' + '), Number(attributes.weight)]),
  );
  return { nodes, edges };
}

async function exportNetwork(format: 'gexf' | 'graphml', args: string[]): Promise<string> {
  const out = join(dir, `network.${format}`);
  const result = await runCli(['export', ...args, '--network', 'cohashtags', '--format', format, '--out', out], t.cliEnv());
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return readFile(out, 'utf8');
}

const ALL_ARCHIVED = sql`(select video_id as id from hashtag_videos)`;

describe('export --network cohashtags', () => {
  it('GEXF: a node per hashtag with its video count, edge weights equal to the SQL pair counts', async () => {
    const document = await exportNetwork('gexf', ['930001', '930002', '930006']);
    const graph = gexf.parse(UndirectedGraph, document);
    expect(graph.type).toBe('undirected');
    const want = await sqlCounts(ALL_ARCHIVED);
    expect(want.edges.size).toBeGreaterThan(5);
    expect(graphCounts(graph)).toEqual(want);
  });

  it('GraphML, read by a GraphML parser, has the same counts, over a --match selection', async () => {
    const document = await exportNetwork('graphml', ['--match', 'fyp NOT ad']);
    const graph = graphml.parse(UndirectedGraph, document);
    const want = await sqlCounts(sql`(${hasTagSql({ id: '930002', name: 'fyp' })} except ${hasTagSql({ id: null, name: 'ad' })})`);
    expect(want.edges.size).toBeGreaterThan(2);
    expect(graphCounts(graph)).toEqual(want);
  });

  it('counts a video once per hashtag, whatever the case or repetition of its tags, and never pairs a tag with itself', () => {
    const graph: CoHashtagGraph = new UndirectedGraph();
    addVideo(graph, [
      { id: '1', name: 'fyp' },
      { id: '1', name: 'fyp' },
      { id: null, name: 'xmas' },
    ]);
    addVideo(graph, [{ id: null, name: 'xmas' }, { id: '1', name: 'fyp' }, { id: '9', name: null }, { id: null, name: '\u0001' }]);
    expect(graphCounts(graph)).toEqual({
      nodes: new Map([['fyp', 2], ['xmas', 2], ['9', 1]]),
      edges: new Map([['fyp + xmas', 2], ['9 + fyp', 1], ['9 + xmas', 1]]),
    });
  });

  it('refuses a graph format without --network, and --network with a row format', async () => {
    expectOneLineError(await runCli(['export', '930001', '--format', 'gexf'], t.cliEnv()), /^error: --format gexf is a graph file; add --network cohashtags$/, 2);
    expectOneLineError(
      await runCli(['export', '930001', '--format', 'csv', '--network', 'cohashtags'], t.cliEnv()),
      /^error: --network cohashtags writes a graph; give --format gexf or --format graphml$/,
      2,
    );
  });
});
