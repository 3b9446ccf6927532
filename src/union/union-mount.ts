import { FileContent, type DataSlice } from '../fs/content.js';
import type { CostMeter } from '../fs/cost.js';
import { fail } from '../fs/errno.js';
import type { Inode } from '../fs/inode.js';
import { applyAttrChange } from '../fs/plain-mount.js';
import type { Volume } from '../fs/volume.js';
import type { AttrChange, CreateSpec, Mount, OpenIntent } from '../vfs/mount.js';
import type { BranchFormat, BranchProbe } from './branch-format.js';

/** How a union filesystem behaves where overlayfs and AUFS (and their options) differ. */
export interface UnionPolicy {
  /** rename(2) of a directory that has lower layers: EXDEV, redirect (overlayfs redirect_dir=on), or EXDEV only when non-empty (AUFS). */
  readonly dirRename: 'EXDEV' | 'redirect' | 'EXDEV-unless-empty';
  /** Copy-up of a hard-linked lower file: breaks the link (overlayfs index=off) or keeps the names together (index=on, AUFS pseudo-links). */
  readonly hardLinks: 'break' | 'shared';
  /** overlayfs metacopy=on: chmod/chown/utimes copy metadata only; data follows on the first write-open. */
  readonly metacopy: boolean;
  /** Copy-up leaves fully zero blocks of this size as holes (AUFS au_do_copy_file); 0 copies every written byte. */
  readonly sparseCopyUpBlockBytes: number;
}

/** The layers of a state with no lower inode (shared: `lowerIdx` arrays are replaced, never changed in place). */
const NO_LAYERS: readonly number[] = [];

/** The lowers of a pure-upper state (shared: `lowers` arrays too are replaced, never changed in place). */
const NO_LOWERS: readonly Inode[] = [];

/** `[layer]` for each layer, shared by every state found in that one layer (most lower files). */
const ONE_LAYER: (readonly number[])[] = [];

function oneLayer(layer: number): readonly number[] {
  while (ONE_LAYER.length <= layer) ONE_LAYER.push(Object.freeze([ONE_LAYER.length]));
  return ONE_LAYER[layer]!;
}

/**
 * What every name of one inode shares (struct ovl_inode): its upper inode once copied up, the lower inodes it stands
 * for, and — while only its metadata is up (metacopy) — the lower file that still holds its data. Hard links share one.
 */
export class UnionInode {
  /** The layer (index into the mount's lower roots) each of `lowers` was found in (replaced, never changed in place). */
  lowerIdx: readonly number[] = NO_LAYERS;
  /** Set while the data lives in a lower file: the upper (or lower metacopy) inode holds metadata only. */
  data: Inode | undefined = undefined;

  constructor(
    public upper: Inode | undefined,
    /** Directories: the lower directories merged here, top first. Others: the lower inode found. (Replaced, never changed in place.) */
    public lowers: readonly Inode[],
  ) {}
}

/** A name in the merged tree (an overlay dentry): the inode it names, and what a cold lookup of it costs. */
export class UnionNode {
  children: Map<string, UnionNode> | undefined = undefined;
  /** This name is an entry of its parent's upper directory (else its inode may still be up through another name). */
  inUpper = false;

  constructor(
    public name: string,
    public parent: UnionNode | undefined,
    public state: UnionInode,
    /** Branch probes the lookup of this name performed (the cold-cache lookup cost). */
    public probes: number,
  ) {}

  get upper(): Inode | undefined {
    return this.state.upper;
  }

  get lowers(): readonly Inode[] {
    return this.state.lowers;
  }

  get metacopy(): boolean {
    return this.state.data !== undefined;
  }

  get exists(): boolean {
    return this.state !== ABSENT_STATE;
  }

  /** The inode is up (index / pseudo-link) but this name is not in the upper directory yet. */
  get upperByAlias(): boolean {
    return this.state.upper !== undefined && !this.inUpper;
  }
}

/**
 * The state of every name that does not exist. Absent names stay in the lookup cache only to remember what a miss
 * costs: `lookup` never hands them out, and a name created there gets a node and state of its own, so this one
 * state is never changed.
 */
