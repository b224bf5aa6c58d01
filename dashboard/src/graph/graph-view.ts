import cytoscape, { type Core, type ElementDefinition, type StylesheetJson } from 'cytoscape';
import type { PlanModel, TaskNode } from '../plan-model';
import { perf } from '../perf';
import { colorOf, textColorOf } from './colors';
import { COMPOUND_PADDING, layoutPlan, NODE_HEIGHT, NODE_WIDTH } from './layout';

/** Past this many tasks edges are drawn straight and hidden while panning (Cytoscape's cheaper paths). */
const BIG = 300;

const STYLE: StylesheetJson = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle',
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      'background-color': 'data(color)',
      'border-width': 1,
      'border-color': '#475569',
      label: 'data(label)',
      color: 'data(textColor)',
      'font-size': 11,
      'font-family': 'system-ui, sans-serif',
      'text-valign': 'center',
      'text-halign': 'center',
      'text-wrap': 'ellipsis',
      'text-max-width': `${NODE_WIDTH - 12}px`,
      'min-zoomed-font-size': 6,
    },
  },
  {
    selector: ':parent',
    style: {
      'background-color': '#f8fafc',
      'border-width': 3,
      'border-color': 'data(color)',
      color: '#0f172a',
      'font-weight': 'bold',
      'text-valign': 'top',
      'text-halign': 'center',
      'text-max-width': '400px',
      padding: `${COMPOUND_PADDING.side}px`,
      'compound-sizing-wrt-labels': 'include',
    },
  },
  // A task a rerun reused (it did not run in this plan): a dashed outline.
  { selector: 'node[?reused]', style: { 'border-style': 'dashed', 'border-width': 2 } },
  {
    selector: 'node:selected',
    style: { 'border-width': 3, 'border-color': '#0f172a', 'underlay-color': '#0f172a', 'underlay-opacity': 0.15 },
  },
  {
    selector: 'edge',
    style: {
      width: 1.2,
      'line-color': '#94a3b8',
      'target-arrow-color': '#94a3b8',
      'target-arrow-shape': 'triangle',
      'arrow-scale': 0.8,
      'curve-style': 'bezier',
    },
  },
  { selector: 'edge.big', style: { 'curve-style': 'straight' } },
];

const nodeData = (t: TaskNode) => ({
  id: t.id,
  label: t.id,
  state: t.state,
  color: colorOf(t.state),
  textColor: textColorOf(t.state),
  reused: t.reusedFrom !== undefined,
});

/**
 * The plan drawn as its graph with Cytoscape.js (canvas: a thousand tasks stay interactive): tasks as boxes coloured by
 * state, dependencies as arrows, a coordinator as a box around its sub-agents. Laid out by ELK (graph/layout.ts) again
 * whenever tasks appear; state changes only recolour.
 */
export class GraphView {
  readonly cy: Core;
  private structure = -1;
  private laying = false;
  private dirty = false;
  private fitted = false;

  constructor(
    container: HTMLElement,
    private readonly onSelect: (taskId: string | undefined) => void,
  ) {
    this.cy = cytoscape({
      container,
      style: STYLE,
      minZoom: 0.05,
      maxZoom: 3,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: true,
      textureOnViewport: false,
      pixelRatio: 1,
    });
    this.cy.on('tap', 'node', (e) => this.onSelect(e.target.id() as string));
  }

  /** Brings the drawing up to date with the model: new tasks and edges (then a layout), recoloured states. */
  sync(model: PlanModel): void {
    if (!model.loaded) return; // nothing to draw before the first snapshot
    const changed = model.drainChanged();
    if (model.structure !== this.structure) {
      this.structure = model.structure;
      this.addMissing(model);
      void this.layout(model);
    }
    if (changed.length === 0) return;
    this.cy.batch(() => {
      for (const id of changed) {
        const t = model.tasks.get(id);
        const el = this.cy.getElementById(id);
        if (t && el.nonempty()) el.data(nodeData(t));
      }
    });
    this.describeStates();
  }

  /** The drawn nodes by state, on the container (`completed:3 pending:1`): what tests and tools can read. */
  private describeStates(): void {
    const counts = new Map<string, number>();
    this.cy.nodes().forEach((n) => {
      const s = n.data('state') as string;
      counts.set(s, (counts.get(s) ?? 0) + 1);
    });
    const text = [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    this.cy.container()?.setAttribute('data-node-states', text);
  }

  select(taskId: string | undefined): void {
    this.cy.batch(() => {
      this.cy.$(':selected').unselect();
      if (taskId) this.cy.getElementById(taskId).select();
    });
  }

  /** The whole plan in view, never magnified past 1.2 (a small plan stays at its natural size). */
  fit(): void {
    this.cy.fit(undefined, 24);
    if (this.cy.zoom() > 1.2) {
      this.cy.zoom(1.2);
      this.cy.center();
    }
  }

  destroy(): void {
    this.cy.destroy();
  }

  private addMissing(model: PlanModel): void {
    const big = model.tasks.size > BIG;
    const add: ElementDefinition[] = [];
    const known = (id: string) => this.cy.getElementById(id).nonempty() || add.some((e) => e.data.id === id);
    // Parents before their sub-agents: Cytoscape needs the parent to exist.
    const tasks = [...model.tasks.values()].sort((a, b) => a.path.length - b.path.length);
    for (const t of tasks) {
      if (known(t.id)) continue;
      const parent = t.parent && known(t.parent) ? t.parent : undefined;
      const at = parent ? this.cy.getElementById(parent).position() : { x: 0, y: 0 };
      add.push({ group: 'nodes', data: { ...nodeData(t), ...(parent ? { parent } : {}) }, position: { ...at } });
    }
    for (const t of tasks) {
      for (const dep of t.dependsOn) {
        const id = `${dep}->${t.id}`;
        if (this.cy.getElementById(id).nonempty() || !model.tasks.has(dep)) continue;
        add.push({ group: 'edges', data: { id, source: dep, target: t.id }, classes: big ? 'big' : '' });
      }
    }
    if (add.length > 0) this.cy.add(add);
    if (big) this.cy.edges().addClass('big');
    perf.graph.nodes = this.cy.nodes().length;
    perf.graph.edges = this.cy.edges().length;
  }

  private async layout(model: PlanModel): Promise<void> {
    if (this.laying) {
      this.dirty = true;
      return;
    }
    this.laying = true;
    try {
      const started = performance.now();
      const tasks = [...model.tasks.values()].map((t) => ({
        id: t.id,
        ...(t.parent ? { parent: t.parent } : {}),
        dependsOn: t.dependsOn,
      }));
      const positions = await layoutPlan(tasks);
      perf.graph.layoutMs = Math.round(performance.now() - started);
      perf.graph.layouts++;
      if (this.cy.destroyed()) return;
      this.cy.batch(() => {
        this.cy.nodes().forEach((n) => {
          if (n.isParent()) return; // a coordinator's box follows its sub-agents
          const p = positions.get(n.id());
          if (p) n.position({ x: p.x + p.width / 2, y: p.y + p.height / 2 });
        });
      });
      if (!this.fitted) {
        this.fitted = true;
        this.fit();
        this.cy.one('render', () => {
          perf.graph.firstRenderMs ??= Math.round(performance.now());
          this.cy.container()?.setAttribute('data-rendered', 'true');
        });
        this.cy.forceRender();
      }
    } finally {
      this.laying = false;
      if (this.dirty) {
        this.dirty = false;
        void this.layout(model);
      }
    }
  }
}
