/**
 * wagoodman/dive's image efficiency over an image's layer trees, computed as dive computes it
 * (`dive/filetree/efficiency.go`, `file_tree.go`, `file_node.go`, `dive/image/analysis.go`; research/ground-truth.md
 * §3.1), plus the figure dive#684 asks for.
 *
 * dive reads each layer tar into a tree of its entries (a file's size is its tar header size: regular files only, a
 * hard link's second name 0) and then:
 * - visits the layers in order, and in each the leaf nodes only, children before parents, names sorted;
 * - charges a whiteout of a former directory the total size of that directory's subtree in the tree stacked from the
 *   layers below; a whiteout of a file is charged 0; opaque markers (`.wh..wh..opq`) are ignored;
 * - per path keeps the cumulative size and the smallest size seen: `efficiency = Σ min / Σ cumulative`;
 * - `wastedBytes` is the cumulative size of every path seen at least twice, the copy the image keeps included;
 *   `userSizeBytes` is the size of every layer but the first, `wastedUserPercent = wasted / user`.
 *
 * dive's quirks are kept, since its numbers are the oracle: a whiteout naming a path absent from the stacked tree stops
 * the visit of the rest of that layer and leaves that path's minimum at -1 (so Σ min loses 1); stacking ignores opaque
 * directories. `reclaimableBytes` is ours: the wasted bytes less the copies the final image still shows (dive#684:
 * only N-1 of N copies can go), with the final image stacked as the OCI layer spec says (opaque directories honoured).
 *
 * A layer tree no longer records the tar's entry order, so a hard-linked inode's size is given to its first name in
 * sorted walk order (the order Docker's and kaniko's tar writers emit; the others are link entries of size 0), and a
 * directory created only implicitly by a deeper entry cannot be told from one with its own entry (dive treats the
 * former as a non-directory when charging a whiteout).
 */
import type { Inode } from '../fs/inode.js';
import type { Volume } from '../fs/volume.js';
import { layerTarSize } from './docker-size.js';

const WHITEOUT_PREFIX = '.wh.';
const META_PREFIX = '.wh..wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** dive's FileInfo, the parts the efficiency uses. */
interface Info {
  readonly size: number;
  readonly isDir: boolean;
}

const BLANK: Info = { size: 0, isDir: false };

/** dive's FileNode. */
class Node {
  readonly children = new Map<string, Node>();
  constructor(
    readonly name: string,
    readonly parent: Node | undefined,
    public info: Info,
  ) {}

  isLeaf(): boolean {
    return this.children.size === 0;
  }

  isWhiteout(): boolean {
    return this.name.startsWith(WHITEOUT_PREFIX);
  }

  /** The path from the root; a leaf's `.wh.` prefix is dropped (FileNode.Path). */
  path(): string {
    if (this.parent === undefined) return '/';
    const names = [this.name.startsWith(WHITEOUT_PREFIX) ? this.name.slice(WHITEOUT_PREFIX.length) : this.name];
    for (let n = this.parent; n.parent !== undefined; n = n.parent) names.unshift(n.name);
    return `/${names.join('/')}`;
  }

  copy(parent: Node | undefined): Node {
    const n = new Node(this.name, parent, this.info);
    for (const [name, child] of this.children) n.children.set(name, child.copy(n));
    return n;
  }

  /** VisitDepthChildFirst: children (sorted) first, then the node (never the root); false when a visit failed. */
  visitChildFirst(visit: (n: Node) => boolean, evaluate?: (n: Node) => boolean): boolean {
    for (const name of [...this.children.keys()].sort(byteOrder)) {
      if (!this.children.get(name)!.visitChildFirst(visit, evaluate)) return false;
    }
    if (this.parent === undefined) return true;
    return evaluate === undefined || evaluate(this) ? visit(this) : true;
  }
}

