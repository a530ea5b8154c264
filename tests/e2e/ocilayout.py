#!/usr/bin/env python3
"""ocilayout.py — turns a root filesystem folder into a one-layer OCI image layout, without
Docker: the folder is tarred by GNU tar (sorted names, fixed mtimes, numeric owners, so the
same folder gives the same layer), gzipped at level 1 while its uncompressed digest is
taken (the diff_id), and written with a config and a manifest using mkimage.py's blob
helpers. Not for multi-layer images or for anything but linux images of this machine's
architecture.

Usage: ocilayout.py --rootfs DIR --layout OUT --tag TAG --config JSON
  JSON is the image config's "config" object (Cmd, Env, WorkingDir, ExposedPorts, ...).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mkimage import digest, write_blob  # noqa: E402

# Left out of the layer: what the runtime mounts over, and caches mmdebstrap may leave.
EXCLUDES = ["./dev/*", "./proc/*", "./sys/*", "./run/*", "./tmp/*",
            "./var/cache/apt/archives/*.deb", "./var/lib/apt/lists/*"]


def layer(rootfs, layout):
    """Streams the rootfs through tar and gzip into a blob; returns (diff_id, digest, size)."""
    blobs = os.path.join(layout, "blobs", "sha256")
    tmp = os.path.join(blobs, "layer.tmp")
    cmd = ["tar", "-C", rootfs, "--sort=name", "--mtime=@1700000000", "--numeric-owner",
           "--xattrs", "--xattrs-include=security.capability", "-cf", "-"]
    cmd += ["--exclude=" + e for e in EXCLUDES] + ["."]
    plain, gz = hashlib.sha256(), hashlib.sha256()
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    size = 0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as p, open(tmp, "wb") as out:
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            plain.update(chunk)
            z = comp.compress(chunk)
            gz.update(z)
            out.write(z)
            size += len(z)
        z = comp.flush()
        gz.update(z)
        out.write(z)
        size += len(z)
    if p.returncode != 0:
        sys.exit("ocilayout: tar failed with exit %d" % p.returncode)
    os.rename(tmp, os.path.join(blobs, gz.hexdigest()))
    return "sha256:" + plain.hexdigest(), "sha256:" + gz.hexdigest(), size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--layout", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--config", required=True)
    a = ap.parse_args()

    os.makedirs(os.path.join(a.layout, "blobs", "sha256"), exist_ok=True)
    diff_id, ldigest, lsize = layer(a.rootfs, a.layout)
    config = {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                                    os.uname().machine),
        "os": "linux",
        "config": json.loads(a.config),
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": write_blob(a.layout, cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": ldigest, "size": lsize}],
    }
    mbytes = json.dumps(manifest).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": manifest["mediaType"], "digest": write_blob(a.layout, mbytes),
                       "size": len(mbytes),
                       "annotations": {"org.opencontainers.image.ref.name": a.tag}}],
    }
    with open(os.path.join(a.layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(a.layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(digest(mbytes))


if __name__ == "__main__":
    main()