const ABSENT_STATE = new UnionInode(undefined, NO_LOWERS);

/**
 * The cached misses, one per probe count: a miss is never handed out, renamed or changed (a name created there gets a
 * node of its own), so all misses that cost the same share one node and a cold miss allocates nothing.
 */
const ABSENT_NODES: UnionNode[] = [];

function absent(probes: number): UnionNode {
  let node = ABSENT_NODES[probes];
  if (node === undefined) {
    for (let p = ABSENT_NODES.length; p <= probes; p++) ABSENT_NODES.push(new UnionNode('', undefined, ABSENT_STATE, p));
    node = ABSENT_NODES[probes]!;
  }
  return node;
}

/**
 * A union mount: one writable upper branch over read-only lower branches (overlayfs, AUFS). Names are looked up
 * top-down, a whiteout or a non-directory ends the search, directories merge until an opaque one; anything changed
 * is first copied up whole into the upper branch, parents first. Lower branches are never written.
 *
 * Looked-up names are cached per directory (the dcache); every mutation goes through this class and keeps the cache
 * exact, so a repeated lookup costs a Map hit while still charging the probes a cold lookup performs.
 */
export class UnionMount implements Mount<UnionNode> {
  readonly root: UnionNode;
  /** Inodes with more than one name, by the real inode they show, so every name finds the same state. */
  private readonly linked = new Map<Inode, UnionInode>();
  /**
   * Moves when a cached name may resolve differently or charge other probes than before (`Mount.generation`): a
   * lookup cost refreshed after a copy-up, a directory removed or renamed.
   */
  generation = 0;
  /** The upper volume's cost meter (where lookups are charged), held here: every lookup charges it. */
  private readonly costs: CostMeter;
  /** The walk down the lower layers every cold lookup uses (lookups do not nest). */
  private readonly walk: LowerWalk = new LowerWalk(this);

  constructor(
    readonly upperVolume: Volume,
    /** Lower branch roots, top first. */
    readonly lowerRoots: readonly Inode[],
    readonly format: BranchFormat,
    readonly policy: UnionPolicy,
    /** Copied-up hard-linked lower inodes -> their upper inode (overlayfs index dir, AUFS pseudo-links). */
    readonly aliases: Map<Inode, Inode> = new Map(),
  ) {
    this.costs = upperVolume.meter;
    const lowers: Inode[] = [];
    let probes = 0;
    if (!format.isOpaque(upperVolume.root)) {
      for (const root of lowerRoots) {
        lowers.push(root);
        probes++;
        if (format.isOpaque(root)) break;
      }
    }
    const state = new UnionInode(upperVolume.root, lowers);
    state.lowerIdx = lowers.map((_, i) => i);
    this.root = new UnionNode('', undefined, state, probes + 1);
    this.root.inUpper = true;
  }

  get meter(): CostMeter {
    return this.upperVolume.meter;
  }

  inode(node: UnionNode): Inode {
    return node.upper ?? node.lowers[0]!;
  }

  /**
   * ovl_getattr(): a merged directory reports nlink 1 ("nlink=1 seems to pacify 'find'"); everything else reports
   * the link count of the real inode it shows (a broken lower hard link keeps the lower's count).
   */
  nlink(node: UnionNode): number {
    const inode = this.inode(node);
    if (inode.kind === 'dir' && node.lowers.length > (node.upper !== undefined ? 0 : 1)) return 1;
    return inode.nlink;
  }

  // ---- lookup ----------------------------------------------------------------------------------------------------

  lookup(dir: UnionNode, name: string): UnionNode | undefined {
    let cache = dir.children;
    if (cache === undefined) cache = dir.children = new Map();
    let node = cache.get(name);
    if (node === undefined) {
      // a reserved name never enters the cache (every name is looked up before it is created), so a hit needs no check
      if (this.format.isReservedName(name)) fail('EPERM');
      node = this.lookupCold(dir, name);
      cache.set(name, node);
    }
    this.costs.lookups += node.probes;
    return node.state !== ABSENT_STATE ? node : undefined;
  }

