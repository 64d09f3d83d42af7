#!/usr/bin/python3
"""zeroipc_ref: an independent reference peer for the ZeroIPC segment format, version 2.

Written from /work/shared/FORMAT.md alone (not from libzeroipc's C sources), so that the
tests can check that what libzeroipc writes is what the format says, and the other way
round. It behaves the way the other ZeroIPC implementations (C++, Python, Go) do:

  * segments are created with O_CREAT (no O_EXCL, no lock) and the table is written in
    place; entries are bump-allocated without any cross-process lock;
  * structures: Array, Queue (Vyukov), Stack (4-state slots), Map, Set, Ring and Pool
    (FORMAT.md section 3; the hash reproduces the format's examples);
  * it never wakes anybody: it only writes the format's words. A blocked libzeroipc
    waiter has to notice its changes on its own (bounded sleep slices).
  * entries it does not know (libzeroipc's "<name>_wait"/"<name>_own" extensions, or
    anything else) are listed by `dump` as "unknown" and otherwise ignored.

Atomicity and ordering. Python has no atomic operations; this peer reads and writes the
shared 4- and 8-byte words with struct's NATIVE formats ('I', 'i', 'Q': CPython copies
them with one fixed-size memcpy, i.e. one aligned load or store) on an x86-64 host, whose
aligned loads and stores are single-copy atomic and whose memory model (TSO) keeps stores
in program order and loads in program order. Every "CAS" of the format is done as
"read, compare, write": correct only while this peer is the only process moving that
counter (e.g. the only producer of a queue while libzeroipc consumes, or the other way
round). That is all the tests need; it is NOT a general-purpose implementation.

Usage: zeroipc_ref.py COMMAND ARGS... [+ COMMAND ARGS...]...
(commands chained with a lone "+" run in one process, one after the other).
Values on the command line are integers (elements of 1, 2, 4 or 8 bytes, signed,
little-endian) or x:HEX (raw bytes, any element size) unless a command says otherwise;
elements of other sizes are printed as hex strings. Output is JSON (one object per line for
dump). Exit status 0 on success, 1 on a failed check or error (message on stderr).

  create NAME SIZE [MAX_ENTRIES]        new segment (MAX_ENTRIES default 64)
  write-example NAME                    the FORMAT.md section 4 worked example
  dump NAME [ENTRY=KIND ...]            header and every entry as JSON lines; KIND is
                                        array:ES, queue, stack, map:KIND:KS:KA:VS:VA, set:...,
                                        raw (without hints, kinds are guessed by formula)
  compare NAME1 NAME2 [ENTRY]           byte equality of two segments (or of one entry)
  array-create NAME ANAME ES CAP [VALUES...]
  array-read NAME ANAME ES
  array-write NAME ANAME ES INDEX VALUES...
  queue-create NAME QNAME ES CAP
  queue-seed NAME QNAME ES START        set an empty queue's counters to START (e.g. just
                                        below 2^32), seq[] to match
  queue-push NAME QNAME ES VALUES...    try-push each; fails if the queue is full
  queue-pop NAME QNAME ES N             try-pop up to N; prints the popped values
  queue-push-seq NAME QNAME ES START COUNT [TIMEOUT_S [INTERVAL_MS]]
                                        push payload(START..START+COUNT-1), polling while full;
                                        INTERVAL_MS pauses between pushes; prints the
                                        CLOCK_MONOTONIC time taken just before each publish
  queue-pop-seq NAME QNAME ES START COUNT [TIMEOUT_S [INTERVAL_MS]]
                                        pop COUNT elements, polling while empty, each must
                                        equal payload(START+i); prints the time taken
                                        just before each releasing store
  stack-create NAME SNAME ES CAP
  stack-push NAME SNAME ES VALUES...
  stack-pop NAME SNAME ES N
  stack-push-seq NAME SNAME ES START COUNT [TIMEOUT_S [INTERVAL_MS]]
                                        push payload(START..), polling while full;
                                        prints the time taken before each publish
  map-create NAME MNAME KEYTYPE VALTYPE CAP   types: i8 i16 i32 i64 u8 u16 u32 u64 f32 f64
  map-put NAME MNAME KEYTYPE VALTYPE K=V ...
  map-get NAME MNAME KEYTYPE VALTYPE KEYS...  prints {"key": value or null}
  map-dump NAME MNAME KEYTYPE VALTYPE        every occupied entry, slot order
  set-create NAME SNAME TYPE CAP
  set-add NAME SNAME TYPE VALUES...
  set-dump NAME SNAME TYPE
  ring-create NAME RNAME ES NELEMS       capacity NELEMS * ES bytes
  ring-write NAME RNAME ES VALUES...    fails if the ring is full
  ring-read NAME RNAME ES N
  ring-write-seq NAME RNAME ES START COUNT [TIMEOUT_S [INTERVAL_MS]]
  pool-create NAME PNAME TYPE CAP       TYPE as for maps, or bytes:SIZE:ALIGN
  pool-alloc NAME PNAME TYPE VALUES...  one object per value, value stored; prints indices
  pool-free NAME PNAME TYPE INDICES...
  pool-read NAME PNAME TYPE INDICES...
  pool-dump NAME PNAME TYPE             head, generation, allocated, the free chain
  hash TYPE VALUE                       the format's hash of one key (hex)

payload(seq, ES) (ES >= 8): bytes 0..7 = seq as u64 little-endian, byte j >= 8 =
(seq * 131 + j * 7 + 1) & 0xFF. tests/test_interop.c uses the same function.
"""

import json
import mmap
import os
import struct
import sys
import time

if sys.byteorder != "little":
    sys.exit("zeroipc_ref: the format is little-endian; this peer needs a little-endian host")

MAGIC = 0x5A49504D
VERSION = 2
HEADER_SIZE = 32
ENTRY_SIZE = 48
NAME_FIELD = 32
DEFAULT_MAX_ENTRIES = 64
U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF


class FormatError(Exception):
    """The segment does not follow the format (or a check failed)."""


def align8(n):
    return (n + 7) & ~7


