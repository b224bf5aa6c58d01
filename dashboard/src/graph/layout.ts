import ELK from 'elkjs/lib/elk-api.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import ElkWorker from 'elkjs/lib/elk-worker.min.js?worker';

export const NODE_WIDTH = 132;
export const NODE_HEIGHT = 30;
/** Room inside a coordinator's box: its label on top, a margin around its sub-agents. */
export const COMPOUND_PADDING = { top: 26, side: 12 };

export interface LayoutTask {
  id: string;
  parent?: string;
  dependsOn: string[];
}

/** Top-left corner of each task's box, in graph coordinates. */
export type Positions = Map<string, { x: number; y: number; width: number; height: number }>;

let elk: InstanceType<typeof ELK> | undefined;
/** ELK runs in a Web Worker (bundled at build time): the page stays responsive while a big plan is laid out. */
const engine = (): InstanceType<typeof ELK> => (elk ??= new ELK({ workerFactory: () => new ElkWorker() }));

const OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.spacing.nodeNode': '14',
  'elk.layered.spacing.nodeNodeBetweenLayers': '40',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  // Unconnected tasks (a parallel plan) are packed into rows instead of one endless column.
  'elk.separateConnectedComponents': 'true',
  'elk.aspectRatio': '2.2',
};

/**
 * Lays out a plan left to right with ELK's layered algorithm: dependencies as edges between siblings, a coordinator as a
 * box around its sub-agents (laid out inside it).
 */
export async function layoutPlan(tasks: LayoutTask[]): Promise<Positions> {
  const ids = new Set(tasks.map((t) => t.id));
  const children = new Map<string | undefined, LayoutTask[]>();
  for (const t of tasks) {
    const key = t.parent && ids.has(t.parent) ? t.parent : undefined;
    children.set(key, [...(children.get(key) ?? []), t]);
  }
  const build = (t: LayoutTask): ElkNode => {
    const kids = children.get(t.id);
    if (!kids) return { id: t.id, width: NODE_WIDTH, height: NODE_HEIGHT };
    return {
      id: t.id,
      layoutOptions: {
        ...OPTIONS,
        'elk.padding': `[top=${COMPOUND_PADDING.top},left=${COMPOUND_PADDING.side},bottom=${COMPOUND_PADDING.side},right=${COMPOUND_PADDING.side}]`,
      },
      children: kids.map(build),
      edges: edgesOf(kids),
    };
  };
  const top = children.get(undefined) ?? [];
  const root: ElkNode = { id: '__root', layoutOptions: OPTIONS, children: top.map(build), edges: edgesOf(top) };
  const laid = await engine().layout(root);
  const out: Positions = new Map();
  const walk = (nodes: ElkNode[] | undefined, dx: number, dy: number) => {
    for (const n of nodes ?? []) {
      const x = dx + (n.x ?? 0);
      const y = dy + (n.y ?? 0);
      out.set(n.id, { x, y, width: n.width ?? NODE_WIDTH, height: n.height ?? NODE_HEIGHT });
      walk(n.children, x, y);
    }
  };
  walk(laid.children, 0, 0);
  return out;
}

function edgesOf(siblings: LayoutTask[]): ElkExtendedEdge[] {
  const here = new Set(siblings.map((t) => t.id));
  return siblings.flatMap((t) =>
    t.dependsOn.filter((d) => here.has(d)).map((d) => ({ id: `${d}->${t.id}`, sources: [d], targets: [t.id] })),
  );
}