  /** ovl_lookup(): probe the upper, then each lower directory, under the whiteout/opaque/non-dir rules. */
  private lookupCold(dir: UnionNode, name: string): UnionNode {
    const format = this.format;
    let probes = 0;
    let upper: Inode | undefined;
    const dirUpper = dir.state.upper;
    if (dirUpper !== undefined) {
      const found = format.probe(dirUpper, name);
      probes += format.probeCost(found);
      if (found === null) return absent(probes);
      upper = found;
    }
    if (upper !== undefined && upper.kind !== 'dir') {
      // an upper non-directory hides everything below; a metacopy file still needs its lower data
      const state = this.stateOfUpper(upper);
      if (state.data === undefined && this.policy.metacopy && this.isMetacopy(upper)) {
        const found = this.findData(dir, format.getRedirect?.(upper) ?? name, -1);
        probes += found.probes;
        if (found.inode !== undefined) {
          state.data = found.inode;
          state.lowers = [found.inode];
        }
      }
      const node = new UnionNode(name, dir, state, probes);
      node.inUpper = true;
      return node;
    }
    if (upper !== undefined && format.isOpaque(upper)) {
      const node = new UnionNode(name, dir, new UnionInode(upper, NO_LOWERS), probes);
      node.inUpper = true;
      return node;
    }
    // ovl_lookup_layer(): walk down the layers; a directory found with trusted.overlay.redirect is continued below
    // under its old name (relative) or old path (absolute), in whichever layer the redirect is found
    let lowers: Inode[] | undefined;
    // the layer of the first lower found; an index array of its own only once a second one merges in
    let firstLayer = -1;
    let lowerIdx: number[] | undefined;
    let data: Inode | undefined;
    let target = (upper !== undefined ? format.getRedirect?.(upper) : undefined) ?? name;
    const below = this.walk.start(dir, -1);
    for (;;) {
      const p = below.next(target);
      if (p === NO_LAYER) break;
      const layer = below.layer;
      probes += below.probes;
      if (p === null) break;
      if (p === undefined) continue;
      if (p.kind !== 'dir') {
        if (upper === undefined && lowers === undefined) {
          lowers = [p];
          firstLayer = layer;
          if (this.policy.metacopy && this.isMetacopy(p)) {
            // a metadata-only copy-up frozen in a lower layer: its data is further down
            const found = this.findData(dir, format.getRedirect?.(p) ?? target, layer);
            probes += found.probes;
            data = found.inode;
          }
        }
        break;
      }
      if (lowers === undefined) {
        lowers = [p];
        firstLayer = layer;
      } else {
        lowers.push(p);
        (lowerIdx ??= [firstLayer]).push(layer);
      }
      if (format.isOpaque(p)) break;
      target = format.getRedirect?.(p) ?? target;
    }
    if (lowers === undefined) {
      if (upper === undefined) return absent(probes);
    } else if (upper === undefined && lowers.length === 1 && lowers[0]!.kind !== 'dir') {
      return new UnionNode(name, dir, this.stateOfLower(lowers[0]!, oneLayer(firstLayer), data), probes);
    }
    const state = new UnionInode(upper, lowers ?? NO_LOWERS);
    state.lowerIdx = lowerIdx ?? (lowers === undefined ? NO_LAYERS : oneLayer(firstLayer));
    const node = new UnionNode(name, dir, state, probes);
    node.inUpper = upper !== undefined;
    return node;
  }

  /** The state of an upper non-directory: shared by all its names when it has several. */
  private stateOfUpper(upper: Inode): UnionInode {
    if (upper.nlink <= 1) return new UnionInode(upper, NO_LOWERS);
    let state = this.linked.get(upper);
    if (state === undefined) this.linked.set(upper, (state = new UnionInode(upper, NO_LOWERS)));
    return state;
  }