def align(n, a):
    return (n + a - 1) // a * a


def i32(x):
    """Two's-complement reinterpretation of a u32 (the format's (int32_t)(s - t))."""
    x &= U32
    return x - (1 << 32) if x & 0x80000000 else x


def shm_path(name):
    n = name[1:] if name.startswith("/") else name
    if not n or "/" in n:
        raise FormatError("bad segment name %r" % name)
    return "/dev/shm/" + n


# ---- element codecs ---------------------------------------------------------------------

INT_CODES = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}


def encode_int(value, es):
    if es in INT_CODES:
        return struct.pack(INT_CODES[es], int(value))
    raise FormatError("element size %d: give values of 1, 2, 4 or 8 bytes" % es)


def encode_value(text, es):
    """A command-line element: an integer, or x:HEX for raw bytes of any size."""
    if text.startswith("x:"):
        b = bytes.fromhex(text[2:])
        if len(b) != es:
            raise FormatError("%s is not %d bytes" % (text, es))
        return b
    return encode_int(int(text, 0), es)


def decode_elem(b):
    if len(b) in INT_CODES:
        return struct.unpack(INT_CODES[len(b)], b)[0]
    return b.hex()


def payload(seq, es):
    """The test payload: seq as u64, then bytes derived from seq (see the module doc)."""
    if es < 8:
        raise FormatError("payload elements need at least 8 bytes")
    tail = bytes(((seq * 131 + j * 7 + 1) & 0xFF) for j in range(8, es))
    return struct.pack("<Q", seq & U64) + tail


# ---- the segment --------------------------------------------------------------------------


class Segment:
    """A mapped segment. Shared words go through the native-format accessors below."""

    def __init__(self, name, fd, mm):
        self.name = name
        self.fd = fd
        self.mm = mm

    # One aligned native load/store each (see the module doc on atomicity).
    def load_u32(self, off):
        return struct.unpack_from("I", self.mm, off)[0]

    def store_u32(self, off, v):
        struct.pack_into("I", self.mm, off, v & U32)

    def load_i32(self, off):
        return struct.unpack_from("i", self.mm, off)[0]

    def store_i32(self, off, v):
        struct.pack_into("i", self.mm, off, v)

    def load_u64(self, off):
        return struct.unpack_from("Q", self.mm, off)[0]

    def store_u64(self, off, v):
        struct.pack_into("Q", self.mm, off, v & U64)

    def read(self, off, n):
        return bytes(self.mm[off:off + n])

    def write(self, off, data):
        self.mm[off:off + len(data)] = data

    @classmethod
    def create(cls, name, size, max_entries=DEFAULT_MAX_ENTRIES):
        # max_entries 0 is what very old writers stored: readers treat it as 64.
        table = HEADER_SIZE + ENTRY_SIZE * (max_entries or DEFAULT_MAX_ENTRIES)
        if size < table:
            raise FormatError("size %d is smaller than the table (%d)" % (size, table))
        fd = os.open(shm_path(name), os.O_CREAT | os.O_RDWR, 0o600)
        os.ftruncate(fd, size)
        mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        seg = cls(name, fd, mm)
        seg.write(0, bytes(table))
        struct.pack_into("<IIIIQQ", mm, 0, MAGIC, VERSION, 0, max_entries, size, table)
        return seg

    @classmethod
    def open(cls, name, writable=True):
        fd = os.open(shm_path(name), os.O_RDWR if writable else os.O_RDONLY)
        length = os.fstat(fd).st_size
        if length < HEADER_SIZE:
            raise FormatError("file of %d bytes is shorter than the header" % length)
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        mm = mmap.mmap(fd, length, mmap.MAP_SHARED, prot)
        seg = cls(name, fd, mm)
        magic, version = struct.unpack_from("<II", mm, 0)
        if magic != MAGIC:
            raise FormatError("magic 0x%08x" % magic)
        if version != VERSION:
            raise FormatError("version %d" % version)
        h = seg.header()
        if h["entry_count"] > h["max_entries"]:
            raise FormatError("entry_count %d > max_entries %d" % (h["entry_count"], h["max_entries"]))
        if seg.table_size() > length or h["memory_size"] > length:
            raise FormatError("table or memory_size beyond the file (%d bytes)" % length)
        return seg

    def header(self):
        magic, version, count, maxe, memsize, nxt = struct.unpack_from("<IIIIQQ", self.mm, 0)
        return {"magic": magic, "version": version, "entry_count": count,
                "max_entries": maxe, "memory_size": memsize, "next_offset": nxt}

    def max_entries(self):
        m = self.load_u32(12)
        return m if m else DEFAULT_MAX_ENTRIES  # 0 in very old writers

    def table_size(self):
        return HEADER_SIZE + ENTRY_SIZE * self.max_entries()

    def entries(self):
        """[(index, name, offset, size)] for 0 .. entry_count-1."""
        out = []
        for i in range(self.load_u32(8)):
            base = HEADER_SIZE + ENTRY_SIZE * i
            raw = self.read(base, NAME_FIELD)
            if b"\0" not in raw:
                raise FormatError("entry %d: name not NUL-terminated" % i)
            name = raw.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
            off, size = struct.unpack_from("<QQ", self.mm, base + NAME_FIELD)
            if off + size > len(self.mm):
                raise FormatError("entry %d (%s) beyond the file" % (i, name))
            out.append((i, name, off, size))
        return out

    def find(self, name):
        for _, n, off, size in self.entries():
            if n == name:
                return off, size
        raise FormatError("no entry %r" % name)

    def allocate(self, name, size):
        """Bump allocation as the other implementations do it: no lock at all."""
        nb = name.encode()
        if not nb or len(nb) > NAME_FIELD - 1:
            raise FormatError("entry name %r: 1..31 bytes" % name)
        if any(n == name for _, n, _, _ in self.entries()):
            raise FormatError("entry %r exists" % name)
        count = self.load_u32(8)
        if count >= self.max_entries():
            raise FormatError("table full (%d entries)" % count)
        memsize = self.load_u64(16)
        off = align8(self.load_u64(24))
        if off + size > memsize:
            raise FormatError("no room for %d bytes at 0x%x (memory_size 0x%x)" % (size, off, memsize))
        base = HEADER_SIZE + ENTRY_SIZE * count
        self.write(base, nb + bytes(NAME_FIELD - len(nb)))
        struct.pack_into("<QQ", self.mm, base + NAME_FIELD, off, size)
        self.store_u64(24, off + size)  # next_offset: end of the allocation, not rounded
        self.store_u32(8, count + 1)
        return off


