/**
 * `builtin:busybox`: the image of the 2014 review (shared/seeds/container-storage-review-2014.txt). The review built
 * busybox 1.23.0 statically with `make defconfig; LDFLAGS=--static make install` and imported the `_install` tree
 * with `tar -C _install -cvf - . | docker import -`. Its own `diff -r exported_busybox _install` shows that the image
 * held nothing but that tree: `dev`, `etc`, `proc`, `sys`, `.dockerenv` and `.dockerinit` appeared only in the
 * container (Docker's init layer). So the image is busybox's `make install` layout: `bin/busybox`, one relative
 * symlink per applet in `bin`, `sbin`, `usr/bin`, `usr/sbin`, and `linuxrc`, as applets/install.sh writes them.
 *
 * `skeleton: true` adds the base directories and account files of Docker Hub's busybox image, for traces that expect
 * a conventional root (`/tmp`, `/etc/passwd`); the review's image did not have them.
 */
import { bytesSource, FileContent, randomSource } from '../fs/content.js';
import type { Volume } from '../fs/volume.js';
import { buildVolume, type ArchiveEntry, type ImageLoadOptions } from './tree.js';

/**
 * The review says only "The busybox binary is 2.5Mb" (no byte count). 2,520,000 bytes is 2.52 MB and 2.40 MiB, which
 * `ls -lh` (rounding up) prints as 2.5M: a static glibc build of busybox 1.2x defconfig is of that size. (The real-kernel
 * replay in calibration/kernel-6.18-blog-experiment.md used Debian's busybox-static 1.35, 1,982,256 bytes.)
 */
export const BUSYBOX_BINARY_BYTES = 2_520_000;

/** Seed of the binary's synthetic bytes: fixed, so every build of the image is byte-identical. */
const BUSYBOX_CONTENT_SEED = 0x62757379;

/** 2014-10-01T00:00:00Z, the mtime the calibration replay gives the image's files. */
export const BUSYBOX_MTIME = 1_412_121_600;

/** e_ident of an x86-64 ELF executable, so the binary's first bytes read as what `file` would recognise. */
const ELF64_IDENT = Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

/**
 * Applets by install directory: `busybox --list-full` of Debian's busybox-static 1:1.35.0-4+deb12u1, the binary and
 * list the calibration replay installed (268 symlinks with `linuxrc`). busybox 1.23's defconfig list differs in a few
 * dozen late or dropped applets; the shape (about 270 links over the four directories) is the same.
 */
const APPLET_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin'] as const;
type AppletDir = (typeof APPLET_DIRS)[number];

export const BUSYBOX_APPLETS: Readonly<Record<AppletDir, readonly string[]>> = {
  bin: `arch ash base64 cat chgrp chmod chown cp cpio cttyhack date dd df dmesg dnsdomainname dumpkmap echo ed egrep
    false fatattr fgrep getopt grep gunzip gzip hostname ionice ipcalc kill link linux32 linux64 ln login ls lzop
    mkdir mknod mktemp more mount mt mv netstat nuke pidof ping ping6 ps pwd readlink resume rev rm rmdir rpm
    run-parts sed setpriv sh sleep stat stty su sync tar touch true umount uname uncompress usleep vi watch zcat`.split(/\s+/),
  sbin: `acpid adjtimex arp blockdev depmod devmem fdisk findfs freeramdisk fstrim getty halt hwclock ifconfig ifdown
    ifup init insmod ip ipneigh klogd loadkmap logread losetup lsmod mdev mkdosfs mke2fs mkswap modinfo modprobe
    nameif pivot_root poweroff reboot rmmod route run-init start-stop-daemon sulogin swapoff swapon switch_root
    sysctl syslogd tc tunctl udhcpc uevent vconfig watchdog`.split(/\s+/),
  'usr/bin': `[ [[ ar ascii awk basename bc blkdiscard bunzip2 bzcat bzip2 cal chvt clear cmp crc32 crontab cut dc
    deallocvt diff dirname dos2unix dpkg dpkg-deb du dumpleases env expand expr factor fallocate find fold free
    ftpget ftpput groups head hexdump hostid id killall last less logger logname lsscsi lzcat lzma md5sum
    microcom mkfifo mkpasswd nc nl nproc nsenter nslookup od openvt passwd paste patch printf realpath renice
    reset rpm2cpio seq setkeycodes setsid sha1sum sha256sum sha3sum sha512sum shred shuf sort ssl_client strings
    svc svok tac tail taskset tee telnet test tftp time timeout top tr traceroute traceroute6 truncate ts tty
    unexpand uniq unix2dos unlink unlzma unshare unxz unzip uptime uudecode uuencode w wc wget which who whoami
    xargs xxd xz xzcat yes`.split(/\s+/),
  'usr/sbin': `arping brctl chroot crond fsfreeze httpd i2cdetect i2cdump i2cget i2cset i2ctransfer loadfont mim
    nologin partprobe rdate telnetd ubirename udhcpd`.split(/\s+/),
};

