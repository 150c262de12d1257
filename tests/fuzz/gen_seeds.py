#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the binary seeds: corpus/fuzz_scan/ (programs, format in fuzz_scan.c's header),
corpus/fuzz_uevent/ (netlink payloads) and corpus/fuzz_event/ (ring buffer records). The other
corpora are plain text files, kept as they are.

This script is the seeds' readable source. Run it after changing a format; see what a scan
program builds with MDG_FUZZ_VERBOSE=1 BUILD/fuzz/tests/fuzz/fuzz_scan SEED.
"""
import os
import struct
import sys

# fuzz_scan.c's flags, by the same names
TREE_BUS_FILE, TREE_CLASS_FILE, TREE_NO_BUS, TREE_NO_CLASS = 0x01, 0x02, 0x04, 0x08
TREE_SLASH, TREE_ALIAS, TREE_TWICE, TREE_NO_WARN = 0x10, 0x20, 0x40, 0x80
PARENT_NO_CLASS, PARENT_CLASS_DIR, PARENT_CLASS_DANGLING = 0x01, 0x02, 0x04
PARENT_CLASS_ABSOLUTE, PARENT_TYPES_FILE = 0x08, 0x10
ATTR_AS_FILE, ATTR_AS_NONE, ATTR_AS_DIR, ATTR_AS_FIFO, ATTR_AS_LINK, ATTR_AS_DANGLING = \
    0, 3, 4, 5, 6, 7
TYPE_NO_TITLE, TYPE_NO_AVAIL, TYPE_LINKED, TYPE_TITLE_DIR, TYPE_AVAIL_FIFO = \
    0x08, 0x10, 0x20, 0x40, 0x80
DEV_NOT_LISTED, DEV_REMOVED, DEV_BUS_ABSOLUTE, DEV_BUS_DIR = 0x01, 0x02, 0x04, 0x08
DEV_LISTED_TWICE, DEV_VIA_CLASS, DEV_DIR_LINK = 0x10, 0x20, 0x40

# str operands
def word(i):
    """The i-th word of the operand's list (fuzz_scan.c's *_words)."""
    return bytes([i & 0x3f])

def lit(b):
    """Literal bytes, at most 63."""
    if isinstance(b, str):
        b = b.encode()
    assert len(b) < 64
    return bytes([0x40 | len(b)]) + b

def fill(c, n):
    """c repeated n times (n <= 300)."""
    return bytes([0xc0 | (n // 5), ord(c), n % 5])

# instructions
def parent(name=word(0), where=0, flags=0):
    return b'P' + name + bytes([where, flags])

def typ(parent=0, name=word(0), attr=word(0), title=word(0), avail=word(1), flags=0):
    return b'T' + bytes([parent]) + name + attr + title + avail + bytes([flags])

def dev(uuid=0, v=1, parent=0, type_=0, group=0, n=0, cdev=0, x=0, flags=0, uuid_extra=b'',
        type_extra=b'', group_extra=b'', cdev_extra=b''):
    """uuid: how (low 3 bits mode), v: the 16-bit number of a generated UUID."""
    return (b'D' + bytes([uuid, v & 0xff, v >> 8]) + uuid_extra +
            bytes([parent, type_, group, cdev, flags]) + type_extra +
            bytes([n]) + group_extra + bytes([x]) + cdev_extra)

def path(base=0, *names):
    return bytes([base, len(names) - 1]) + b''.join(names)

def raw_file(p, content):
    return b'F' + p + content

def raw_link(p, how, target):
    return b'L' + p + bytes([how]) + target

SEEDS = {
    # Two types, three devices: group node and cdev, group only, cdev only.
    'valid': bytes([TREE_TWICE]) + parent() +
        typ(name=word(0), attr=word(0)) + typ(name=word(5), attr=word(1), avail=word(0)) +
        dev(v=1, type_=0, group=1, n=1, cdev=1, x=3) +
        dev(v=2, type_=1, group=1, n=2) +
        dev(v=3, type_=0, cdev=1, x=4),
    # Two parents with a type of the same name, Y on one and N on the other.
    'two_parents': bytes([0]) + parent(word(0)) + parent(word(1)) +
        typ(parent=0, name=word(0), attr=word(0)) + typ(parent=1, name=word(0), attr=word(1)) +
        dev(v=10, parent=0, type_=0, group=1, n=10) +
        dev(v=11, parent=1, type_=1, group=1, n=11),
    # Every attribute spelling the parser meets, one type each.
    'attr_spellings': bytes([0]) + parent() +
        b''.join(typ(name=lit('t%d' % i), attr=word(a)) for i, a in
                 enumerate([2, 11, 13, 16, 23, 25, 31, 33])) +
        b''.join(dev(v=20 + i, type_=i, group=1, n=20 + i) for i in range(8)),
    # Missing and odd attribute files: absent, a directory, a FIFO, a loop, dangling.
    'attr_kinds': bytes([TREE_TWICE]) + parent() +
        typ(name=lit('absent'), flags=ATTR_AS_NONE) +
        typ(name=lit('dir'), flags=ATTR_AS_DIR | TYPE_NO_TITLE) +
        typ(name=lit('fifo'), flags=ATTR_AS_FIFO | TYPE_AVAIL_FIFO) +
        typ(name=lit('loop'), flags=ATTR_AS_LINK | TYPE_TITLE_DIR) +
        typ(name=lit('dangling'), flags=ATTR_AS_DANGLING | TYPE_NO_AVAIL) +
        typ(name=lit('linked'), attr=lit(b'\xff\x00Y\n'), flags=TYPE_LINKED) +
        b''.join(dev(v=30 + i, type_=i) for i in range(6)),
    # Broken devices: dangling, missing, directory, long, trailing-slash and looping type links.
    'broken_links': bytes([0]) + parent() + typ() +
        dev(v=40, type_=0x70) + dev(v=41, type_=0x80) + dev(v=42, type_=0x90) +
        dev(v=43, type_=0xa0, type_extra=fill('x', 200)) + dev(v=44, type_=0xb0) +
        dev(v=45, type_=0xd0) + dev(v=46, type_=0xe0) + dev(v=47, type_=0xc0),
    # Groups and cdevs that are no use: bad numbers, directories, files, odd entry names.
    'bad_nodes': bytes([TREE_TWICE]) + parent() + typ() +
        dev(v=50, group=3, n=5, group_extra=word(4)) +
        dev(v=51, group=4, n=0, group_extra=word(2)) +
        dev(v=52, group=5, cdev=2, x=1, cdev_extra=word(14)) +
        dev(v=53, group=6, cdev=3, x=0, cdev_extra=word(6)) +
        dev(v=54, group=7, n=9, cdev=4) +
        dev(v=55, group=0x87, n=9, cdev=6, x=7) +
        dev(v=56, group=2, n=56, cdev=7, x=2) +
        dev(v=57, group=1, n=57, cdev=5, x=9),
    # The bus listing: non-UUIDs, upper case, listed twice, removed, absolute, via class.
    'bus_entries': bytes([0]) + parent() + typ() +
        dev(uuid=1, v=60) + dev(uuid=2, v=61, flags=DEV_LISTED_TWICE) +
        dev(uuid=3) + dev(uuid=4, uuid_extra=word(0)) + dev(uuid=0, v=64, flags=DEV_REMOVED) +
        dev(v=65, flags=DEV_BUS_ABSOLUTE | DEV_DIR_LINK) + dev(v=66, flags=DEV_VIA_CLASS) +
        dev(v=67, flags=DEV_BUS_DIR),
    # Long names and paths: a parent 15 directories of 254 bytes deep, names of 255 bytes.
    'long_paths': bytes([0]) + parent(where=0xf0) + parent(fill('p', 200), where=0xf0) +
        typ(parent=0) + typ(parent=1, name=fill('t', 255)) +
        dev(v=70, parent=0, type_=0) + dev(v=71, parent=1, type_=1, group=1, n=71) +
        dev(uuid=5, uuid_extra=b'\x01' * 36, parent=1, type_=1),
    # Parents whose class entry is missing, dangling, absolute or a directory.
    'parents': bytes([TREE_SLASH]) + parent(word(0), flags=PARENT_NO_CLASS) +
        parent(word(1), flags=PARENT_CLASS_DANGLING) +
        parent(word(2), flags=PARENT_CLASS_ABSOLUTE) +
        parent(word(3), flags=PARENT_CLASS_DIR) +
        b''.join(typ(parent=i, name=word(i)) for i in range(4)) +
        b''.join(dev(v=80 + i, parent=i, type_=i) for i in range(4)),
    # Raw entries: a stray file among the types, a type directory linked, the root an alias.
    'raw': bytes([TREE_ALIAS | TREE_TWICE]) + parent() + typ() +
        raw_file(path(1, word(8), lit('stray')), word(0)) +
        raw_link(path(1, word(8), lit('linked')), 0, path(1, word(8), word(20))) +
        dev(v=90) + raw_file(path(3, word(16)), word(1)),
    # No bus directory at all, and a class directory that is a file.
    'no_bus': bytes([TREE_NO_BUS | TREE_CLASS_FILE]) + parent() + typ() + dev(v=100),
}

# uevents as the kernel sends them: "ACTION@DEVPATH", then NUL-terminated KEY=value strings
def uevent(action, devpath, *env, terminated=True):
    fields = ['%s@%s' % (action, devpath), 'ACTION=' + action, 'DEVPATH=' + devpath] + list(env)
    data = b'\0'.join(f.encode() for f in fields)
    return data + b'\0' if terminated else data

U1 = '11111111-2222-3333-4444-555555555555'
MDEV = '/devices/pci0000:00/0000:00:02.0/' + U1

UEVENTS = {
    'mdev_add': uevent('add', MDEV, 'SUBSYSTEM=mdev', 'MDEV_TYPE=i915-GVTg_V5_4',
                       'SEQNUM=4242'),
    'mdev_bind': uevent('bind', MDEV, 'SUBSYSTEM=mdev', 'DRIVER=vfio_mdev', 'SEQNUM=4243'),
    'mdev_remove': uevent('remove', MDEV, 'SUBSYSTEM=mdev', 'MDEV_TYPE=i915-GVTg_V5_4',
                          'SEQNUM=4250'),
    'vfio_group_add': uevent('add', '/devices/virtual/vfio/12', 'SUBSYSTEM=vfio', 'MAJOR=243',
                             'MINOR=1', 'DEVNAME=vfio/12', 'DEVMODE=0600', 'SEQNUM=4244'),
    'vfio_group_remove': uevent('remove', '/devices/virtual/vfio/12', 'SUBSYSTEM=vfio',
                                'MAJOR=243', 'MINOR=1', 'DEVNAME=vfio/12', 'SEQNUM=4251'),
    'vfio_cdev_add': uevent('add', MDEV + '/vfio-dev/vfio0', 'SUBSYSTEM=vfio-dev', 'MAJOR=511',
                            'MINOR=0', 'DEVNAME=vfio/devices/vfio0', 'SEQNUM=4245'),
    # the parent registering with mdev: a change on the PCI device, not on an mdev subsystem
    'parent_registered': uevent('change', '/devices/pci0000:00/0000:00:02.0', 'SUBSYSTEM=pci',
                                'MDEV_STATE=registered', 'PCI_SLOT_NAME=0000:00:02.0',
                                'SEQNUM=4240'),
    'net_add': uevent('add', '/devices/virtual/net/tap0', 'SUBSYSTEM=net', 'INTERFACE=tap0',
                      'IFINDEX=7', 'SEQNUM=4246'),
    'unterminated': uevent('add', '/devices/virtual/vfio/3', 'SEQNUM=4247', 'SUBSYSTEM=vfio',
                           terminated=False),
    'near_misses': uevent('add', MDEV, 'SUBSYSTEM=mdevx', 'XSUBSYSTEM=mdev', 'SUBSYSTEM=vfi',
                          'subsystem=mdev', 'SUBSYSTEM=mdev ', 'SEQNUM=4248'),
}

# struct mdg_event (include/mdevguard.h), little endian, after fuzz_event.c's 5-byte node prefix
NODE_UNKNOWN, NODE_GROUP, NODE_CDEV = 0, 1, 2
ACT_ALLOW, ACT_DENY, ACT_AUDIT = 0, 1, 2
RULE_FIRST, RULE_HOLDS_RESTRICTED, RULE_SAME_TYPE = 2, 6, 7
HOOK_OPEN, HOOK_IOCTL = 0, 2

def uuid_id(u):
    h = bytes.fromhex(u.replace('-', ''))
    return struct.pack('<QQ', int.from_bytes(h[:8], 'big'), int.from_bytes(h[8:], 'big'))

def event(node, num, exe, action=ACT_ALLOW, rule=RULE_FIRST, hook=HOOK_OPEN, pid=4242,
          uid=0, rdev=(243 << 20) | 1, comm=b'qemu-system-x86', dev=U1, type_=b'nvidia-63',
          held=(), nr_held=None):
    held_bytes = b''.join(uuid_id(u) for u in held).ljust(16 * 16, b'\0')
    rec = struct.pack('<IIQIIIIIIII', 0, 0, 123456789, pid, pid, uid, rdev, rule, action,
                      len(held) if nr_held is None else nr_held, hook)
    rec += comm[:16].ljust(16, b'\0') + uuid_id(dev) + type_[:64].ljust(64, b'\0')
    rec += held_bytes
    rec += struct.pack('<II', 0, 0) + bytes(256) + bytes(256)  # args_len, pad, scope, args
    assert len(rec) == 920
    return struct.pack('<BI', node, num) + rec + exe

QEMU = b'/usr/bin/qemu-system-x86_64'
U2 = '22222222-2222-3333-4444-555555555555'

EVENTS = {
    'allow_first': event(NODE_GROUP, 1, QEMU),
    'deny_same_type': event(NODE_GROUP, 2, QEMU, action=ACT_DENY, rule=RULE_SAME_TYPE,
                            rdev=(243 << 20) | 2, held=[U2]),
    'audit_cdev': event(NODE_CDEV, 3, QEMU, action=ACT_AUDIT, rule=RULE_HOLDS_RESTRICTED,
                        hook=HOOK_IOCTL, rdev=(511 << 20) | 3,
                        held=['%08x-2222-3333-4444-555555555555' % i for i in range(16)]),
    'odd_names': event(NODE_UNKNOWN, 0, b'/tmp/a b\\c"d\x01\n\xc3\xa9\xff (deleted)',
                       action=9, rule=99, hook=42, comm=b'a b\tc\x1b[31m\xffxxxxxxx',
                       type_=b'\x01type with spaces\\"' + b'x' * 60, nr_held=0xffffffff),
    'long_exe': event(NODE_CDEV, 0xffffffff, b'/' + b'"\\' * 500 + b'/\x7f' * 100),
    'short': b'\x01\x05\x00\x00\x00\x00\x00\x00\x00',
    # after the executable's NUL: the VM, the unit and the pod, each up to a NUL
    'names': event(NODE_GROUP, 4, QEMU + b'\0vm1\0machine-qemu\\x2d3\\x2dvm1.scope\0'
                   b'0b1e4f3a-9c2d-4e5f-8a6b-7c8d9e0f1a2b\0', action=ACT_DENY,
                   rule=RULE_SAME_TYPE, held=[U2]),
    'odd_vm_name': event(NODE_GROUP, 5, QEMU + b'\0a b\x01\n"\\\xff' + b'v' * 300 +
                         b'\0\0\x7f', action=ACT_DENY),
}


def write(corpus, seeds):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', corpus)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(seeds), out), file=sys.stderr)


def main():
    write('fuzz_scan', SEEDS)
    write('fuzz_uevent', UEVENTS)
    write('fuzz_event', EVENTS)


if __name__ == '__main__':
    main()