# ---- Array --------------------------------------------------------------------------------


class Array:
    """8-byte capacity, then capacity * es bytes; entry size = 8 + capacity * es."""

    def __init__(self, seg, off, size, es):
        cap = seg.load_u64(off)
        if size != 8 + cap * es:
            raise FormatError("array: entry size %d != 8 + %d * %d" % (size, cap, es))
        self.seg, self.off, self.cap, self.es = seg, off, cap, es

    @classmethod
    def create(cls, seg, name, es, cap):
        off = seg.allocate(name, 8 + cap * es)
        seg.write(off + 8, bytes(cap * es))
        seg.store_u64(off, cap)
        return cls(seg, off, 8 + cap * es, es)

    @classmethod
    def open(cls, seg, name, es):
        off, size = seg.find(name)
        return cls(seg, off, size, es)

    def get(self, i):
        return self.seg.read(self.off + 8 + i * self.es, self.es)

    def set(self, i, data):
        if not 0 <= i < self.cap:
            raise FormatError("index %d out of range" % i)
        self.seg.write(self.off + 8 + i * self.es, data)

    def values(self):
        return [decode_elem(self.get(i)) for i in range(self.cap)]


# ---- Queue --------------------------------------------------------------------------------


def queue_total(cap, es):
    return 16 + align8(cap * es) + 4 * cap


class Queue:
    """head @0, tail @4, capacity @8 (power of two), elem_size @12, data @16, seq[] after."""

    def __init__(self, seg, off, size, es=None):
        cap, stored_es = seg.load_u32(off + 8), seg.load_u32(off + 12)
        if cap == 0 or cap & (cap - 1):
            raise FormatError("queue: capacity %d is not a power of two" % cap)
        if es is not None and es != stored_es:
            raise FormatError("queue: elem_size %d, expected %d" % (stored_es, es))
        if size != queue_total(cap, stored_es):
            raise FormatError("queue: entry size %d != %d" % (size, queue_total(cap, stored_es)))
        self.seg, self.off, self.cap, self.es = seg, off, cap, stored_es
        self.data = off + 16
        self.seq = off + 16 + align8(cap * stored_es)

    @classmethod
    def create(cls, seg, name, es, cap):
        rounded = 1
        while rounded < cap:
            rounded <<= 1
        total = queue_total(rounded, es)
        off = seg.allocate(name, total)
        seg.write(off, bytes(total))
        seg.store_u32(off + 8, rounded)
        seg.store_u32(off + 12, es)
        for i in range(rounded):
            seg.store_u32(off + 16 + align8(rounded * es) + 4 * i, i)
        return cls(seg, off, total, es)

    @classmethod
    def open(cls, seg, name, es=None):
        off, size = seg.find(name)
        return cls(seg, off, size, es)

    def head(self):
        return self.seg.load_u32(self.off)

    def tail(self):
        return self.seg.load_u32(self.off + 4)

    def seqs(self):
        return [self.seg.load_u32(self.seq + 4 * i) for i in range(self.cap)]

    def try_push(self, data):
        """True when pushed, False when full. Single producer on this side (see doc)."""
        assert len(data) == self.es
        seg = self.seg
        while True:
            t = seg.load_u32(self.off + 4)
            slot = t & (self.cap - 1)
            d = i32(seg.load_u32(self.seq + 4 * slot) - t)
            if d < 0:
                return False
            if d > 0 or seg.load_u32(self.off + 4) != t:
                continue  # another producer moved tail: retry
            seg.store_u32(self.off + 4, t + 1)  # the "CAS" tail t -> t+1
            seg.write(self.data + slot * self.es, data)
            seg.store_u32(self.seq + 4 * slot, t + 1)  # publish (a TSO store is a release)
            return True

    def try_pop(self):
        """The element, or None when empty. Single consumer on this side (see doc)."""
        seg = self.seg
        while True:
            h = seg.load_u32(self.off)
            slot = h & (self.cap - 1)
            d = i32(seg.load_u32(self.seq + 4 * slot) - (h + 1))
            if d < 0:
                return None
            if d > 0 or seg.load_u32(self.off) != h:
                continue
            seg.store_u32(self.off, h + 1)  # the "CAS" head h -> h+1
            data = seg.read(self.data + slot * self.es, self.es)
            seg.store_u32(self.seq + 4 * slot, h + self.cap)  # release the slot
            return data

    def items(self):
        """Published elements from head to tail, without popping."""
        out = []
        h, t = self.head(), self.tail()
        for c in range(h, h + i32(t - h)):
            slot = c & (self.cap - 1)
            if self.seg.load_u32(self.seq + 4 * slot) != (c + 1) & U32:
                break
            out.append(decode_elem(self.seg.read(self.data + slot * self.es, self.es)))
        return out


# ---- Stack --------------------------------------------------------------------------------

EMPTY, WRITING, READY, READING = 0, 1, 2, 3
CLAIM_TRIES = 1000