/** applets/install.sh (`--symlinks`): each link points back to bin/busybox by a path relative to its directory. */
const LINK_TARGET_BY_DIR: Readonly<Record<AppletDir, string>> = {
  bin: 'busybox',
  sbin: '../bin/busybox',
  'usr/bin': '../../bin/busybox',
  'usr/sbin': '../../bin/busybox',
};

/** /etc/passwd of Docker Hub's busybox image (the base layer of shared/images/test-kaniko-image.tar). */
const DOCKER_HUB_PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;

/** /etc/group of the same image. */
const DOCKER_HUB_GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
`;

export interface BusyboxOptions extends ImageLoadOptions {
  /** Add Docker Hub busybox's base directories and /etc/passwd, /etc/group (default: the review's image only). */
  skeleton?: boolean;
}

function busyboxBinary(): FileContent {
  const content = FileContent.fromSlice({ source: randomSource(BUSYBOX_CONTENT_SEED), at: 0, length: BUSYBOX_BINARY_BYTES });
  content.write(0, { source: bytesSource(ELF64_IDENT), at: 0, length: ELF64_IDENT.length });
  return content;
}

const root = { uid: 0, gid: 0, mtime: BUSYBOX_MTIME } as const;

function dir(name: string, mode = 0o755): ArchiveEntry {
  return { ...root, name, kind: 'dir', mode };
}

function symlink(name: string, target: string): ArchiveEntry {
  return { ...root, name, kind: 'symlink', mode: 0o777, target };
}

function textFile(name: string, text: string, mode: number): ArchiveEntry {
  return { ...root, name, kind: 'file', mode, content: FileContent.fromBytes(new TextEncoder().encode(text)) };
}

/** The `make install` tree, parents before children as `tar -C _install -cvf - .` lists it. */
function makeInstallEntries(): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [
    dir('.'),
    dir('bin'),
    { ...root, name: 'bin/busybox', kind: 'file', mode: 0o755, content: busyboxBinary() },
  ];
  for (const appletDir of APPLET_DIRS) {
    if (appletDir === 'usr/bin') entries.push(dir('usr'));
    if (appletDir !== 'bin') entries.push(dir(appletDir));
    for (const applet of BUSYBOX_APPLETS[appletDir]) {
      entries.push(symlink(`${appletDir}/${applet}`, LINK_TARGET_BY_DIR[appletDir]));
    }
  }
  entries.push(symlink('linuxrc', 'bin/busybox'));
  return entries;
}

function skeletonEntries(): ArchiveEntry[] {
  return [
    dir('dev'),
    dir('etc'),
    textFile('etc/group', DOCKER_HUB_GROUP, 0o644),
    textFile('etc/passwd', DOCKER_HUB_PASSWD, 0o644),
    { ...dir('home'), uid: 65534, gid: 65534 },
    dir('proc'),
    dir('root', 0o700),
    dir('sys'),
    dir('tmp', 0o1777),
    dir('var'),
  ];
}

/** The review's busybox image as one layer. Deterministic: two builds with fresh clocks have equal `toJSON()`. */
export function builtinBusybox(opts: BusyboxOptions = {}): Volume {
  const entries = makeInstallEntries();
  if (opts.skeleton) entries.push(...skeletonEntries());
  return buildVolume(entries, opts);
}
