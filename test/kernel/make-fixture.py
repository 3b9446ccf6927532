#!/usr/bin/env python3
"""Build test/kernel/unionmount-lower.tar: the unionmount-testsuite lower-layer fixture
(set_up.py, see shared/research/ground-truth.md §1.1.1) as a rootfs tar (what `docker export`
writes), plus a few ordinary rootfs entries.

  /a                         root 0755
    foo$i                    ":xxx:yyy:zzz", uid/gid 1, 0644           (i = 100..129)
    direct_sym$i  -> ../a/foo$i          uid/gid 1
    indirect_sym$i -> direct_sym$i       uid/gid 1
    pointless$i   -> no_foo$i (dangling) uid/gid 1
    dir$i/        root 0755: a (empty, 0644), pop/ (0755), pop/b (":aaa:bbb:ccc"), pop/c/ (0755)
    direct_dir_sym$i -> ../a/dir$i       root
    indirect_dir_sym$i -> direct_dir_sym$i root
    empty$i/      root 0755
    rootfile$i    ":xxx:yyy:zzz", root, 0644
  /etc (0755): passwd (root, bin), group (root, bin)
  /tmp (01777)
  /bin (0755): hardlink-a, hardlink-b: one inode with two names ("zero\n"), for the
               overlay/018-style hard-link copy-up trace (a lower hard link cannot be made by a trace)

Deterministic: fixed mtime, fixed order, PAX format, no compression.
Usage: python3 test/kernel/make-fixture.py [OUT.tar]
"""
import io
import os
import sys
import tarfile

MTIME = 1400000000
NAMES = {0: "root", 1: "bin"}


def _info(name, kind, mode, uid=0, gid=0, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname, ti.gname = NAMES[uid], NAMES[gid]
    ti.mtime = MTIME
    ti.size = size
    ti.linkname = linkname
    return ti


def build(out):
    entries = []   # (TarInfo, bytes or None)

    def d(name, mode=0o755, uid=0):
        entries.append((_info(name, tarfile.DIRTYPE, mode, uid, uid), None))

    def f(name, data, mode=0o644, uid=0):
        b = data.encode()
        entries.append((_info(name, tarfile.REGTYPE, mode, uid, uid, len(b)), b))

    def s(name, target, uid=0):
        entries.append((_info(name, tarfile.SYMTYPE, 0o777, uid, uid, linkname=target), None))

    def h(name, target, mode=0o644, uid=0):
        entries.append((_info(name, tarfile.LNKTYPE, mode, uid, uid, linkname=target), None))

    d("a")
    for i in range(100, 130):
        si = str(i)
        f("a/foo" + si, ":xxx:yyy:zzz", uid=1)
        s("a/direct_sym" + si, "../a/foo" + si, uid=1)
        s("a/indirect_sym" + si, "direct_sym" + si, uid=1)
        s("a/pointless" + si, "no_foo" + si, uid=1)
        d("a/dir" + si)
        f("a/dir" + si + "/a", "")
        d("a/dir" + si + "/pop")
        f("a/dir" + si + "/pop/b", ":aaa:bbb:ccc")
        d("a/dir" + si + "/pop/c")
        s("a/direct_dir_sym" + si, "../a/dir" + si)
        s("a/indirect_dir_sym" + si, "direct_dir_sym" + si)
        d("a/empty" + si)
        f("a/rootfile" + si, ":xxx:yyy:zzz")
    d("bin")
    f("bin/hardlink-a", "zero\n", mode=0o755)
    h("bin/hardlink-b", "bin/hardlink-a", mode=0o755)
    d("etc")
    f("etc/group", "root:x:0:\nbin:x:1:\n")
    f("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n")
    d("tmp", mode=0o1777)

    with open(out, "wb") as fh:
        with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for ti, data in entries:
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    build(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "unionmount-lower.tar"))