class Stack:
    """top i32 @0 (-1 empty), capacity @4, elem_size @8, reserved @12, data @16, state[]."""

    def __init__(self, seg, off, size, es=None):
        cap, stored_es = seg.load_u32(off + 4), seg.load_u32(off + 8)
        if cap == 0:
            raise FormatError("stack: capacity 0")
        if es is not None and es != stored_es:
            raise FormatError("stack: elem_size %d, expected %d" % (stored_es, es))
        if size != queue_total(cap, stored_es):
            raise FormatError("stack: entry size %d != %d" % (size, queue_total(cap, stored_es)))
        self.seg, self.off, self.cap, self.es = seg, off, cap, stored_es
        self.data = off + 16
        self.state = off + 16 + align8(cap * stored_es)

    @classmethod
    def create(cls, seg, name, es, cap):
        total = queue_total(cap, es)
        off = seg.allocate(name, total)
        seg.write(off, bytes(total))
        seg.store_i32(off, -1)
        seg.store_u32(off + 4, cap)
        seg.store_u32(off + 8, es)
        return cls(seg, off, total, es)

    @classmethod
    def open(cls, seg, name, es=None):
        off, size = seg.find(name)
        return cls(seg, off, size, es)

    def top(self):
        return self.seg.load_i32(self.off)

    def states(self):
        return [self.seg.load_u32(self.state + 4 * i) for i in range(self.cap)]

    def _claim(self, i, want, new):
        for _ in range(CLAIM_TRIES):
            if self.seg.load_u32(self.state + 4 * i) == want:
                self.seg.store_u32(self.state + 4 * i, new)
                return
            time.sleep(0.0001)
        raise FormatError("stack: slot %d stays in state %d" % (i, self.seg.load_u32(self.state + 4 * i)))

    def try_push(self, data):
        t = self.top()
        if t >= self.cap - 1:
            return False
        self.seg.store_i32(self.off, t + 1)  # the "CAS" top t -> t+1
        self._claim(t + 1, EMPTY, WRITING)
        self.seg.write(self.data + (t + 1) * self.es, data)
        self.seg.store_u32(self.state + 4 * (t + 1), READY)
        return True

    def try_pop(self):
        t = self.top()
        if t < 0:
            return None
        self.seg.store_i32(self.off, t - 1)  # the "CAS" top t -> t-1
        self._claim(t, READY, READING)
        data = self.seg.read(self.data + t * self.es, self.es)
        self.seg.store_u32(self.state + 4 * t, EMPTY)
        return data

    def items(self):
        """Bottom to top."""
        return [decode_elem(self.seg.read(self.data + i * self.es, self.es))
                for i in range(min(self.top() + 1, self.cap))]


# ---- hash, Map and Set (FORMAT.md section 3) -----------------------------------------------

TYPES = {  # name: (struct code, size, alignment, kind)
    "i8": ("<b", 1, 1, "int"), "i16": ("<h", 2, 2, "int"), "i32": ("<i", 4, 4, "int"),
    "i64": ("<q", 8, 8, "int"), "u8": ("<B", 1, 1, "int"), "u16": ("<H", 2, 2, "int"),
    "u32": ("<I", 4, 4, "int"), "u64": ("<Q", 8, 8, "int"), "f32": ("<f", 4, 4, "float"),
    "f64": ("<d", 8, 8, "float"),
}

M = 0xC6A4A7935BD1E995
SEED = 0xC70F6907


def murmur64(data, seed=SEED):
    def mix(v):
        return v ^ (v >> 47)
    n = len(data)
    h = (seed ^ (n * M)) & U64
    full = n - n % 8
    for i in range(0, full, 8):
        w = struct.unpack_from("<Q", data, i)[0]
        h ^= (mix((w * M) & U64) * M) & U64
        h = (h * M) & U64
    if n % 8:
        t = int.from_bytes(data[full:], "little")
        h ^= t
        h = (h * M) & U64
    h = (mix(h) * M) & U64
    return mix(h)


def key_hash(tname, value):
    code, _, _, kind = TYPES[tname]
    if kind == "int":
        return (int(value) * 2654435761) & U64  # Python ints sign-extend by nature
    if value == 0.0:
        return 0  # std::hash<double>/<float> of +0.0 and -0.0 is 0 (libstdc++)
    return murmur64(struct.pack(code, value))


def parse_value(tname, text):
    return float(text) if TYPES[tname][3] == "float" else int(text, 0)


def keys_equal(tname, a, b):
    return a == b  # by value: for floats +0.0 == -0.0 holds in Python too


M_EMPTY, M_OCCUPIED, M_DELETED, M_INSERTING = 0, 1, 2, 3


