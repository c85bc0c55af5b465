#!/usr/bin/env python3
"""Writes small valid seed files for the fuzzers into DIR/<parser>/ (standard library only)."""
import gzip, json, os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "Fuzzing/seeds"

def put(parser, name, data):
    d = os.path.join(out, parser)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)

images = idx(2051, [1, 28, 28], [i % 256 for i in range(784)])
labels = idx(2049, [3], [1, 7, 9])
put("idx", "images1", images)
put("idx", "labels3", labels)
put("idx", "labels0", idx(2049, [0], []))
put("idx", "images0", idx(2051, [0, 28, 28], []))
# Gzip fuzzer: first byte odd = take the rest as gzip; even = compress the rest (level byte>>1 % 10).
put("idxgz", "images1.gz", b"\x01" + gzip.compress(images, 6, mtime=0))
put("idxgz", "labels3.gz", b"\x01" + gzip.compress(labels, 9, mtime=0))
put("idxgz", "two-members.gz", b"\x01" + gzip.compress(labels[:5], mtime=0) + gzip.compress(labels[5:], mtime=0))
put("idxgz", "plain-images", b"\x0c" + images)
put("idxgz", "plain-labels", b"\x00" + labels)

put("csv", "numbers.csv", b"a,b,y\n1,2,3\n4,,6\n7,8.5,9\n")
put("csv", "quoted.csv", b'name,"x, y",label\r\n"a ""q""",1,cat\r\n b ,2,dog\r\n"multi\nline",3,cat\r\n')
put("csv", "onehot.csv", b"\xef\xbb\xbfcolor,size,price\nred,1,10\nblue,2,20\nred,,30\ngreen,4,40\n")
put("csv", "housing-like.csv", b"longitude,latitude,total_bedrooms,ocean_proximity,median_house_value\n"
    b"-122.23,37.88,129.0,NEAR BAY,452600.0\n-122.22,37.86,,NEAR BAY,358500.0\n-118.3,34.2,300,INLAND,1e5\n")

def npy(descr, shape, body, version=1):
    shape_s = "()" if not shape else "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_s)
    pre = 10 if version == 1 else 12
    total = (pre + len(h) + 1 + 63) // 64 * 64
    h = h + " " * (total - pre - len(h) - 1) + "\n"
    ln = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + h.encode() + body

put("npy", "f4.npy", npy("<f4", [2, 3], struct.pack("<6f", *range(6))))
put("npy", "f8.npy", npy("<f8", [3], struct.pack("<3d", 1.5, -2, 3)))
put("npy", "i8.npy", npy("<i8", [2, 1, 2], struct.pack("<4q", 1, -2, 3, 4)))
put("npy", "i4.npy", npy("<i4", [2], struct.pack("<2i", 7, -7), version=2))
put("npy", "u1.npy", npy("|u1", [5], bytes(range(5))))
put("npy", "i1.npy", npy("|i1", [2], b"\x80\x7f", version=3))
put("npy", "scalar.npy", npy("<f4", [], struct.pack("<f", 2.5)))
put("npy", "empty.npy", npy("<f8", [0, 4], b""))

def safetensors(tensors, metadata=None):
    header, body = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in sorted(tensors.items()):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body

put("safetensors", "weights.safetensors", safetensors({
    "0.weight": ("F32", [2, 3], struct.pack("<6f", *range(6))), "0.bias": ("F32", [2], struct.pack("<2f", 1, 2))}))
put("safetensors", "types.safetensors", safetensors({
    "a": ("F64", [1], struct.pack("<d", 1)), "b": ("F16", [2], b"\x00\x3c\x00\xc0"), "c": ("BF16", [1], b"\x80\x3f"),
    "d": ("I64", [1], struct.pack("<q", 5)), "e": ("I32", [1], struct.pack("<i", -1)), "f": ("I16", [1], b"\x01\x00"),
    "g": ("I8", [1], b"\xff"), "h": ("U64", [1], struct.pack("<Q", 9)), "i": ("U32", [1], b"\x01\0\0\0"),
    "j": ("U16", [1], b"\x02\0"), "k": ("U8", [2], b"\x03\x04"), "l": ("BOOL", [1], b"\x01"), "z": ("F32", [0, 3], b"")}))
put("safetensors", "empty.safetensors", safetensors({}))
put("safetensors", "checkpoint.safetensors", safetensors({
    "0.weight": ("F32", [1, 2], struct.pack("<2f", 1, 2)), "0.bias": ("F32", [1], struct.pack("<f", 0)),
    "__optimizer__.0.momentum_buffer": ("F32", [1, 2], struct.pack("<2f", 0, 0)),
    "__optimizer__.1.momentum_buffer": ("F32", [1], struct.pack("<f", 0)),
    "1.num_batches_tracked": ("I64", [], struct.pack("<q", 3))},
    {"neural.format": "1", "neural.model": "mlp(2)", "neural.epoch": "2", "neural.config": "{\"lr\":0.1}",
     "neural.optimizer": json.dumps({"type": "SGD", "step": 4, "parameters": [
         {"step": 4, "tensors": ["momentum_buffer"]}, {"step": 4, "tensors": ["momentum_buffer"]}]}),
     "neural.generator": "1,2,3,4", "neural.generator.dropout": "a,b,c,d",
     "neural.sampler": json.dumps({"epoch": 1, "position": 2, "permutation": [2, 0, 1]}), "note": "hi"}))
