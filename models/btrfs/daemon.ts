import { createHash } from 'node:crypto';
import { bytesSource } from '../../src/fs/content.js';
import { PlainMount } from '../../src/fs/plain-mount.js';
import type { Volume } from '../../src/fs/volume.js';
import { O_CREAT, O_TRUNC, O_WRONLY, Syscalls } from '../../src/vfs/syscalls.js';
import { DOCKER13_FILES } from './params.js';

const enc = new TextEncoder();

/**
 * The Docker 1.3 daemon's own files under /var/lib/docker, which on btrfs live on the measured filesystem, in the
 * top-level subvolume (driver-semantics.md §0.6: the driver refuses to start unless /var/lib/docker is btrfs). Written
 * with the syscalls Docker made (ioutil.WriteFile = open O_CREAT|O_TRUNC, write, close; os.MkdirAll; os.Rename), so
 * the fs tree gets the inode items, refs, dir entries and (at writeback) inline extents the kernel would insert.
 *
 * - a container (M13 daemon/daemon.go createRootfs, container.go toDisk/WriteHostConfig, daemon/container.go
 *   setupContainerDns, initializeNetworking, the json-file logger): containers/<id>/ made before the init layer,
 *   config.json and hostconfig.json after the container layer (ToDisk), then at start resolv.conf, hostname, hosts,
 *   <id>-json.log and ToDisk again;
 * - an image (M13 graph/graph.go Register, image/image.go StoreImage, graph/tags.go TagStore.save): graph/_tmp/<rand>/
 *   made before the layer, layersize and json written into it after ApplyDiff, renamed to graph/<id>/, then
 *   repositories-btrfs rewritten with one more repository.
 */
export class DaemonFiles {
  private readonly sys: Syscalls<object>;
  private readonly repositories: string[] = [];
  private seq = 0;

  constructor(volume: Volume, home: readonly string[]) {
    this.sys = new Syscalls(new PlainMount(volume) as never);
    this.home = `/${home.join('/')}`;
    for (const dir of ['containers', 'graph', 'graph/_tmp']) this.sys.mkdir(`${this.home}/${dir}`, 0o700);
  }

  private readonly home: string;

  private write(path: string, text: string, mode = 0o600): void {
    const bytes = enc.encode(text);
    const f = this.sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (bytes.length > 0) this.sys.write(f, { source: bytesSource(bytes), at: 0, length: bytes.length });
    this.sys.close(f);
  }

  /** createRootfs: `os.Mkdir(container.root, 0700)` before the init layer is created. */
  containerDir(id: string): void {
    this.sys.mkdir(`${this.home}/containers/${id}`, 0o700);
  }

  /** After the container layer: ToDisk (config.json, hostconfig.json); start: dns, hostname, hosts, the log, ToDisk. */
  containerFiles(id: string): void {
    const dir = `${this.home}/containers/${id}`;
    const n = ++this.seq;
    const f = DOCKER13_FILES;
    this.write(`${dir}/config.json`, f.containerConfig(id, n, this.home));
    this.write(`${dir}/hostconfig.json`, f.hostConfig, 0o666);
    this.write(`${dir}/resolv.conf`, f.resolvConf, 0o644);
    this.write(`${dir}/hostname`, `${id.slice(0, 12)}\n`, 0o644);
    this.write(`${dir}/hosts`, f.hosts(id, n), 0o644);
    this.write(`${dir}/${id}-json.log`, '', 0o600);
    this.write(`${dir}/config.json`, f.containerConfig(id, n, this.home));
    this.write(`${dir}/hostconfig.json`, f.hostConfig, 0o666);
  }

  /** Register: `graph.Mktemp` before driver.Create; returns the temporary root. */
  imageTmp(id: string): string {
    const tmp = `${this.home}/graph/_tmp/${sha(`${id}/tmp`)}`;
    this.sys.mkdir(tmp, 0o700);
    return tmp;
  }

  /** StoreImage's layersize and json, the rename into graph/, and the tag store saved with one more repository. */
  imageFiles(id: string, tmp: string, parent: string | undefined, layerBytes: number): void {
    const f = DOCKER13_FILES;
    this.write(`${tmp}/layersize`, String(layerBytes));
    this.write(`${tmp}/json`, f.imageJson(id, parent));
    this.sys.rename(tmp, `${this.home}/graph/${id}`);
    this.repositories.push(`"r${this.repositories.length}":{"latest":"${id}"}`);
    this.write(`${this.home}/repositories-btrfs`, `{"Repositories":{${this.repositories.join(',')}}}`);
  }
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