class Map:
    """size @0, capacity @4, key_size @8, value_size @12, entries {state; K; V} at @16."""

    def __init__(self, seg, off, size, ktype, vtype):
        _, ks, ka, _ = TYPES[ktype]
        _, vs, va, _ = TYPES[vtype]
        self.key_off = align(4, ka)
        self.val_off = align(self.key_off + ks, va)
        self.entry_size = align(self.val_off + vs, max(4, ka, va))
        cap = seg.load_u32(off + 4)
        if seg.load_u32(off + 8) != ks or seg.load_u32(off + 12) != vs:
            raise FormatError("map: key/value sizes %d/%d, expected %d/%d" % (
                seg.load_u32(off + 8), seg.load_u32(off + 12), ks, vs))
        if cap == 0 or size != 16 + self.entry_size * cap:
            raise FormatError("map: entry size %d != 16 + %d * %d" % (size, self.entry_size, cap))
        self.seg, self.off, self.cap, self.ktype, self.vtype = seg, off, cap, ktype, vtype

    @classmethod
    def create(cls, seg, name, ktype, vtype, cap, value_field=None):
        _, ks, ka, _ = TYPES[ktype]
        _, vs, va, _ = TYPES[vtype]
        key_off = align(4, ka)
        val_off = align(key_off + ks, va)
        entry_size = align(val_off + vs, max(4, ka, va))
        total = 16 + entry_size * cap
        off = seg.allocate(name, total)
        seg.write(off, bytes(total))
        struct.pack_into("<IIII", seg.mm, off, 0, cap, ks, vs)
        return cls(seg, off, total, ktype, vtype)

    @classmethod
    def open(cls, seg, name, ktype, vtype):
        off, size = seg.find(name)
        return cls(seg, off, size, ktype, vtype)

    def _entry(self, i):
        return self.off + 16 + i * self.entry_size

    def _key(self, e):
        return struct.unpack_from(TYPES[self.ktype][0], self.seg.mm, e + self.key_off)[0]

    def _val(self, e):
        return struct.unpack_from(TYPES[self.vtype][0], self.seg.mm, e + self.val_off)[0]

    def put(self, key, value):
        home = key_hash(self.ktype, key) % self.cap
        for i in range(self.cap):
            e = self._entry((home + i) % self.cap)
            st = self.seg.load_u32(e)
            if st == M_OCCUPIED and keys_equal(self.ktype, self._key(e), key):
                self.seg.store_u32(e, M_INSERTING)  # the "CAS" OCCUPIED -> INSERTING
                struct.pack_into(TYPES[self.vtype][0], self.seg.mm, e + self.val_off, value)
                self.seg.store_u32(e, M_OCCUPIED)
                return "updated"
            if st == M_EMPTY:
                self.seg.store_u32(e, M_INSERTING)  # the "CAS" EMPTY -> INSERTING
                struct.pack_into(TYPES[self.ktype][0], self.seg.mm, e + self.key_off, key)
                struct.pack_into(TYPES[self.vtype][0], self.seg.mm, e + self.val_off, value)
                self.seg.store_u32(e, M_OCCUPIED)
                self.seg.store_u32(self.off, self.seg.load_u32(self.off) + 1)
                return "inserted"
        raise FormatError("map full")

    def get(self, key):
        home = key_hash(self.ktype, key) % self.cap
        for i in range(self.cap):
            e = self._entry((home + i) % self.cap)
            st = self.seg.load_u32(e)
            if st == M_EMPTY:
                return None
            if st == M_OCCUPIED and keys_equal(self.ktype, self._key(e), key):
                return self._val(e)
        return None

    def dump(self):
        out = []
        for i in range(self.cap):
            e = self._entry(i)
            st = self.seg.load_u32(e)
            if st == M_OCCUPIED:
                out.append({"slot": i, "key": self._key(e), "value": self._val(e),
                            "home": key_hash(self.ktype, self._key(e)) % self.cap})
        # "count": the header's size word ("size" is the entry's byte size in dumps).
        return {"count": self.seg.load_u32(self.off), "capacity": self.cap,
                "entry_size": self.entry_size, "key_off": self.key_off,
                "val_off": self.val_off, "entries": out}


class Set:
    """size @0, capacity @4, elem_size @8, reserved @12, entries {state; T} at @16."""

    def __init__(self, seg, off, size, tname):
        _, es, ea, _ = TYPES[tname]
        self.val_off = align(4, ea)
        self.entry_size = align(self.val_off + es, max(4, ea))
        cap = seg.load_u32(off + 4)
        if seg.load_u32(off + 8) != es:
            raise FormatError("set: elem_size %d, expected %d" % (seg.load_u32(off + 8), es))
        if cap == 0 or size != 16 + self.entry_size * cap:
            raise FormatError("set: entry size %d != 16 + %d * %d" % (size, self.entry_size, cap))
        self.seg, self.off, self.cap, self.tname = seg, off, cap, tname

    @classmethod
    def create(cls, seg, name, tname, cap):
        _, es, ea, _ = TYPES[tname]
        entry_size = align(align(4, ea) + es, max(4, ea))
        total = 16 + entry_size * cap
        off = seg.allocate(name, total)
        seg.write(off, bytes(total))
        struct.pack_into("<IIII", seg.mm, off, 0, cap, es, 0)
        return cls(seg, off, total, tname)

    @classmethod
    def open(cls, seg, name, tname):
        off, size = seg.find(name)
        return cls(seg, off, size, tname)

    def add(self, value):
        home = key_hash(self.tname, value) % self.cap
        code = TYPES[self.tname][0]
        for i in range(self.cap):
            e = self.off + 16 + ((home + i) % self.cap) * self.entry_size
            st = self.seg.load_u32(e)
            if st == M_OCCUPIED and struct.unpack_from(code, self.seg.mm, e + self.val_off)[0] == value:
                return False
            if st == M_EMPTY:
                self.seg.store_u32(e, M_INSERTING)
                struct.pack_into(code, self.seg.mm, e + self.val_off, value)
                self.seg.store_u32(e, M_OCCUPIED)
                self.seg.store_u32(self.off, self.seg.load_u32(self.off) + 1)
                return True
        raise FormatError("set full")

    def dump(self):
        code = TYPES[self.tname][0]
        out = []
        for i in range(self.cap):
            e = self.off + 16 + i * self.entry_size
            if self.seg.load_u32(e) == M_OCCUPIED:
                out.append(struct.unpack_from(code, self.seg.mm, e + self.val_off)[0])
        return {"count": self.seg.load_u32(self.off), "capacity": self.cap,
                "entry_size": self.entry_size, "values": out}


# ---- Ring and Pool (FORMAT.md section 3) ----------------------------------------------------


class Ring:
    """write_pos u64 @0, read_pos u64 @8, capacity (bytes) @16, elem_size @20, data @24."""

    def __init__(self, seg, off, size, es=None):
        cap, stored_es = seg.load_u32(off + 16), seg.load_u32(off + 20)
        if es is not None and es != stored_es:
            raise FormatError("ring: elem_size %d, expected %d" % (stored_es, es))
        if cap == 0 or stored_es == 0 or cap % stored_es or size != 24 + cap:
            raise FormatError("ring: capacity %d, elem_size %d, entry size %d" % (cap, stored_es, size))
        self.seg, self.off, self.cap, self.es = seg, off, cap, stored_es

    @classmethod
    def create(cls, seg, name, es, nelems):
        cap = es * nelems
        off = seg.allocate(name, 24 + cap)
        seg.write(off, bytes(24 + cap))
        seg.store_u32(off + 16, cap)
        seg.store_u32(off + 20, es)
        return cls(seg, off, 24 + cap, es)

    @classmethod
    def open(cls, seg, name, es=None):
        off, size = seg.find(name)
        return cls(seg, off, size, es)

    def _copy_in(self, pos, data):
        for k, b in enumerate(data):  # byte p lives at 24 + p % capacity
            self.seg.mm[self.off + 24 + (pos + k) % self.cap] = b

    def _copy_out(self, pos, n):
        return bytes(self.seg.mm[self.off + 24 + (pos + k) % self.cap] for k in range(n))

    def write(self, data):
        w, r = self.seg.load_u64(self.off), self.seg.load_u64(self.off + 8)
        if w - r + len(data) > self.cap:
            return False
        self._copy_in(w, data)
        self.seg.store_u64(self.off, w + len(data))  # publish (TSO store: release)
        return True

    def read(self):
        r, w = self.seg.load_u64(self.off + 8), self.seg.load_u64(self.off)
        if w - r < self.es:
            return None
        data = self._copy_out(r, self.es)
        self.seg.store_u64(self.off + 8, r + self.es)
        return data


