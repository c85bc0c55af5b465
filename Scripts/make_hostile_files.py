#!/usr/bin/env python3
"""Writes the hand-made hostile files of Tests/NeuralTests/HostileFiles/ and its expected.tsv.

Each file is malformed in one way (the issue's list: header length larger than the file,
overlapping or out-of-range offsets, dtype/shape not matching the byte count, non-UTF-8 JSON,
huge dimensions, gzip bombs, ...). HostileFileTests reads every file with the public loader for its
folder and expects a thrown typed error (DataError or CheckpointError) of the listed kind whose
one-line message names the file and contains the listed fragment. Standard library only;
rerun after editing: python3 Scripts/make_hostile_files.py
"""
import gzip, json, os, shutil, struct, zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NeuralTests", "HostileFiles")
rows = []
GENERATED = ["idx", "csv", "npy", "safetensors", "checkpoint"]   # fuzz-found inputs live in fuzz-findings/


def put(group, name, data, kind, fragment):
    d = os.path.join(root, group)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    rows.append((f"{group}/{name}", kind, fragment))


for g in GENERATED:
    shutil.rmtree(os.path.join(root, g), ignore_errors=True)

# ---- IDX (MNIST): names say images or labels; .gz files are gzip.
def idx(magic, dims, payload=b""):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)

img1 = idx(2051, [1, 28, 28], bytes(784))
put("idx", "empty-images-idx3-ubyte", b"", "truncated", "too short for the 16-byte IDX3 header")
put("idx", "short-header-images-idx3-ubyte", img1[:10], "truncated", "too short")
put("idx", "labels-as-images-idx3-ubyte", idx(2049, [3], b"\x01\x02\x03"), "badMagic", "expected 2051")
put("idx", "images-as-labels-idx1-ubyte", img1, "badMagic", "expected 2049")
put("idx", "huge-count-images-idx3-ubyte", idx(2051, [0xFFFFFFFF, 28, 28], bytes(784)), "truncated", "announces 4294967295 images")
put("idx", "huge-dims-images-idx3-ubyte", idx(2051, [1, 0xFFFFFFFF, 0xFFFFFFFF], bytes(64)), "badHeader", "expected 28×28")
put("idx", "trailing-bytes-images-idx3-ubyte", img1 + b"extra", "badHeader", "announces 1 images")
put("idx", "huge-count-labels-idx1-ubyte", idx(2049, [0xFFFFFFFF], b"\x01"), "truncated", "announces 4294967295 labels")
put("idx", "not-a-digit-labels-idx1-ubyte", idx(2049, [2], b"\x01\xc8"), "badValue", "label 200 at offset 9")
# Gzip: every .gz case (bombs, broken CRC, truncated, lying trailer, garbage deflate, not gzip,
# bad IDX headers inside valid streams) starts like a gzip member, so HostileFileTests makes them at
# run time (gzipCases) instead of committing them.

# ---- CSV: read with CSVDataset.load (last column the target).
put("csv", "not-utf8.csv", b"a,b\n1,\xff\xfe\n", "badValue", "is not UTF-8 text (invalid byte 0xff at offset 6)")
put("csv", "empty.csv", b"", "badHeader", "is empty")
put("csv", "header-only.csv", b"a,b,c\n", "badHeader", "no data rows")
put("csv", "unclosed-quote.csv", b'a,b\n1,"2\n3,4\n', "badValue", "never closed")
put("csv", "ragged-row.csv", b"a,b,c\n1,2,3\n4,5\n", "badHeader", "has 2 fields but the header has 3")
put("csv", "text-in-numeric-column.csv", b"a,b,y\n1,2,3\n4,5,6\n7,x,9\n", "badValue", "'x' is not a number")
put("csv", "nan-cell.csv", b"a,b,y\n1,2,3\n4,nan,6\n", "badValue", "'nan' is not a finite number")
put("csv", "infinite-target.csv", b"a,y\n1,2\n2,1e999\n", "badValue", "'1e999' is not a finite number")
put("csv", "blank-target.csv", b"a,y\n1,2\n2,\n", "badValue", "the target is blank")
put("csv", "blank-column.csv", b"a,b,y\n1,,3\n4,,6\n", "badValue", "column b is blank in every row")
put("csv", "only-target-column.csv", b"y\n1\n2\n", "badHeader", "no feature columns")
# 4,500 distinct ids one-hot encoded: a [4500, 4501] matrix from a ~60 KB file.
put("csv", "one-hot-blowup.csv", b"id,x,y\n" + b"".join(b"id%05d,%d,%d\n" % (i, i % 7, i % 3) for i in range(4500)),
    "unsupported", "column id has 4500 distinct values")

# ---- .npy: every case starts like a NumPy array file (a dataset, in git's eyes), so
# HostileFileTests makes them at run time (npyCases) instead of committing them.

# ---- safetensors: read with SafeTensors.read.
def st(header, body=b"", length=None):
    h = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + body

F32x2 = struct.pack("<2f", 1, 2)
def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}
def js(d):
    return json.dumps(d, separators=(",", ":"))