  /**
   * The state of a lower non-directory. Under 'shared' hard links every name of a lower inode is one inode, up
   * already if another name was copied up (the index / pseudo-link); under 'break' each name is its own inode.
   */
  private stateOfLower(lower: Inode, lowerIdx: readonly number[], data: Inode | undefined): UnionInode {
    const shared = this.policy.hardLinks === 'shared' && lower.nlink > 1;
    let state = shared ? this.linked.get(lower) : undefined;
    if (state === undefined) {
      state = new UnionInode(shared ? this.aliases.get(lower) : undefined, [lower]);
      state.lowerIdx = lowerIdx;
      state.data = data;
      if (shared) this.linked.set(lower, state);
    }
    return state;
  }

  /**
   * The file holding a metacopy file's data: looked up under `target` (its name, or its redirect) in the layers below
   * `afterLayer`, past further metadata-only copies.
   */
  private findData(dir: UnionNode, target: string, afterLayer: number): { inode: Inode | undefined; probes: number } {
    let probes = 0;
    // its own walk: the cold lookup that asks for the data is in the middle of the mount's
    const below = new LowerWalk(this).start(dir, afterLayer);
    for (;;) {
      const e = below.next(target);
      if (e === NO_LAYER) break;
      probes += below.probes;
      if (e === null) break;
      if (e === undefined) continue;
      if (e.kind !== 'file') break;
      if (!this.isMetacopy(e)) return { inode: e, probes };
      target = this.format.getRedirect?.(e) ?? target;
    }
    return { inode: undefined, probes };
  }

  private isMetacopy(upper: Inode): boolean {
    return upper.xattrs?.has('trusted.overlay.metacopy') ?? false;
  }

  /** ovl_lower_positive(): whether `name` exists in the lower layers of `dir` (a removal then needs a whiteout). */
  private lowerPositive(dir: UnionNode, name: string): boolean {
    if (dir.upper !== undefined && this.format.isOpaque(dir.upper)) return false;
    for (const lowerDir of dir.state.lowers) {
      const found = this.format.probe(lowerDir, name);
      this.costs.lookups += this.format.probeCost(found);
      if (found === null) return false;
      if (found !== undefined) return true;
    }
    return false;
  }

  readdir(dir: UnionNode): string[] {
    const names = new Set<string>();
    if (dir.upper !== undefined) for (const n of this.format.visibleNames(dir.upper)) names.add(n);
    for (const lowerDir of dir.lowers) for (const n of this.format.visibleNames(lowerDir)) names.add(n);
    const out: string[] = [];
    for (const n of names) if (this.lookup(dir, n) !== undefined) out.push(n);
    return out;
  }

  sameInode(a: UnionNode, b: UnionNode): boolean {
    return this.identity(a) === this.identity(b);
  }

  /**
   * Which overlay inode a name is: the shared state. Lower hard links are distinct inodes when copy-up would break
   * them (ovl_hash_bylower), since each name then has a state of its own.
   */
  private identity(n: UnionNode): object {
    return n.state;
  }

  /** st_ino: a copied-up object keeps its lower inode number (samefs: overlayfs.rst "Inode properties"). */
  ino(node: UnionNode): number {
    const origin = node.state.lowers[0];
    if (origin !== undefined && !this.breaksHardLink(origin)) return origin.ino;
    return this.inode(node).ino;
  }

  xattrs(node: UnionNode): ReadonlyMap<string, Uint8Array> | undefined {
    const all = this.inode(node).xattrs;
    if (all === undefined) return undefined;
    return new Map([...all].filter(([k]) => !this.format.isPrivateXattr(k)));
  }

  content(node: UnionNode): FileContent {
    return (node.state.data ?? this.inode(node)).content!;
  }

  /**
   * `auplink flush` (Docker ran it before unmounting an aufs container): every name of an inode that is up only
   * through a pseudo-link (or the overlayfs index) is linked into the upper directory, so the layer holds all its
   * names on its own when it is frozen into an image.
   */
  flushAliases(): void {
    if (this.aliases.size === 0) return;
    const walk = (dir: UnionNode): void => {
      for (const name of this.readdir(dir)) {
        const node = this.lookup(dir, name)!;
        if (this.inode(node).kind === 'dir') walk(node);
        else if (node.upperByAlias) this.copyUp(node, 'meta');
      }
    };
    walk(this.root);
  }