POOL_NONE = 0xFFFFFFFF


def type_layout(tname):
    """(size, alignment) of a TYPES name or of bytes:SIZE:ALIGN."""
    if tname.startswith("bytes:"):
        _, size, al = tname.split(":")
        return int(size), int(al)
    return TYPES[tname][1], TYPES[tname][2]


class Pool:
    """free_head u64 @0 (gen << 32 | index), allocated @8, padding @12, capacity @16,
    elem_size @20; nodes {T data; u32 next} at @24."""

    def __init__(self, seg, off, size, tname):
        es, ea = type_layout(tname)
        self.next_off = align(es, 4)
        self.node_size = align(self.next_off + 4, max(ea, 4))
        cap = seg.load_u32(off + 16)
        if seg.load_u32(off + 20) != es:
            raise FormatError("pool: elem_size %d, expected %d" % (seg.load_u32(off + 20), es))
        if cap == 0 or size != 24 + self.node_size * cap:
            raise FormatError("pool: entry size %d != 24 + %d * %d" % (size, self.node_size, cap))
        self.seg, self.off, self.cap, self.es, self.tname = seg, off, cap, es, tname

    @classmethod
    def create(cls, seg, name, tname, cap):
        es, ea = type_layout(tname)
        node = align(align(es, 4) + 4, max(ea, 4))
        total = 24 + node * cap
        off = seg.allocate(name, total)
        seg.write(off, bytes(total))
        struct.pack_into("<QIIII", seg.mm, off, 0, 0, 0, cap, es)
        for i in range(cap):
            seg.store_u32(off + 24 + i * node + align(es, 4), i + 1 if i + 1 < cap else POOL_NONE)
        return cls(seg, off, total, tname)

    @classmethod
    def open(cls, seg, name, tname):
        off, size = seg.find(name)
        return cls(seg, off, size, tname)

    def node(self, i):
        return self.off + 24 + i * self.node_size

    def alloc(self):
        head = self.seg.load_u64(self.off)
        idx = head & U32
        if idx == POOL_NONE:
            return None
        if idx >= self.cap:
            raise FormatError("pool: free list holds index %d" % idx)
        nxt = self.seg.load_u32(self.node(idx) + self.next_off)
        self.seg.store_u64(self.off, (((head >> 32) + 1) & U32) << 32 | nxt)  # the "CAS"
        self.seg.store_u32(self.off + 8, self.seg.load_u32(self.off + 8) + 1)
        return idx

    def free(self, idx):
        head = self.seg.load_u64(self.off)
        self.seg.store_u32(self.node(idx) + self.next_off, head & U32)
        self.seg.store_u64(self.off, (((head >> 32) + 1) & U32) << 32 | idx)  # the "CAS"
        self.seg.store_u32(self.off + 8, self.seg.load_u32(self.off + 8) - 1)

    def dump(self):
        head = self.seg.load_u64(self.off)
        chain, i = [], head & U32
        while i != POOL_NONE and i < self.cap and len(chain) <= self.cap:
            chain.append(i)
            i = self.seg.load_u32(self.node(i) + self.next_off)
        return {"generation": head >> 32, "head": head & U32,
                "allocated": self.seg.load_u32(self.off + 8), "capacity": self.cap,
                "elem_size": self.es, "node_size": self.node_size, "free": chain}


# ---- dump ---------------------------------------------------------------------------------


