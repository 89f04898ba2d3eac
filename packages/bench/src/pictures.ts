import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import { SysfsView, type Device, type ImsStrategy, type IrqDomain, type IrqSystem, type MsiDomain } from "@imsim/core";
import { DESIGN_LETTER, STRATEGIES, STRATEGY_NAMES, type StrategyName } from "./matrix.js";
import { defaultScenario } from "./scenario.js";

// Pictures of the default scenario per design: its devices and irq domains (the parent links,
// where the descriptors live, the design's per-queue records), and beside them the sysfs tree a
// user browses. Positions come from ELK's layered layout (elkjs); this file only sizes each box
// from its text and draws what the layout returns, as inline SVG.

/** One box of a picture. */
export interface PictureNode {
  id: string;
  kind: "domain" | "device" | "record" | "dir" | "file" | "queue-dir";
  lines: string[];
}

export interface PictureEdge {
  from: string;
  to: string;
  label?: string;
}

export interface PictureGraph {
  title: string;
  nodes: PictureNode[];
  edges: PictureEdge[];
  /** ELK direction: DOWN for the hierarchy, RIGHT for a directory tree. */
  direction: "DOWN" | "RIGHT";
}

/** A record name without its parenthesised detail: "queue row (row, index set: …)" → "queue row". */
const shortName = (what: string) => what.replace(/\s*\(.*\)\s*$/, "");
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Ascending indices as ranges: [0, 1, 2, 7] → "0–2, 7". */
function ranges(xs: number[]): string {
  const sorted = [...xs].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j > i ? `${sorted[i]}–${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return out.join(", ");
}

const domainId = (d: IrqDomain) => `dom:${d.name}`;
const deviceId = (d: Device) => `dev:${d.name}`;

/**
 * The devices and domains of `system` with `strategy`'s queues: every per-device MSI domain with its
 * descriptor count, its parent chain up to VECTOR, the device tree, and one record box per queue
 * linked to the domain(s) holding the queue's descriptors (and to a child device of its own).
 */
export function hierarchyGraph(system: IrqSystem, strategy: ImsStrategy, title: string): PictureGraph {
  const nodes = new Map<string, PictureNode>();
  const edges: PictureEdge[] = [];
  const addDomain = (d: IrqDomain, lines: string[]) => {
    if (!nodes.has(domainId(d))) nodes.set(domainId(d), { id: domainId(d), kind: "domain", lines });
  };
  const msiDomains: MsiDomain[] = system.domains();
  for (const md of msiDomains) {
    addDomain(md.irqDomain, [md.name, `${md.kind.toUpperCase()} domain ${md.domainId} of ${md.device.name}`, `${count(md.allocated, "descriptor")} (msi_desc)`]);
    for (let d: IrqDomain = md.irqDomain; d.parent; d = d.parent) {
      addDomain(d.parent, [d.parent.name, d.parent.parent ? "MSI parent (interrupt remapping)" : "root: CPU vectors"]);
      const key = `${domainId(d.parent)}>${domainId(d)}`;
      if (!edges.some((e) => `${e.from}>${e.to}` === key)) edges.push({ from: domainId(d.parent), to: domainId(d) });
    }
  }
  for (const dev of system.devices()) {
    nodes.set(deviceId(dev), { id: deviceId(dev), kind: "device", lines: [dev.name, `device on bus ${dev.bus}`] });
    if (dev.parent) edges.push({ from: deviceId(dev.parent), to: deviceId(dev) });
  }
  for (const md of msiDomains) edges.push({ from: deviceId(md.device), to: domainId(md.irqDomain) });
  const records = strategy.records().records;
  const perQueue = records.find((r) => r.per === "queue");
  const perIrq = records.find((r) => r.per === "interrupt");
  for (const q of strategy.queues()) {
    const irqs = strategy.irqs(q);
    const id = `rec:${q.name}`;
    const lines = [`queue ${q.name}: ${perQueue ? shortName(perQueue.what) : "no record"}`];
    lines.push(perIrq ? `${irqs.length} × ${shortName(perIrq.what)}` : `${count(irqs.length, "interrupt")}, no record each`);
    lines.push(`store entries ${ranges(irqs.map((i) => i.storeIndex)) || "none"}`);
    // Where the PASID travels: the descriptors' instance cookies (the PASID itself in mainline).
    const pasid = strategy.pasidOf(q);
    const cookies = [...new Set(irqs.map((i) => system.irqDesc(i.virq)?.msiDesc?.cookie ?? 0))].map((c) => `0x${c.toString(16)}`);
    lines.push(`PASID ${pasid === undefined ? "none" : `0x${pasid.toString(16)}`} · cookie ${cookies.join(", ") || "–"}`);
    nodes.set(id, { id, kind: "record", lines });
    const held = new Set<string>();
    for (const irq of irqs) {
      const desc = system.irqDesc(irq.virq)?.msiDesc;
      const md = desc ? system.msiDomain(desc.device, desc.domainId) : undefined;
      if (md) held.add(domainId(md.irqDomain));
      if (desc && desc.device !== strategy.host && !held.has(deviceId(desc.device))) {
        held.add(deviceId(desc.device));
        edges.push({ from: id, to: deviceId(desc.device), label: "is" });
      }
    }
    for (const target of held) if (target.startsWith("dom:")) edges.push({ from: id, to: target, label: "descriptors in" });
  }
  return { title, nodes: [...nodes.values()], edges, direction: "DOWN" };
}

/** Files of sysfs the tree leaves out: the same two for every device, so they say nothing about a design. */
const OMITTED_FILES = new Set(["uevent", "irq"]);

/**
 * The sysfs tree under `root` as `SysfsView` builds it, without each device's `uevent` and `irq`
 * files; directories a queue's interrupts are listed in (`queueSysfsDir`) are marked.
 */
export function sysfsGraph(system: IrqSystem, root: string, queueDirs: ReadonlySet<string>, title: string): PictureGraph {
  const nodes = new Map<string, PictureNode>();
  const edges: PictureEdge[] = [];
  // The root by its last component; the title gives its whole path.
  nodes.set(root, { id: root, kind: queueDirs.has(root) ? "queue-dir" : "dir", lines: [`${root.slice(root.lastIndexOf("/") + 1)}/`] });
  const files = [...new SysfsView(system).files().keys()].filter((p) => p.startsWith(`${root}/`) && !OMITTED_FILES.has(p.slice(p.lastIndexOf("/") + 1)));
  files.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  for (const path of files) {
    const parts = path.slice(root.length + 1).split("/");
    let parent = root;
    parts.forEach((name, i) => {
      const id = `${parent}/${name}`;
      if (!nodes.has(id)) {
        const file = i === parts.length - 1;
        nodes.set(id, { id, kind: file ? "file" : queueDirs.has(id) ? "queue-dir" : "dir", lines: [file ? name : `${name}/`] });
        edges.push({ from: parent, to: id });
      }
      parent = id;
    });
  }
  return { title, nodes: [...nodes.values()], edges, direction: "RIGHT" };
}

// ------------------------------------------------------------------ layout and drawing

/** Monospace text of this size: its width is known from its length, so boxes fit their text. */
const FONT_SIZE = 12;
const CHAR_WIDTH = 7.3;
const LINE_HEIGHT = 16;
const PAD_X = 8;
const PAD_Y = 6;
const EDGE_FONT_SIZE = 10;
const EDGE_CHAR_WIDTH = 6.1;

const FILL: Record<PictureNode["kind"], string> = {
  domain: "#dbe9f6",
  device: "#eeeeee",
  record: "#fde3c8",
  dir: "#f7f7f7",
  "queue-dir": "#fde3c8",
  file: "#ffffff",
};
const STROKE: Record<PictureNode["kind"], string> = {
  domain: "#4c78a8",
  device: "#666666",
  record: "#c8661b",
  dir: "#999999",
  "queue-dir": "#c8661b",
  file: "#bbbbbb",
};

const ELK_MODULE = "elkjs/lib/elk.bundled.js";
type ElkLike = { layout(graph: ElkNode): Promise<ElkNode> };
let elkInstance: Promise<ElkLike> | undefined;

/** elkjs, loaded on first use (a large module the CLI's other commands never need). */
function loadElk(): Promise<ElkLike> {
  elkInstance ??= (import(ELK_MODULE) as Promise<Record<string, unknown>>).then((mod) => {
    // A CommonJS module: its export is the class, reached as `default` from ESM (twice over from a bundle).
    let ctor: unknown = mod["default"] ?? mod;
    if (typeof ctor !== "function" && typeof (ctor as Record<string, unknown>)["default"] === "function") ctor = (ctor as Record<string, unknown>)["default"];
    return new (ctor as new () => ElkLike)();
  });
  return elkInstance;
}

const escapeXml = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function nodeSize(n: PictureNode): { width: number; height: number } {
  const longest = Math.max(...n.lines.map((l) => l.length));
  return { width: Math.ceil(longest * CHAR_WIDTH + 2 * PAD_X), height: n.lines.length * LINE_HEIGHT + 2 * PAD_Y };
}

/** Lays `graph` out with ELK (layered) and draws it as a standalone SVG element with a title. */
export async function renderPicture(graph: PictureGraph, id: string): Promise<string> {
  const elk = await loadElk();
  const edges: ElkExtendedEdge[] = graph.edges.map((e, i) => {
    const edge: ElkExtendedEdge = { id: `e${i}`, sources: [e.from], targets: [e.to] };
    if (e.label) edge.labels = [{ text: e.label, width: Math.ceil(e.label.length * EDGE_CHAR_WIDTH) + 4, height: EDGE_FONT_SIZE + 4 }];
    return edge;
  });
  const laid = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": graph.direction,
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.spacing.nodeNode": graph.direction === "RIGHT" ? "6" : "16",
      "elk.layered.spacing.nodeNodeBetweenLayers": graph.direction === "RIGHT" ? "28" : "40",
      "elk.spacing.edgeLabel": "2",
      "elk.edgeLabels.placement": "CENTER",
      "elk.padding": "[top=12,left=12,bottom=12,right=12]",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      // Keep the order the graph lists nodes in (numeric for sysfs), where crossings allow.
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
    },
    children: graph.nodes.map((n) => ({ id: n.id, ...nodeSize(n) })),
    edges,
  });
  const width = Math.ceil(laid.width ?? 0);
  const height = Math.ceil(laid.height ?? 0);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  let body = "";
  for (const e of laid.edges ?? []) {
    for (const s of (e as ElkExtendedEdge).sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      body += `<polyline class="edge" points="${pts}" fill="none" stroke="#888" stroke-width="1.2" marker-end="url(#${id}-arrow)"/>`;
    }
    for (const l of (e as ElkExtendedEdge).labels ?? []) {
      body += `<text class="edge-label" x="${((l.x ?? 0) + 2).toFixed(1)}" y="${((l.y ?? 0) + EDGE_FONT_SIZE).toFixed(1)}" font-size="${EDGE_FONT_SIZE}" fill="#555">${escapeXml(l.text ?? "")}</text>`;
    }
  }
  for (const c of laid.children ?? []) {
    const n = byId.get(c.id)!;
    const x = c.x ?? 0;
    const y = c.y ?? 0;
    body += `<g class="node ${n.kind}" data-id="${escapeXml(n.id)}"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${c.width}" height="${c.height}" rx="4" fill="${FILL[n.kind]}" stroke="${STROKE[n.kind]}"/>`;
    n.lines.forEach((line, i) => {
      body += `<text x="${(x + PAD_X).toFixed(1)}" y="${(y + PAD_Y + (i + 1) * LINE_HEIGHT - 4).toFixed(1)}" font-size="${FONT_SIZE}"${i === 0 ? ' font-weight="bold"' : ""}>${escapeXml(line)}</text>`;
    });
    body += "</g>";
  }
  const defs = `<defs><marker id="${id}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" id="${id}" class="picture" role="img" aria-labelledby="${id}-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace"><title id="${id}-title">${escapeXml(graph.title)}</title>${defs}${body}</svg>`;
}

