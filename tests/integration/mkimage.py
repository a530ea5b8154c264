#!/usr/bin/env python3
"""mkimage.py — builds a small two-layer test image from the host's static busybox, without
Docker: an OCI image layout folder, optionally also as an OCI archive and as a `docker save`
archive. Layer 1 is a busybox rootfs (symlinks, a hardlink, a setgid folder, a file owned
by uid 1000); layer 2 whites out a file and makes a folder opaque, so the unpacker's
whiteout handling is exercised end to end.

Usage: mkimage.py --layout DIR --tag TAG [--env K=V]... [--oci-archive FILE]
                  [--docker-archive FILE --name REF]
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile

BUSYBOX = "/bin/busybox"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def add(tar, name, data=None, mode=0o644, kind=tarfile.REGTYPE, link="", uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = 1700000000
    ti.linkname = link
    if data is not None:
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))
    else:
        tar.addfile(ti)


def layer(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            add(tar, **e)
    plain = raw.getvalue()
    return plain, gzip.compress(plain, mtime=0)


def build():
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    l1 = [
        dict(name="bin", mode=0o755, kind=tarfile.DIRTYPE),
        dict(name="bin/busybox", data=bb, mode=0o755),
        dict(name="bin/sh", kind=tarfile.SYMTYPE, link="busybox", mode=0o777),
        dict(name="bin/echo", kind=tarfile.SYMTYPE, link="/bin/busybox", mode=0o777),
        dict(name="bin/busybox-hard", kind=tarfile.LNKTYPE, link="bin/busybox", mode=0o755),
        dict(name="etc", mode=0o755, kind=tarfile.DIRTYPE),
        dict(name="etc/removed.txt", data=b"gone in layer 2\n"),
        dict(name="etc/keep", mode=0o755, kind=tarfile.DIRTYPE),
        dict(name="etc/keep/a", data=b"hidden by the opaque folder\n"),
        dict(name="home", mode=0o755, kind=tarfile.DIRTYPE),
        dict(name="home/user", mode=0o2750, kind=tarfile.DIRTYPE, uid=1000, gid=1000),
        dict(name="home/user/.profile", data=b"export X=1\n", mode=0o600, uid=1000, gid=1000),
        dict(name="tmp", mode=0o1777, kind=tarfile.DIRTYPE),
    ]
    l2 = [
        dict(name="etc", mode=0o755, kind=tarfile.DIRTYPE),
        dict(name="etc/.wh.removed.txt", data=b""),
        dict(name="etc/keep", mode=0o755, kind=tarfile.DIRTYPE),
        dict(name="etc/keep/.wh..wh..opq", data=b""),
        dict(name="etc/keep/b", data=b"layer 2\n"),
        dict(name="hello.txt", data=b"hello from layer 2\n"),
    ]
    return [layer(l1), layer(l2)]


def write_blob(layout, data):
    d = digest(data)
    path = os.path.join(layout, "blobs", "sha256", d[7:])
    with open(path, "wb") as f:
        f.write(data)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--oci-archive")
    ap.add_argument("--docker-archive")
    ap.add_argument("--name", help="repository name for the docker archive's RepoTags")
    ap.add_argument("--env", action="append", default=[],
                    help="KEY=VALUE added to the config's Env (another image ID, same layers)")
    a = ap.parse_args()

    layers = build()
    os.makedirs(os.path.join(a.layout, "blobs", "sha256"), exist_ok=True)
    config = {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                                    os.uname().machine),
        "os": "linux",
        "config": {
            "Entrypoint": ["/bin/sh"],
            "Cmd": ["-c", "echo hello"],
            "Env": ["PATH=/bin", "GREETING=hi"] + a.env,
            "WorkingDir": "/home/user",
            "User": "1000:1000",
            "ExposedPorts": {"8080/tcp": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(p) for p, _ in layers]},
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": write_blob(a.layout, cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": write_blob(a.layout, gz), "size": len(gz)} for _, gz in layers],
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

    if a.oci_archive:
        with tarfile.open(a.oci_archive, "w") as tar:
            for name in sorted(os.listdir(a.layout)):
                tar.add(os.path.join(a.layout, name), arcname=name)

    if a.docker_archive:
        # docker save: uncompressed layers at <id>/layer.tar, the config as <hex>.json.
        with tarfile.open(a.docker_archive, "w") as tar:
            paths = []
            for plain, _ in layers:
                p = digest(plain)[7:] + "/layer.tar"
                add(tar, p, data=plain)
                paths.append(p)
            cname = digest(cfg)[7:] + ".json"
            add(tar, cname, data=cfg)
            mf = [{"Config": cname, "RepoTags": [f"{a.name}:{a.tag}"], "Layers": paths}]
            add(tar, "manifest.json", data=json.dumps(mf).encode())


if __name__ == "__main__":
    main()