/** Go's sort.Strings: byte order of the UTF-8 encoding. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function splitPath(path: string): string[] {
  return path.split('/').filter(p => p !== '' && p !== '.');
}

/** FileTree.AddPath: creates missing parents with a blank payload; names starting `.wh..wh.` are never added. */
function addPath(root: Node, path: string, info: Info): void {
  const names = splitPath(path);
  let node = root;
  names.forEach((name, i) => {
    let child = node.children.get(name);
    if (child === undefined) {
      if (name.startsWith(META_PREFIX)) return;
      child = new Node(name, node, BLANK);
      node.children.set(name, child);
    }
    node = child;
    if (i === names.length - 1) node.info = info;
  });
}

function getNode(root: Node, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const name of splitPath(path)) {
    node = node.children.get(name);
    if (node === undefined) return undefined;
  }
  return node;
}

/** FileTree.Stack: the upper tree's nodes, children first: whiteouts remove their path, others are added. */
function stack(lower: Node, upper: Node): void {
  upper.visitChildFirst(n => {
    if (n.isWhiteout()) {
      const target = getNode(lower, n.path());
      if (target !== undefined && target.parent !== undefined) target.parent.children.delete(target.name);
    } else {
      addPath(lower, n.path(), n.info);
    }
    return true;
  });
}

/** StackTreeRange(trees, 0, stop): a copy of the first tree with trees 0..stop stacked on it. */
function stackRange(trees: readonly Node[], stop: number): Node {
  const root = trees[0]!.copy(undefined);
  for (let i = 0; i <= stop; i++) stack(root, trees[i]!);
  return root;
}

/** One layer tree's entries as dive's tree: tar header sizes, a hard-linked inode's size on its first name. */
function diveTree(volume: Volume): Node {
  const root = new Node('', undefined, { size: 0, isDir: true });
  const linked = new Set<Inode>();
  for (const [path, inode] of volume.walk()) {
    let size = 0;
    if (inode.kind === 'file' && !linked.has(inode)) {
      size = inode.size;
      if (inode.nlink > 1) linked.add(inode);
    }
    addPath(root, path, { size, isDir: inode.kind === 'dir' });
  }
  return root;
}

interface PathData {
  path: string;
  cumulative: number;
  min: number;
  layers: number[];
}

/** A path dive counts as inefficient (seen in two or more layers). */
export interface DiveInefficiency {
  path: string;
  /** Layers the path appears in (whiteouts included). */
  count: number;
  layers: number[];
  /** Σ of its sizes over those layers (a whiteout of a directory: the directory's size then). */
  cumulativeBytes: number;
  /** cumulativeBytes less the size of the copy the final image shows (0 when it is gone). */
  reclaimableBytes: number;
}

export interface DiveAnalysis {
  /** Each layer's size, as dive and Docker record it (tar header sizes). */
  layerSizes: number[];
  sizeBytes: number;
  /** Σ layer sizes but the first (the base image's). */
  userSizeBytes: number;
  efficiency: number;
  wastedBytes: number;
  /** wasted / user; null when userSizeBytes is 0 (dive divides anyway: NaN or +Inf). */
  wastedUserPercent: number | null;
  /** Σ over inefficient paths of reclaimableBytes: what deduplicating them would save (dive#684's N-1 copies). */
  reclaimableBytes: number;
  /** By cumulative size, largest first; ties by path. */
  inefficiencies: DiveInefficiency[];
}