  // ---- copy-up ---------------------------------------------------------------------------------------------------

  /**
   * ovl_copy_up(): gives `node` an upper inode. Parents are copied up first, as directories with their metadata only;
   * a regular file is copied whole ('data'), as metadata only ('meta', metacopy), or empty ('empty', open with O_TRUNC:
   * "if (flags & O_TRUNC) ctx.stat.size = 0").
   */
  copyUp(node: UnionNode, what: 'data' | 'meta' | 'empty'): Inode {
    const st = node.state;
    const volume = this.upperVolume;
    if (st.upper !== undefined) {
      if (!node.inUpper) {
        // the inode is up already (index / pseudo-link): only this name is linked into the upper directory
        volume.addEntry(this.copyUp(node.parent!, 'meta'), node.name, st.upper);
        node.inUpper = true;
      }
      if (st.data !== undefined && what !== 'meta') this.copyUpData(st, what);
      return st.upper;
    }
    const parentUpper = this.copyUp(node.parent!, 'meta');
    const lower = st.lowers[0]!;
    const dataSource = st.data ?? lower;
    const metaOnly = lower.kind === 'file' && what === 'meta' && this.policy.metacopy;
    let content: FileContent | undefined;
    if (lower.kind === 'file') {
      if (what === 'empty') content = new FileContent();
      else if (metaOnly) content = new FileContent(lower.content!.size);
      else content = this.copyContent(dataSource.content!);
    }
    const upper = volume.newInode(lower.kind, {
      mode: lower.mode,
      uid: lower.uid,
      gid: lower.gid,
      rdev: lower.rdev,
      target: lower.target,
      content,
    });
    if (content !== undefined && !metaOnly) this.meter.copyUpBytes += content.dataBytes();
    upper.atime = lower.atime;
    upper.mtime = lower.mtime;
    if (lower.xattrs) {
      for (const [k, v] of lower.xattrs) if (!this.format.isPrivateXattr(k)) volume.setXattr(upper, k, v);
    }
    // a hard link that copy-up breaks gets no origin: its lower inode no longer stands for it (ovl_do_copy_up)
    if (!this.breaksHardLink(lower)) this.format.markCopiedUp?.(volume, upper, lower);
    // "Mark parent 'impure' because it may now contain non-pure upper" (ovl_do_copy_up)
    this.format.markImpure?.(volume, parentUpper);
    if (metaOnly) this.format.setMetacopy?.(volume, upper, true);
    st.data = metaOnly ? dataSource : undefined;
    volume.addEntry(parentUpper, node.name, upper, true);
    st.upper = upper;
    node.inUpper = true;
    this.refreshProbes(node);
    if (lower.kind !== 'dir' && lower.nlink > 1 && this.policy.hardLinks === 'shared') this.aliases.set(lower, upper);
    return upper;
  }

  /**
   * Re-derives what a cold lookup of this name costs now (after a change moved where it is found). Walks the VFS
   * remembered through it charge the new cost (`lookupCost`).
   */
  private refreshProbes(node: UnionNode): void {
    node.probes = this.coldProbes(node);
  }

  /** What `lookup` charges for this node now: remembered walks read it (`Mount.lookupCost`), so a change needs no generation. */
  lookupCost(node: UnionNode): number {
    return node.probes;
  }

  /** The probes a cold lookup of this name performs. */
  private coldProbes(node: UnionNode): number {
    const parent = node.parent;
    if (parent === undefined) return node.probes;
    const upper = node.state.upper;
    // an upper non-directory ends the lookup at the upper probe (unless its data is still below: metacopy)
    if (upper !== undefined && upper.kind !== 'dir' && node.inUpper && node.state.data === undefined && parent.upper !== undefined) {
      // the name is an entry of the parent's upper directory: probing there finds `upper` itself
      return this.format.probeCost(upper);
    }
    return this.lookupCold(parent, node.name).probes;
  }

  private breaksHardLink(lower: Inode): boolean {
    return this.policy.hardLinks === 'break' && lower.kind !== 'dir' && lower.nlink > 1;
  }