def describe(seg, name, off, size, hint):
    """A JSON-able description of one entry; HINT is None (guess) or 'array:ES' etc."""
    kind = hint.split(":")[0] if hint else None
    if kind in (None, "queue"):
        try:
            q = Queue(seg, off, size)
            return {"kind": "queue", "head": q.head(), "tail": q.tail(), "capacity": q.cap,
                    "elem_size": q.es, "seq": q.seqs(),
                    "slots": [decode_elem(seg.read(q.data + i * q.es, q.es)) for i in range(q.cap)],
                    "items": q.items()}
        except FormatError:
            if kind:
                raise
    if kind in (None, "stack"):
        try:
            s = Stack(seg, off, size)
            if kind or -1 <= s.top() < s.cap:
                return {"kind": "stack", "top": s.top(), "capacity": s.cap, "elem_size": s.es,
                        "reserved": seg.load_u32(off + 12), "states": s.states(),
                        "items": s.items()}
        except FormatError:
            if kind:
                raise
    if kind in (None, "array") and size >= 8:
        cap = seg.load_u64(off)
        es = int(hint.split(":")[1]) if hint else ((size - 8) // cap if cap else 0)
        if cap and es and size == 8 + cap * es:
            a = Array(seg, off, size, es)
            return {"kind": "array", "capacity": cap, "elem_size": es, "values": a.values()}
        if kind:
            raise FormatError("%s: not an array of %d-byte elements" % (name, es))
    if kind == "map":
        _, kt, vt = hint.split(":")
        return dict(kind="map", **Map(seg, off, size, kt, vt).dump())
    if kind == "set":
        return dict(kind="set", **Set(seg, off, size, hint.split(":")[1]).dump())
    return {"kind": "unknown"}


def cmd_dump(name, *hints):
    seg = Segment.open(name, writable=False)
    hintmap = dict(h.split("=", 1) for h in hints)
    print(json.dumps({"header": seg.header()}, sort_keys=True, separators=(",", ":")))
    for i, n, off, size in seg.entries():
        d = {"entry": i, "name": n, "offset": off, "size": size}
        d.update(describe(seg, n, off, size, hintmap.get(n)))
        print(json.dumps(d, sort_keys=True, separators=(",", ":")))


# ---- commands -----------------------------------------------------------------------------


def out(obj):
    print(json.dumps(obj, sort_keys=True, separators=(",", ":")))


def cmd_create(name, size, max_entries=str(DEFAULT_MAX_ENTRIES)):
    Segment.create(name, int(size, 0), int(max_entries, 0))


def cmd_write_example(name):
    seg = Segment.create(name, 1 << 20, 64)
    arr = Array.create(seg, "arr", 4, 10)
    for i in range(10):
        arr.set(i, encode_int(i * i, 4))
    q = Queue.create(seg, "q", 8, 8)
    for v in (10, 20, 30, 40, 50):
        q.try_push(encode_int(v, 8))
    q.try_pop()
    s = Stack.create(seg, "s", 4, 16)
    for v in (7, 8, 9):
        s.try_push(encode_int(v, 4))


def cmd_compare(a, b, entry=None):
    """Byte equality of two whole segments, or of one entry's bytes in each."""
    sa, sb = Segment.open(a, writable=False), Segment.open(b, writable=False)
    if entry is None:
        ra, rb = (0, len(sa.mm)), (0, len(sb.mm))
    else:
        ra, rb = sa.find(entry), sb.find(entry)
    if ra[1] != rb[1]:
        raise FormatError("sizes differ: %d != %d" % (ra[1], rb[1]))
    ba, bb = sa.read(ra[0], ra[1]), sb.read(rb[0], rb[1])
    if ba != bb:
        first = next(i for i in range(len(ba)) if ba[i] != bb[i])
        raise FormatError("first difference at byte 0x%x: %02x != %02x" % (first, ba[first], bb[first]))
    out({"equal": True, "bytes": len(ba)})


def cmd_array_create(name, aname, es, cap, *values):
    seg = Segment.open(name)
    a = Array.create(seg, aname, int(es), int(cap, 0))
    for i, v in enumerate(values):
        a.set(i, encode_value(v, a.es))


def cmd_array_read(name, aname, es):
    out(Array.open(Segment.open(name, writable=False), aname, int(es)).values())


def cmd_array_write(name, aname, es, index, *values):
    a = Array.open(Segment.open(name), aname, int(es))
    for k, v in enumerate(values):
        a.set(int(index) + k, encode_value(v, a.es))


def cmd_queue_create(name, qname, es, cap):
    Queue.create(Segment.open(name), qname, int(es), int(cap, 0))


def cmd_queue_seed(name, qname, es, start):
    """Make an empty queue look as if START elements had passed through it."""
    q = Queue.open(Segment.open(name), qname, int(es))
    start = int(start, 0) & U32
    if q.head() != q.tail():
        raise FormatError("queue not empty")
    for c in range(start, start + q.cap):  # the next cap counters own their slots
        q.seg.store_u32(q.seq + 4 * (c & (q.cap - 1)), c)
    q.seg.store_u32(q.off, start)
    q.seg.store_u32(q.off + 4, start)


def cmd_queue_push(name, qname, es, *values):
    q = Queue.open(Segment.open(name), qname, int(es))
    for v in values:
        if not q.try_push(encode_value(v, q.es)):
            raise FormatError("queue full before %s" % v)


def cmd_queue_pop(name, qname, es, n):
    q = Queue.open(Segment.open(name), qname, int(es))
    got = []
    for _ in range(int(n)):
        d = q.try_pop()
        if d is None:
            break
        got.append(decode_elem(d))
    out(got)


def deadline_of(timeout_s):
    return time.monotonic() + float(timeout_s)


def cmd_queue_push_seq(name, qname, es, start, count, timeout_s="5", interval_ms="0"):
    q = Queue.open(Segment.open(name), qname, int(es))
    end, times = deadline_of(timeout_s), []
    for seq in range(int(start), int(start) + int(count)):
        if times and float(interval_ms) > 0:
            time.sleep(float(interval_ms) / 1000)  # pacing only: the peer never wakes anyone
        data = payload(seq, q.es)
        while True:
            t = time.monotonic_ns()  # CLOCK_MONOTONIC, taken before the publishing store
            if q.try_push(data):
                break
            if time.monotonic() > end:
                raise FormatError("queue stayed full at seq %d" % seq)
            time.sleep(0.0005)
        times.append(t)
    out({"pushed": int(count), "t_ns": times})


def cmd_queue_pop_seq(name, qname, es, start, count, timeout_s="5", interval_ms="0"):
    q = Queue.open(Segment.open(name), qname, int(es))
    end, times = deadline_of(timeout_s), []
    for seq in range(int(start), int(start) + int(count)):
        if times and float(interval_ms) > 0:
            time.sleep(float(interval_ms) / 1000)
        while True:
            t = time.monotonic_ns()  # before the store that releases the slot
            d = q.try_pop()
            if d is not None:
                break
            if time.monotonic() > end:
                raise FormatError("queue stayed empty at seq %d" % seq)
            time.sleep(0.0005)
        if d != payload(seq, q.es):
            raise FormatError("element %d: got %s, want %s" % (seq, d.hex(), payload(seq, q.es).hex()))
        times.append(t)
    out({"popped": int(count), "t_ns": times})


def cmd_stack_create(name, sname, es, cap):
    Stack.create(Segment.open(name), sname, int(es), int(cap, 0))


def cmd_stack_push(name, sname, es, *values):
    s = Stack.open(Segment.open(name), sname, int(es))
    for v in values:
        if not s.try_push(encode_value(v, s.es)):
            raise FormatError("stack full before %s" % v)


def cmd_stack_pop(name, sname, es, n):
    s = Stack.open(Segment.open(name), sname, int(es))
    got = []
    for _ in range(int(n)):
        d = s.try_pop()
        if d is None:
            break
        got.append(decode_elem(d))
    out(got)


def cmd_stack_push_seq(name, sname, es, start, count, timeout_s="5", interval_ms="0"):
    s = Stack.open(Segment.open(name), sname, int(es))
    end, times = deadline_of(timeout_s), []
    for seq in range(int(start), int(start) + int(count)):
        if times and float(interval_ms) > 0:
            time.sleep(float(interval_ms) / 1000)
        data = payload(seq, s.es)
        while True:
            t = time.monotonic_ns()
            if s.try_push(data):
                break
            if time.monotonic() > end:
                raise FormatError("stack stayed full at seq %d" % seq)
            time.sleep(0.0005)
        times.append(t)
    out({"pushed": int(count), "t_ns": times})


def cmd_ring_create(name, rname, es, nelems):
    Ring.create(Segment.open(name), rname, int(es), int(nelems, 0))


def cmd_ring_write(name, rname, es, *values):
    r = Ring.open(Segment.open(name), rname, int(es))
    for v in values:
        if not r.write(encode_value(v, r.es)):
            raise FormatError("ring full before %s" % v)


def cmd_ring_read(name, rname, es, n):
    r = Ring.open(Segment.open(name), rname, int(es))
    got = []
    for _ in range(int(n)):
        d = r.read()
        if d is None:
            break
        got.append(decode_elem(d))
    out(got)


def cmd_ring_write_seq(name, rname, es, start, count, timeout_s="5", interval_ms="0"):
    r = Ring.open(Segment.open(name), rname, int(es))
    end, times = deadline_of(timeout_s), []
    for seq in range(int(start), int(start) + int(count)):
        if times and float(interval_ms) > 0:
            time.sleep(float(interval_ms) / 1000)
        data = payload(seq, r.es)
        while True:
            t = time.monotonic_ns()
            if r.write(data):
                break
            if time.monotonic() > end:
                raise FormatError("ring stayed full at seq %d" % seq)
            time.sleep(0.0005)
        times.append(t)
    out({"written": int(count), "t_ns": times})


def cmd_pool_create(name, pname, tname, cap):
    Pool.create(Segment.open(name), pname, tname, int(cap, 0))


def cmd_pool_alloc(name, pname, tname, *values):
    """Allocate one object per value and store the value in it; prints the indices."""
    p = Pool.open(Segment.open(name), pname, tname)
    got = []
    for v in values:
        i = p.alloc()
        if i is None:
            raise FormatError("pool empty")
        p.seg.write(p.node(i), encode_value(v, p.es))
        got.append(i)
    out(got)


def cmd_pool_free(name, pname, tname, *indices):
    p = Pool.open(Segment.open(name), pname, tname)
    for i in indices:
        p.free(int(i))


def cmd_pool_read(name, pname, tname, *indices):
    p = Pool.open(Segment.open(name, writable=False), pname, tname)
    out([decode_elem(p.seg.read(p.node(int(i)), p.es)) for i in indices])


def cmd_pool_dump(name, pname, tname):
    out(Pool.open(Segment.open(name, writable=False), pname, tname).dump())


def cmd_map_create(name, mname, kt, vt, cap):
    Map.create(Segment.open(name), mname, kt, vt, int(cap, 0))


def cmd_map_put(name, mname, kt, vt, *pairs):
    m = Map.open(Segment.open(name), mname, kt, vt)
    for p in pairs:
        k, v = p.split("=", 1)
        m.put(parse_value(kt, k), parse_value(vt, v))


def cmd_map_get(name, mname, kt, vt, *keys):
    m = Map.open(Segment.open(name, writable=False), mname, kt, vt)
    out({k: m.get(parse_value(kt, k)) for k in keys})


def cmd_map_dump(name, mname, kt, vt):
    out(Map.open(Segment.open(name, writable=False), mname, kt, vt).dump())


def cmd_set_create(name, sname, t, cap):
    Set.create(Segment.open(name), sname, t, int(cap, 0))


def cmd_set_add(name, sname, t, *values):
    s = Set.open(Segment.open(name), sname, t)
    for v in values:
        s.add(parse_value(t, v))


def cmd_set_dump(name, sname, t):
    out(Set.open(Segment.open(name, writable=False), sname, t).dump())


def cmd_hash(t, value):
    out("0x%x" % key_hash(t, parse_value(t, value)))


COMMANDS = {
    "create": cmd_create, "write-example": cmd_write_example, "dump": cmd_dump,
    "compare": cmd_compare, "array-create": cmd_array_create, "array-read": cmd_array_read,
    "array-write": cmd_array_write, "queue-create": cmd_queue_create,
    "queue-seed": cmd_queue_seed, "queue-push": cmd_queue_push, "queue-pop": cmd_queue_pop,
    "queue-push-seq": cmd_queue_push_seq, "queue-pop-seq": cmd_queue_pop_seq,
    "stack-create": cmd_stack_create, "stack-push": cmd_stack_push, "stack-pop": cmd_stack_pop,
    "stack-push-seq": cmd_stack_push_seq,
    "map-create": cmd_map_create, "map-put": cmd_map_put, "map-get": cmd_map_get,
    "map-dump": cmd_map_dump, "set-create": cmd_set_create, "set-add": cmd_set_add,
    "set-dump": cmd_set_dump, "hash": cmd_hash, "ring-create": cmd_ring_create,
    "ring-write": cmd_ring_write, "ring-read": cmd_ring_read, "ring-write-seq": cmd_ring_write_seq,
    "pool-create": cmd_pool_create, "pool-alloc": cmd_pool_alloc, "pool-free": cmd_pool_free,
    "pool-read": cmd_pool_read, "pool-dump": cmd_pool_dump,
}


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    groups, cur = [], []
    for a in argv:
        if a == "+":
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    for g in groups:
        if not g or g[0] not in COMMANDS:
            print("zeroipc_ref: unknown command %r (try --help)" % (g[0] if g else ""), file=sys.stderr)
            return 2
        try:
            COMMANDS[g[0]](*g[1:])
        except TypeError as e:
            print("zeroipc_ref: %s: bad arguments (%s)" % (g[0], e), file=sys.stderr)
            return 2
        except (FormatError, OSError, ValueError) as e:
            print("zeroipc_ref: %s: %s" % (g[0], e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