put("safetensors", "too-short.safetensors", b"\x08\x00\x00", "truncated", "less than the 8-byte header length")
put("safetensors", "header-past-end.safetensors", st("{}", length=4096), "headerLength", "reaches past the end")
put("safetensors", "header-length-huge.safetensors", st("{}", length=1 << 63), "headerLength", "exceeds the 100000000-byte limit")
put("safetensors", "non-utf8-header.safetensors", st(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\xff\xfe":1}', F32x2),
    "malformedHeader", "not valid UTF-8")
put("safetensors", "not-json.safetensors", st('{"w": {"dtype": "F32",', F32x2), "malformedHeader", "not valid JSON")
put("safetensors", "top-level-array.safetensors", st("[1, 2]"), "malformedHeader", "header")
put("safetensors", "deeply-nested.safetensors", st('{"__metadata__":' + "[" * 20000 + "]" * 20000 + "}"), "malformedHeader", "header")
put("safetensors", "offsets-out-of-range.safetensors", st(js({"w": entry(offsets=(0, 8))}), F32x2[:4]), "offsets", "out of range")
put("safetensors", "offsets-huge.safetensors", st(js({"w": entry(offsets=(2 ** 61, 2 ** 61 + 8))}), F32x2), "offsets", "out of range")
put("safetensors", "offsets-reversed.safetensors", st(js({"w": entry(shape=(0,), offsets=(8, 0))}), F32x2), "offsets", "[8, 0]")
put("safetensors", "offsets-negative.safetensors", st(js({"w": entry(shape=(0,), offsets=(-8, -8))}), F32x2), "offsets", "[-8, -8]")
put("safetensors", "offsets-three.safetensors", st(js({"w": entry(offsets=(0, 4, 8))}), F32x2), "malformedHeader", "must be [begin, end]")
put("safetensors", "overlapping.safetensors",
    st(js({"a": entry(offsets=(0, 8)), "b": entry(offsets=(4, 12))}), F32x2 + F32x2), "offsets", "overlap")
# 1,000 tensors all claiming the same 64 KiB: a reader that allocated before checking overlaps
# would need 64 MB for a 130 KB file.
put("safetensors", "all-share-one-buffer.safetensors",
    st(js({"t%04d" % i: entry(shape=(16384,), offsets=(0, 65536)) for i in range(1000)}), bytes(65536)), "offsets", "overlap")
put("safetensors", "dtype-shape-mismatch.safetensors", st(js({"w": entry(dtype="F64", shape=(2,), offsets=(0, 8))}), F32x2),
    "sizeMismatch", "needs 16 bytes")
put("safetensors", "shape-too-small.safetensors", st(js({"w": entry(shape=(1,), offsets=(0, 8))}), F32x2), "sizeMismatch", "needs 4 bytes")
put("safetensors", "unknown-dtype.safetensors", st(js({"w": entry(dtype="C64", offsets=(0, 8))}), F32x2), "unknownDType", "C64")
put("safetensors", "huge-dims.safetensors", st(js({"w": entry(shape=(2 ** 31, 2 ** 31, 2 ** 31), offsets=(0, 8))}), F32x2),
    "sizeMismatch", "too large for any file")
put("safetensors", "huge-dims-no-elements.safetensors", st(js({"w": entry(shape=(0, 2 ** 40, 2 ** 40), offsets=(0, 0))})),
    "sizeMismatch", "too large for any file")
put("safetensors", "dims-beyond-int64.safetensors", st('{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}}', F32x2),
    "malformedHeader", "must hold integers")
put("safetensors", "negative-dim.safetensors", st(js({"w": entry(shape=(-2,), offsets=(0, 8))}), F32x2), "malformedHeader", "negative")
put("safetensors", "fractional-dim.safetensors", st('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}', F32x2),
    "malformedHeader", "must hold integers")
put("safetensors", "duplicate-tensor.safetensors",
    st('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', F32x2),
    "malformedHeader", 'holds the key "w" twice')
put("safetensors", "duplicate-escaped-tensor.safetensors",
    st('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', F32x2),
    "malformedHeader", 'holds the key "w" twice')
put("safetensors", "duplicate-field.safetensors", st('{"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}', F32x2),
    "malformedHeader", "tensor 'w': holds the key \"dtype\" twice")
put("safetensors", "duplicate-metadata.safetensors", st('{"__metadata__":{"k":"a","k":"b"}}'), "malformedHeader", "__metadata__")
put("safetensors", "metadata-not-strings.safetensors", st('{"__metadata__":{"k":3}}'), "malformedHeader", "__metadata__")
put("safetensors", "missing-offsets.safetensors", st('{"w":{"dtype":"F32","shape":[2]}}', F32x2), "malformedHeader", "data_offsets")
put("safetensors", "empty-header.safetensors", st(""), "malformedHeader", "not valid JSON")

# ---- checkpoints (valid safetensors with weights, bad neural.* metadata) are not committed: the test
# HostileFileTests.hostileCheckpointThrowsATypedErrorNamingTheFile writes them at run time.

with open(os.path.join(root, "expected.tsv"), "w") as f:
    f.write("# file\tkind\tfragment of the message (generated by Scripts/make_hostile_files.py; fuzz-findings/ has its own expected.tsv)\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{len(rows)} hostile files in {os.path.normpath(root)}")