  /** The deferred data copy of a metacopy file, on its first write-open or truncate. */
  private copyUpData(st: UnionInode, what: 'data' | 'empty'): void {
    const upper = st.upper!;
    const content = what === 'empty' ? new FileContent() : this.copyContent(st.data!.content!);
    upper.content = new FileContent();
    this.upperVolume.replaceContent(upper, content);
    this.meter.copyUpBytes += content.dataBytes();
    this.format.setMetacopy?.(this.upperVolume, upper, false);
    st.data = undefined;
  }

  private copyContent(content: FileContent): FileContent {
    const block = this.policy.sparseCopyUpBlockBytes;
    return block > 0 ? content.cloneSparse(block) : content.clone();
  }

  private setattrCopyUp(node: UnionNode): Inode {
    return this.copyUp(node, this.policy.metacopy ? 'meta' : 'data');
  }

  // ---- changes ---------------------------------------------------------------------------------------------------

  private cacheOf(dir: UnionNode): Map<string, UnionNode> {
    return (dir.children ??= new Map());
  }

  create(dir: UnionNode, name: string, spec: CreateSpec): UnionNode {
    const dirUpper = this.copyUp(dir, 'meta');
    const volume = this.upperVolume;
    const overWhiteout = this.format.hasWhiteout(dirUpper, name);
    if (overWhiteout) this.format.removeWhiteout(volume, dirUpper, name);
    const inode = volume.createChild(dirUpper, name, spec.kind, spec);
    // ovl_create_over_whiteout(): a directory created where a lower one was removed must not show its old entries;
    // with redirect_dir, a new directory in a merged one is made opaque up front ("just an optimization": a later
    // rename of it then needs no redirect)
    const mergedParent = dir.lowers.length > 0 && this.policy.dirRename === 'redirect';
    if (spec.kind === 'dir' && (overWhiteout || mergedParent)) this.format.setOpaque(volume, inode);
    const node = new UnionNode(name, dir, new UnionInode(inode, NO_LOWERS), 0);
    node.inUpper = true;
    // a new name is on no remembered walk yet: its cost is set without moving the generation
    node.probes = this.coldProbes(node);
    this.cacheOf(dir).set(name, node);
    return node;
  }

  link(node: UnionNode, dir: UnionNode, name: string): void {
    const hasOrigin = node.lowers.length > 0 && !this.breaksHardLink(node.lowers[0]!);
    const upper = this.copyUp(node, this.policy.metacopy ? 'meta' : 'data');
    // ovl_link() of a metacopy file: both names must find the lower data, so it gets an absolute redirect
    if (node.metacopy && !(this.format.getRedirect?.(upper)?.startsWith('/') ?? false)) {
      this.format.setRedirect?.(this.upperVolume, upper, this.originPath(node));
    }
    const dirUpper = this.copyUp(dir, 'meta');
    if (this.format.hasWhiteout(dirUpper, name)) this.format.removeWhiteout(this.upperVolume, dirUpper, name);
    this.upperVolume.addEntry(dirUpper, name, upper);
    // ovl_create_or_link(): "When linking a file with copy up origin into a new parent, mark the new parent dir impure"
    if (hasOrigin) this.format.markImpure?.(this.upperVolume, dirUpper);
    // both names are one inode: they share the state (and so a later data copy-up of either)
    this.linked.set(upper, node.state);
    const linked = new UnionNode(name, dir, node.state, 0);
    linked.inUpper = true;
    linked.probes = this.coldProbes(linked);
    this.cacheOf(dir).set(name, linked);
  }

  unlink(dir: UnionNode, name: string, node: UnionNode): void {
    const dirUpper = this.copyUp(dir, 'meta');
    const needsWhiteout = this.lowerPositive(dir, name);
    if (node.inUpper) this.upperVolume.removeEntry(dirUpper, name);
    if (needsWhiteout) this.format.addWhiteout(this.upperVolume, dirUpper, name);
    this.cacheOf(dir).delete(name);
  }

