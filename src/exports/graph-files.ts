import gexf from 'graphology-gexf';
import { create } from 'xmlbuilder2';
import type { CoHashtagGraph } from './cohashtags.js';

export const GRAPH_FORMATS = ['gexf', 'graphml'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** The network as a GEXF 1.3 or GraphML document: both open in Gephi, with `weight` as the edge weight. */
export function graphDocument(graph: CoHashtagGraph, format: GraphFormat): string {
  return format === 'gexf' ? gexfDocument(graph) : graphmlDocument(graph);
}

function gexfDocument(graph: CoHashtagGraph): string {
  return gexf.write(graph, {
    version: '1.3',
    formatNode: (_key, node) => ({
      label: node.label,
      attributes: { video_count: node.video_count, ...(node.hashtag_id === null ? {} : { hashtag_id: node.hashtag_id }) },
    }),
    formatEdge: (_key, edge) => ({ weight: edge.weight }),
  });
}

/**
 * graphology-graphml only reads GraphML, so the document is built with xmlbuilder2 (which escapes
 * text and attributes) from the same graph. Node ids are positions: a hashtag's name is untrusted
 * text, so it goes in a data element, never in an id.
 */
function graphmlDocument(graph: CoHashtagGraph): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('http://graphml.graphdrawing.org/xmlns', 'graphml');
  const keys = [
    { id: 'label', for: 'node', 'attr.name': 'label', 'attr.type': 'string' },
    { id: 'hashtag_id', for: 'node', 'attr.name': 'hashtag_id', 'attr.type': 'string' },
    { id: 'video_count', for: 'node', 'attr.name': 'video_count', 'attr.type': 'long' },
    { id: 'weight', for: 'edge', 'attr.name': 'weight', 'attr.type': 'long' },
  ];
  for (const key of keys) root.ele('key', key);
  const body = root.ele('graph', { id: 'cohashtags', edgedefault: 'undirected' });
  const nodeIds = new Map<string, string>();
  graph.forEachNode((key, node) => {
    const id = `n${nodeIds.size}`;
    nodeIds.set(key, id);
    const element = body.ele('node', { id });
    element.ele('data', { key: 'label' }).txt(node.label);
    if (node.hashtag_id !== null) element.ele('data', { key: 'hashtag_id' }).txt(node.hashtag_id);
    element.ele('data', { key: 'video_count' }).txt(String(node.video_count));
  });
  let edges = 0;
  graph.forEachEdge((_key, edge, source, target) => {
    body
      .ele('edge', { id: `e${edges++}`, source: nodeIds.get(source)!, target: nodeIds.get(target)! })
      .ele('data', { key: 'weight' })
      .txt(String(edge.weight));
  });
  return root.end({ prettyPrint: true });
}
