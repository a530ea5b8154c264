#!/usr/bin/env python3
"""corrupt_image.py — from the OCI layout SRC (tag TAG), writes the OCI layout DST (same
tag) with one more layer of its own (a file of random bytes, so no other image shares the
blob), and prints that layer's digest. A test pushes DST to its registry, then damages the
layer's bytes in the registry's storage: pulls of DST must then fail their digest check.

Usage: corrupt_image.py SRC TAG DST
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

src, tag, dst = sys.argv[1:4]
shutil.copytree(src, dst)
blobs = os.path.join(dst, "blobs", "sha256")


def read_blob(digest):
    with open(os.path.join(blobs, digest.split(":", 1)[1]), "rb") as f:
        return f.read()


def write_blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d


index = json.load(open(os.path.join(dst, "index.json")))
entry = next(m for m in index["manifests"]
             if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
manifest = json.loads(read_blob(entry["digest"]))
config = json.loads(read_blob(manifest["config"]["digest"]))

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    payload = os.urandom(4096)
    info = tarfile.TarInfo("unique.bin")
    info.size = len(payload)
    info.mode = 0o644
    t.addfile(info, io.BytesIO(payload))
tar = raw.getvalue()
gz = gzip.compress(tar, mtime=0)
layer = write_blob(gz)
config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(tar).hexdigest())
cfg = json.dumps(config).encode()
manifest["config"] = {"mediaType": manifest["config"]["mediaType"],
                      "digest": write_blob(cfg), "size": len(cfg)}
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": layer, "size": len(gz)})
man = json.dumps(manifest).encode()
entry["digest"] = write_blob(man)
entry["size"] = len(man)
json.dump(index, open(os.path.join(dst, "index.json"), "w"))
print(layer.split(":", 1)[1])