  rmdir(dir: UnionNode, name: string, node: UnionNode): void {
    if (this.readdir(node).length > 0) fail('ENOTEMPTY');
    this.generation++;
    const dirUpper = this.copyUp(dir, 'meta');
    const needsWhiteout = this.lowerPositive(dir, name);
    if (node.inUpper) {
      this.format.clearMarkers(this.upperVolume, node.upper!);
      this.upperVolume.removeEntry(dirUpper, name);
    }
    if (needsWhiteout) this.format.addWhiteout(this.upperVolume, dirUpper, name);
    this.cacheOf(dir).delete(name);
  }

  /** The path of a node from the union root, for an absolute redirect (the node's own redirect wins). */
  private originPath(node: UnionNode): string {
    const own = node.upper !== undefined ? this.format.getRedirect?.(node.upper) : undefined;
    if (own !== undefined && own.startsWith('/')) return own;
    const name = own ?? node.name;
    return node.parent === undefined ? '' : `${this.originPath(node.parent)}/${name}`;
  }

  rename(oldDir: UnionNode, oldName: string, node: UnionNode, newDir: UnionNode, newName: string, target?: UnionNode): void {
    this.generation++;
    const isDir = this.inode(node).kind === 'dir';
    const mergedOrLower = isDir && node.lowers.length > 0;
    // ovl_rename(): "Don't copy up directory trees" — checked before the target's emptiness
    if (mergedOrLower) {
      if (this.policy.dirRename === 'EXDEV') fail('EXDEV');
      if (this.policy.dirRename === 'EXDEV-unless-empty' && this.readdir(node).length > 0) fail('EXDEV');
    }
    if (target !== undefined && this.inode(target).kind === 'dir' && this.readdir(target).length > 0) fail('ENOTEMPTY');
    const movesOrigin = !isDir || node.lowers.length > 0;
    const volume = this.upperVolume;
    const oldUpper = this.copyUp(oldDir, 'meta');
    const newUpper = this.copyUp(newDir, 'meta');
    const upper = this.copyUp(node, isDir || this.policy.metacopy ? 'meta' : 'data');
    // a moved lower directory (redirect_dir) and a moved metacopy file keep finding their lower through a redirect
    const needsRedirect = (mergedOrLower && this.policy.dirRename === 'redirect') || node.metacopy;
    const origin = needsRedirect ? this.originPath(node) : undefined;
    const whiteoutOld = this.lowerPositive(oldDir, oldName);
    if (newUpper.entries!.has(newName)) {
      const replaced = newUpper.entries!.get(newName)!;
      if (replaced.kind === 'dir') this.format.clearMarkers(volume, replaced);
      volume.removeEntry(newUpper, newName);
    }
    if (this.format.hasWhiteout(newUpper, newName)) this.format.removeWhiteout(volume, newUpper, newName);
    volume.moveEntry(oldUpper, oldName, newUpper, newName);
    if (whiteoutOld) this.format.addWhiteout(volume, oldUpper, oldName);
    // ovl_rename(): moving into a new parent marks it impure (its entries' d_ino needs the origin lookup)
    if (oldDir !== newDir && movesOrigin) this.format.markImpure?.(volume, newUpper);
    if (!isDir && origin !== undefined) {
      this.format.setRedirect?.(volume, upper, oldDir === newDir ? (this.format.getRedirect?.(upper) ?? oldName) : origin);
    }
    if (isDir) {
      if (mergedOrLower && this.policy.dirRename === 'EXDEV-unless-empty') {
        // AUFS renames an (empty) lower directory by copying it up as an opaque directory
        this.format.setOpaque(volume, upper);
        node.state.lowers = NO_LOWERS;
        node.state.lowerIdx = NO_LAYERS;
      } else if (origin !== undefined) {
        this.format.setRedirect?.(volume, upper, oldDir === newDir ? (this.format.getRedirect?.(upper) ?? oldName) : origin);
      } else if (!this.format.isOpaque(upper) && newDir.lowers.length > 0) {
        // a pure-upper directory moved into a merged one must not merge with a same-named lower directory
        this.format.setOpaque(volume, upper);
      }
    }
    this.cacheOf(oldDir).delete(oldName);
    node.parent = newDir;
    node.name = newName;
    node.inUpper = true;
    this.refreshProbes(node);
    this.cacheOf(newDir).set(newName, node);
  }