export interface DesignPicture {
  strategy: StrategyName;
  /** Devices and domains with the per-queue records. */
  hierarchy: string;
  /** The host's sysfs tree. */
  sysfs: string;
  /** What the picture shows, in a sentence. */
  caption: string;
}

/** The pictures of the default IDXD scenario (`imsim show --hardware idxd`) for every design. */
export async function renderDesignPictures(): Promise<DesignPicture[]> {
  const out: DesignPicture[] = [];
  for (const strategy of STRATEGY_NAMES) {
    const scenario = defaultScenario("idxd", STRATEGIES[strategy]);
    let graphs: [PictureGraph, PictureGraph, string];
    try {
      const host = scenario.hosts[0]!;
      const s = host.strategy;
      const queueDirs = new Set(s.supports.queueSysfs ? s.queues().map((q) => s.queueSysfsDir(q).replace(/\/msi_irqs$/, "")) : []);
      const name = `${DESIGN_LETTER[strategy]} ${strategy}`;
      const devices = host.system.devices().length;
      graphs = [
        hierarchyGraph(host.system, s, `${name}: devices, irq domains and per-queue records of the default IDXD scenario`),
        sysfsGraph(host.system, s.host.sysfsPath, queueDirs, `${name}: sysfs under ${s.host.sysfsPath}`),
        `${name}: ${devices} device${devices === 1 ? "" : "s"}, ${host.system.domains().length} per-device MSI domains, ${s.queues().length} queues. ` +
          (s.supports.queueSysfs ? "Each queue's interrupts are listed in its own directory (marked)." : "No directory lists one queue's interrupts; the host's msi_irqs/ holds its MSI-X vectors only."),
      ];
    } finally {
      scenario.teardown();
    }
    out.push({ strategy, hierarchy: await renderPicture(graphs[0], `pic-${strategy}-hierarchy`), sysfs: await renderPicture(graphs[1], `pic-${strategy}-sysfs`), caption: graphs[2] });
  }
  return out;
}