/** dive's efficiency (filetree.Efficiency) over dive trees. */
function efficiency(trees: readonly Node[]): { score: number; paths: Map<string, PathData>; order: PathData[] } {
  const paths = new Map<string, PathData>();
  const inefficient: PathData[] = [];
  trees.forEach((tree, idx) => {
    let stacked: Node | undefined;
    tree.visitChildFirst(
      node => {
        const path = node.path();
        let data = paths.get(path);
        if (data === undefined) {
          data = { path, cumulative: 0, min: -1, layers: [] };
          paths.set(path, data);
        }
        let size = 0;
        if (node.isWhiteout()) {
          stacked ??= stackRange(trees, idx - 1);
          const previous = getNode(stacked, path);
          // dive: GetNode fails, the visitor returns the error and the rest of this layer is not visited
          if (previous === undefined) return false;
          if (previous.info.isDir) {
            // VisitDepthChildFirst from the directory: its subtree and the directory itself
            previous.visitChildFirst(n => ((size += n.info.size), true));
          }
        } else {
          size = node.info.size;
        }
        data.cumulative += size;
        if (data.min < 0 || size < data.min) data.min = size;
        data.layers.push(idx);
        if (data.layers.length === 2) inefficient.push(data);
        return true;
      },
      node => node.isLeaf(),
    );
  });
  let minimum = 0;
  let discovered = 0;
  for (const d of paths.values()) {
    minimum += d.min;
    discovered += d.cumulative;
  }
  return { score: discovered === 0 ? 1 : minimum / discovered, paths, order: inefficient };
}

/**
 * The final image's paths with the size each shows, stacked per the OCI layer spec: a layer's whiteouts and opaque
 * markers hide what the layers below hold, then its entries are added. Sizes are the dive sizes of the layer that
 * supplies the path.
 */
function finalView(trees: readonly Volume[]): Map<string, number> {
  const view = new Map<string, number>();
  const removeUnder = (path: string, self: boolean): void => {
    if (self) view.delete(path);
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const p of [...view.keys()]) if (p.startsWith(prefix)) view.delete(p);
  };
  for (const volume of trees) {
    const added: [string, number][] = [];
    const linked = new Set<Inode>();
    for (const [path, inode] of volume.walk()) {
      if (path.includes(`/${META_PREFIX}`) && !path.endsWith(`/${OPAQUE_MARKER}`)) continue;
      const slash = path.lastIndexOf('/');
      const dir = path.slice(0, slash) || '/';
      const name = path.slice(slash + 1);
      if (name === OPAQUE_MARKER) {
        removeUnder(dir, false);
      } else if (name.startsWith(WHITEOUT_PREFIX)) {
        removeUnder(`${dir === '/' ? '' : dir}/${name.slice(WHITEOUT_PREFIX.length)}`, true);
      } else {
        let size = 0;
        if (inode.kind === 'file' && !linked.has(inode)) {
          size = inode.size;
          if (inode.nlink > 1) linked.add(inode);
        }
        added.push([path, size]);
      }
    }
    for (const [path, size] of added) view.set(path, size);
  }
  return view;
}

/** dive's analysis of an image given as its layer trees (OCI form), bottom layer first. */
export function diveAnalysis(trees: readonly Volume[]): DiveAnalysis {
  const layerSizes = trees.map(layerTarSize);
  const sizeBytes = layerSizes.reduce((a, b) => a + b, 0);
  const userSizeBytes = sizeBytes - (layerSizes[0] ?? 0);
  const { score, order } = trees.length === 0 ? { score: 1, order: [] } : efficiency(trees.map(diveTree));
  const visible = finalView(trees);
  const inefficiencies = order
    .map(d => ({
      path: d.path,
      count: d.layers.length,
      layers: d.layers,
      cumulativeBytes: d.cumulative,
      reclaimableBytes: d.cumulative - Math.min(d.cumulative, visible.get(d.path) ?? 0),
    }))
    .sort((a, b) => b.cumulativeBytes - a.cumulativeBytes || byteOrder(a.path, b.path));
  const wastedBytes = inefficiencies.reduce((sum, i) => sum + i.cumulativeBytes, 0);
  return {
    layerSizes,
    sizeBytes,
    userSizeBytes,
    efficiency: score,
    wastedBytes,
    wastedUserPercent: userSizeBytes === 0 ? null : wastedBytes / userSizeBytes,
    reclaimableBytes: inefficiencies.reduce((sum, i) => sum + i.reclaimableBytes, 0),
    inefficiencies,
  };
}