  open(node: UnionNode, intent: OpenIntent): void {
    // ovl_open_flags_need_copy_up(): write access or O_TRUNC copies up, even if nothing is then written
    if (intent.write || intent.truncate) this.copyUp(node, intent.truncate ? 'empty' : 'data');
  }

  write(node: UnionNode, offset: number, slice: DataSlice): void {
    const upper = this.copyUp(node, 'data');
    this.upperVolume.write(upper, offset, slice);
  }

  truncate(node: UnionNode, size: number): void {
    // ovl_setattr(ATTR_SIZE): ovl_copy_up_with_data(), the whole file, then the truncate
    const upper = this.copyUp(node, 'data');
    this.upperVolume.truncate(upper, size);
  }

  setattr(node: UnionNode, change: AttrChange): void {
    const upper = this.setattrCopyUp(node);
    applyAttrChange(upper, change, this.upperVolume.clock.now());
    this.upperVolume.chargeInode(upper);
  }

  setxattr(node: UnionNode, name: string, value: Uint8Array): void {
    if (this.format.isPrivateXattr(name)) fail('EPERM');
    this.upperVolume.setXattr(this.setattrCopyUp(node), name, value);
  }

  removexattr(node: UnionNode, name: string): void {
    if (this.format.isPrivateXattr(name)) fail('EPERM');
    this.upperVolume.removeXattr(this.setattrCopyUp(node), name);
  }
}

/** `LowerWalk.next` past the last layer. */
const NO_LAYER = 0;

/**
 * ovl_lookup_layer()'s walk down the layers below `after`: each `next` probes the next layer for `target` — a name in
 * the directory's own lower dirs, or an absolute redirect path from each layer's root — and `layer` and `probes` say
 * which layer that was and what probing it cost. (A reusable object rather than a closure: a cold lookup allocates no
 * walk, and a probe no result.)
 */
class LowerWalk {
  /** The layer the last `next` probed. */
  layer = -1;
  /** The probes the last `next` performed. */
  probes = 0;
  private k = 0;
  private dir: UnionNode | undefined = undefined;
  private after = -1;

  constructor(private readonly mount: UnionMount) {}

  start(dir: UnionNode, after: number): this {
    this.dir = dir;
    this.after = after;
    this.k = 0;
    this.layer = -1;
    return this;
  }

  /** What the next layer holds under `target`, or NO_LAYER when no layer is left. */
  next(target: string): BranchProbe | typeof NO_LAYER {
    this.probes = 0;
    if (target.charCodeAt(0) === 0x2f /* '/' */) {
      const roots = this.mount.lowerRoots;
      const layer = (this.layer = this.after + 1);
      if (layer >= roots.length) return NO_LAYER;
      this.after = layer;
      return this.probePath(roots[layer]!, target);
    }
    const state = this.dir!.state;
    const lowers = state.lowers;
    const idx = state.lowerIdx;
    let k = this.k;
    while (k < lowers.length && idx[k]! <= this.after) k++;
    if (k >= lowers.length) {
      this.k = k;
      return NO_LAYER;
    }
    this.layer = this.after = idx[k]!;
    this.k = k + 1;
    const format = this.mount.format;
    const found = format.probe(lowers[k]!, target);
    this.probes = format.probeCost(found);
    return found;
  }

  /** Probes an absolute path from one layer's root, component by component (no symlinks: layer-internal). */
  private probePath(root: Inode, path: string): BranchProbe {
    const format = this.mount.format;
    let d: Inode | undefined = root;
    for (const n of path.split('/')) {
      if (n === '') continue;
      if (d?.kind !== 'dir') return undefined;
      const found: BranchProbe = format.probe(d, n);
      this.probes += format.probeCost(found);
      if (found === null) return null;
      d = found;
    }
    return d;
  }
}
