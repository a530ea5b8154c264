#!/usr/bin/env python3
"""gen-schema.py - builds src/api/schema_gen.inc, timon's table of facts about built-in types.

It reads the published Kubernetes API definitions (kubernetes/api, kubernetes/apimachinery,
kubernetes/apiextensions-apiserver, unpacked side by side under --src) and writes a C
initializer table matching src/api/schema.h to stdout:

  - generated.proto gives the protobuf view: message names, field numbers, value types,
    `repeated` and `map<>`;
  - the Go type files give the JSON view: json tags (name, omitempty, inline), pointer-ness,
    patchStrategy / patchMergeKey struct tags and the +listType, +listMapKey, +mapType,
    +structType, +optional and +required markers.

Only facts (names, numbers, kinds, flags, patch metadata) are emitted; no upstream comments
or descriptions. Not for: defaults, validation rules or anything else that needs judgement.

Usage: tools/gen-schema.py --src /tmp/k8s-src > src/api/schema_gen.inc
(see docs/schema.md for how to unpack the sources).
"""

import argparse
import os
import re
import sys

# (source dir under --src, proto package, OpenAPI name prefix, API group, version)
PACKAGES = [
    ("api/core/v1", "k8s.io.api.core.v1", "io.k8s.api.core.v1", "", "v1"),
    ("api/apps/v1", "k8s.io.api.apps.v1", "io.k8s.api.apps.v1", "apps", "v1"),
    ("api/batch/v1", "k8s.io.api.batch.v1", "io.k8s.api.batch.v1", "batch", "v1"),
    ("api/autoscaling/v1", "k8s.io.api.autoscaling.v1", "io.k8s.api.autoscaling.v1",
     "autoscaling", "v1"),
    ("api/autoscaling/v2", "k8s.io.api.autoscaling.v2", "io.k8s.api.autoscaling.v2",
     "autoscaling", "v2"),
    ("api/networking/v1", "k8s.io.api.networking.v1", "io.k8s.api.networking.v1",
     "networking.k8s.io", "v1"),
    ("api/discovery/v1", "k8s.io.api.discovery.v1", "io.k8s.api.discovery.v1",
     "discovery.k8s.io", "v1"),
    ("api/certificates/v1", "k8s.io.api.certificates.v1", "io.k8s.api.certificates.v1",
     "certificates.k8s.io", "v1"),
    ("api/coordination/v1", "k8s.io.api.coordination.v1", "io.k8s.api.coordination.v1",
     "coordination.k8s.io", "v1"),
    ("api/events/v1", "k8s.io.api.events.v1", "io.k8s.api.events.v1", "events.k8s.io", "v1"),
    ("api/rbac/v1", "k8s.io.api.rbac.v1", "io.k8s.api.rbac.v1", "rbac.authorization.k8s.io",
     "v1"),
    ("api/storage/v1", "k8s.io.api.storage.v1", "io.k8s.api.storage.v1", "storage.k8s.io", "v1"),
    ("api/scheduling/v1", "k8s.io.api.scheduling.v1", "io.k8s.api.scheduling.v1",
     "scheduling.k8s.io", "v1"),
    ("api/policy/v1", "k8s.io.api.policy.v1", "io.k8s.api.policy.v1", "policy", "v1"),
    ("api/node/v1", "k8s.io.api.node.v1", "io.k8s.api.node.v1", "node.k8s.io", "v1"),
    ("api/authorization/v1", "k8s.io.api.authorization.v1", "io.k8s.api.authorization.v1",
     "authorization.k8s.io", "v1"),
    ("api/authentication/v1", "k8s.io.api.authentication.v1", "io.k8s.api.authentication.v1",
     "authentication.k8s.io", "v1"),
    ("apiextensions-apiserver/pkg/apis/apiextensions/v1",
     "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1",
     "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1", "apiextensions.k8s.io", "v1"),
    ("apimachinery/pkg/apis/meta/v1", "k8s.io.apimachinery.pkg.apis.meta.v1",
     "io.k8s.apimachinery.pkg.apis.meta.v1", None, "v1"),
]

# Messages whose JSON form is not an object of their proto fields: mapped to a value kind,
# and given no entry of their own in the table.
SPECIAL = {
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "SCHEMA_QUANTITY",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "SCHEMA_TIME",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "SCHEMA_MICROTIME",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "SCHEMA_DURATION",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "SCHEMA_INT_OR_STRING",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "SCHEMA_RAW",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "SCHEMA_RAW",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON": "SCHEMA_RAW",
    # JSON Schema unions with custom JSON forms: free-form in JSON.
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray":
        "SCHEMA_ANY",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool":
        "SCHEMA_ANY",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray":
        "SCHEMA_ANY",
}

# The same special types, by their Go spelling (for structs that have no proto message).
GO_SPECIAL = {
    "resource.Quantity": "SCHEMA_QUANTITY",
    "metav1.Time": "SCHEMA_TIME", "Time": "SCHEMA_TIME",
    "metav1.MicroTime": "SCHEMA_MICROTIME", "MicroTime": "SCHEMA_MICROTIME",
    "metav1.Duration": "SCHEMA_DURATION", "Duration": "SCHEMA_DURATION",
    "intstr.IntOrString": "SCHEMA_INT_OR_STRING",
    "runtime.RawExtension": "SCHEMA_RAW", "FieldsV1": "SCHEMA_RAW",
    "interface{}": "SCHEMA_ANY",
}

# meta/v1 types that travel with a kind of their own (as kube-apiserver serves them).
META_KINDS = {
    "Status": ("", "v1"), "DeleteOptions": ("", "v1"), "WatchEvent": ("", "v1"),
    "APIGroup": ("", "v1"), "APIGroupList": ("", "v1"), "APIResourceList": ("", "v1"),
    "APIVersions": ("", "v1"), "Table": ("meta.k8s.io", "v1"),
    "PartialObjectMetadata": ("meta.k8s.io", "v1"),
    "PartialObjectMetadataList": ("meta.k8s.io", "v1"),
}

# meta/v1 structs that have no protobuf message but are served as JSON.
GO_ONLY_META = ["Table", "TableColumnDefinition", "TableRow", "TableRowCondition"]

PROTO_SCALAR = {
    "string": "SCHEMA_STRING", "bool": "SCHEMA_BOOL", "int32": "SCHEMA_INT32",
    "int64": "SCHEMA_INT64", "double": "SCHEMA_DOUBLE", "bytes": "SCHEMA_BYTES",
    "float": "SCHEMA_DOUBLE", "uint32": "SCHEMA_INT64", "uint64": "SCHEMA_INT64",
}

GO_SCALAR = {
    "string": "SCHEMA_STRING", "bool": "SCHEMA_BOOL", "int32": "SCHEMA_INT32",
    "int64": "SCHEMA_INT64", "int": "SCHEMA_INT64", "uint32": "SCHEMA_INT64",
    "uint64": "SCHEMA_INT64", "float64": "SCHEMA_DOUBLE", "float32": "SCHEMA_DOUBLE",
    "[]byte": "SCHEMA_BYTES",
}


def die(msg):
    sys.stderr.write("gen-schema: " + msg + "\n")
    sys.exit(1)


# ---------------------------------------------------------------------------------------
# generated.proto

def strip_proto_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


PROTO_FIELD = re.compile(
    r"^\s*(?:(optional|repeated|required)\s+([\w.]+)|map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>)"
    r"\s+(\w+)\s*=\s*(\d+)")


def parse_proto(path):
    """Returns (package, {message name: {number: field dict}})."""
    text = strip_proto_comments(open(path).read())
    m = re.search(r"^package\s+([\w.]+);", text, re.M)
    if not m:
        die(path + ": no package")
    pkg = m.group(1)
    msgs = {}
    cur = None
    for line in text.splitlines():
        mm = re.match(r"^message\s+(\w+)\s*{", line)
        if mm:
            cur = {}
            msgs[mm.group(1)] = cur
            continue
        if line.startswith("}"):
            cur = None
            continue
        if cur is None:
            continue
        fm = PROTO_FIELD.match(line)
        if not fm:
            continue
        label, typ, mkey, mval, name, num = fm.groups()
        f = {"name": name, "number": int(num)}
        if mkey:
            f.update(label="map", type=mval, key=mkey)
        else:
            f.update(label=label, type=typ)
        cur[int(num)] = f
    return pkg, msgs


# ---------------------------------------------------------------------------------------
# Go type files

GO_FIELD = re.compile(r"^\s+(?:(\w+)\s+)?(\S[^`]*?)\s*`([^`]*)`\s*(?://.*)?$")


def go_tag(tags, key):
    m = re.search(r'(?:^|\s)' + re.escape(key) + r':"([^"]*)"', tags)
    return m.group(1) if m else None


def markers(comment_lines):
    """+name=value markers of a comment block, as {name: [values]}."""
    out = {}
    for c in comment_lines:
        m = re.match(r"^\s*//\s*\+([\w:./-]+)(?:=(.*))?$", c)
        if m:
            out.setdefault(m.group(1), []).append((m.group(2) or "").strip())
    return out


def parse_go_dir(d):
    """Returns (structs, named, named_markers): structs maps a type name to {fields,
    markers}; named maps a non-struct named type to its Go type text, named_markers to the
    markers above it."""
    structs, named, named_markers = {}, {}, {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".go") or fn.endswith("_test.go") or fn.startswith("zz_") or \
                fn.startswith("generated") or "swagger_doc" in fn or fn.endswith("_fuzz.go"):
            continue
        lines = open(os.path.join(d, fn)).read().splitlines()
        blocks = [[]]  # comment blocks seen since the last declaration
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("//"):
                blocks[-1].append(line)
                i += 1
                continue
            if not line.strip():
                if blocks[-1]:
                    blocks.append([])
                i += 1
                continue
            m = re.match(r"^type\s+(\w+)\s+struct\s*{\s*}\s*$", line)
            if m:  # an empty struct
                structs[m.group(1)] = {"fields": [], "markers": markers(sum(blocks[-3:], []))}
                blocks = [[]]
                i += 1
                continue
            m = re.match(r"^type\s+(\w+)\s+struct\s*{\s*$", line)
            if m:
                name = m.group(1)
                tmark = markers(sum(blocks[-3:], []))
                fields, i = parse_go_struct(lines, i + 1)
                structs[name] = {"fields": fields, "markers": tmark}
                blocks = [[]]
                continue
            m = re.match(r"^type\s+(\w+)\s+(\S.*?)\s*(?://.*)?$", line)
            if m and not m.group(2).endswith("{") and "(" not in m.group(2):
                named[m.group(1)] = m.group(2)
                named_markers[m.group(1)] = markers(sum(blocks[-3:], []))
            blocks = [[]]
            i += 1
    return structs, named, named_markers


def parse_go_struct(lines, i):
    fields = []
    comments = []
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("}"):
            break
        s = line.strip()
        if not s:
            comments = []
            continue
        if s.startswith("//"):
            comments.append(s)
            continue
        m = GO_FIELD.match(line)
        if not m:
            comments = []
            continue
        gname, gtype, tags = m.groups()
        if gname is None:  # embedded: the field is named after its type
            gname = gtype.lstrip("*").split(".")[-1]
        fields.append({"go": gname, "type": gtype, "tags": tags,
                       "markers": markers(comments)})
        comments = []
    return fields, i


# ---------------------------------------------------------------------------------------
# The table

class Gen:
    def __init__(self, src):
        self.src = src
        self.protos = {}      # proto package -> {message: fields}
        self.pkg_of = {}      # proto package -> PACKAGES row
        self.go = {}          # proto package -> (structs, named)
        self.types = {}       # OpenAPI name -> type dict
        for row in PACKAGES:
            d = os.path.join(src, row[0])
            if not os.path.isdir(d):
                die("missing " + d)
            pkg, msgs = parse_proto(os.path.join(d, "generated.proto"))
            if pkg != row[1]:
                die("%s: package %s, expected %s" % (d, pkg, row[1]))
            self.protos[pkg] = msgs
            self.pkg_of[pkg] = row
            self.go[pkg] = parse_go_dir(d)

    def qualify(self, pkg, typ):
        """Full proto name (no leading dot) of a message reference inside pkg."""
        if typ.startswith("."):
            return typ[1:]
        return pkg + "." + typ

    def openapi_name(self, full):
        pkg, _, msg = full.rpartition(".")
        row = self.pkg_of.get(pkg)
        if not row:
            die("reference to a message of an uncovered package: " + full)
        return row[2] + "." + msg

    def value_of_proto(self, pkg, typ):
        """(kind, type name or None) for a proto value type."""
        if typ in PROTO_SCALAR:
            return PROTO_SCALAR[typ], None
        full = self.qualify(pkg, typ)
        if SPECIAL.get(full) == "SCHEMA_ANY":  # free-form JSON; protobuf: a union message
            return "SCHEMA_ANY", self.openapi_name(full)
        if full in SPECIAL:
            return SPECIAL[full], None
        return "SCHEMA_OBJECT", self.openapi_name(full)

    def go_value(self, pkg, gtype, depth=0):
        """(kind, elem, type name) from a Go type, for structs with no proto message."""
        t = gtype.lstrip("*")
        structs, named, nmark = self.go[pkg]
        if t in GO_SCALAR:
            return GO_SCALAR[t], None, None
        if t in GO_SPECIAL:
            return GO_SPECIAL[t], None, None
        if t.startswith("[]"):
            k, _, n = self.go_value(pkg, t[2:], depth + 1)
            return "SCHEMA_ARRAY", k, n
        m = re.match(r"^map\[(\w+)\](.+)$", t)
        if m:
            k, _, n = self.go_value(pkg, m.group(2), depth + 1)
            return "SCHEMA_MAP", k, n
        if t in named and depth < 4:
            return self.go_value(pkg, named[t], depth + 1)
        if t in structs:
            return "SCHEMA_OBJECT", None, self.pkg_of[pkg][2] + "." + t
        return "SCHEMA_ANY", None, None

    def field_flags(self, gf, jopts, ftype_markers):
        fl = []
        mk = gf["markers"]
        omit = "omitempty" in jopts
        if omit:
            fl.append("SCHEMA_F_OMITEMPTY")
        optional = "optional" in mk
        required = "required" in mk
        if "inline" not in jopts and (required or (not optional and not omit)):
            fl.append("SCHEMA_F_REQUIRED")
        if gf["type"].startswith("*"):
            fl.append("SCHEMA_F_POINTER")
        if "inline" in jopts:
            fl.append("SCHEMA_F_INLINE")
        atomic = mk.get("mapType", [None])[0] == "atomic" or \
            mk.get("structType", [None])[0] == "atomic" or \
            (ftype_markers or {}).get("structType", [None])[0] == "atomic"
        if atomic and "inline" not in jopts:
            fl.append("SCHEMA_F_MAP_ATOMIC")
        return fl

    def build_type(self, pkg, msg, gstruct):
        row = self.pkg_of[pkg]
        name = row[2] + "." + msg
        pfields = self.protos[pkg].get(msg)
        fields = []
        for gf in gstruct["fields"]:
            jtag = go_tag(gf["tags"], "json")
            if jtag is None or jtag == "-":
                continue
            jname, _, jopts = jtag.partition(",")
            jopts = jopts.split(",") if jopts else []
            if gf["type"] in ("metav1.TypeMeta", "TypeMeta") and "inline" in jopts:
                for j in ("kind", "apiVersion"):
                    fields.append({"json": j, "proto": 0, "kind": "SCHEMA_STRING",
                                   "elem": None, "type": None, "flags": ["SCHEMA_F_OMITEMPTY"],
                                   "gtype": "string"})
                continue
            ptag = go_tag(gf["tags"], "protobuf")
            num = 0
            if ptag and ptag != "-":
                num = int(ptag.split(",")[1])
            kind, elem, tname = None, None, None
            if pfields is not None and num in pfields:
                pf = pfields[num]
                vk, vt = self.value_of_proto(pkg, pf["type"])
                wrapper = vt and self.is_slice_wrapper(pkg, pf["type"])
                if pf["label"] == "map":
                    if wrapper:  # map[string]ExtraValue: values are arrays in JSON
                        kind, elem, tname = "SCHEMA_MAP", "SCHEMA_ARRAY", vt
                    else:
                        kind, elem, tname = "SCHEMA_MAP", vk, vt
                elif pf["label"] == "repeated":
                    kind, elem, tname = "SCHEMA_ARRAY", vk, vt
                elif wrapper:  # a named slice type (Verbs): a JSON array
                    inner = self.protos[pkg][pf["type"].split(".")[-1]][1]
                    ik, it = self.value_of_proto(pkg, inner["type"])
                    kind, elem, tname = "SCHEMA_ARRAY", ik, vt
                else:
                    kind, tname = vk, vt
            else:
                if pfields is not None and num:
                    die("%s.%s: proto field %d not found" % (name, gf["go"], num))
                kind, elem, tname = self.go_value(pkg, gf["type"])
            ftm = None
            if tname and kind == "SCHEMA_OBJECT":
                tp, _, tm = tname.rpartition(".")
                for p, r in self.pkg_of.items():
                    if r[2] == tp:
                        s = self.go[p][0].get(tm)
                        ftm = s["markers"] if s else None
            mk = gf["markers"]
            f = {
                "json": gf["go"] if "inline" in jopts else jname,
                "proto": num, "kind": kind, "elem": elem, "type": tname,
                "flags": self.field_flags(gf, jopts, ftm),
                "patch_strategy": go_tag(gf["tags"], "patchStrategy"),
                "patch_merge_key": go_tag(gf["tags"], "patchMergeKey"),
                "list_type": mk.get("listType", [None])[0],
                "list_map_keys": ",".join(mk["listMapKey"]) if "listMapKey" in mk else None,
            }
            fields.append(f)
        t = {"name": name, "fields": fields, "group": None, "version": None, "kind": None}
        if row[3] is not None:
            if "k8s:deepcopy-gen:interfaces" in gstruct["markers"] and any(
                    f["json"] == "kind" and f["proto"] == 0 for f in fields):
                t.update(group=row[3], version=row[4], kind=msg)
        elif msg in META_KINDS:
            g, v = META_KINDS[msg]
            t.update(group=g, version=v, kind=msg)
        return t

    def union_type(self, pkg, msg):
        """A JSON-Schema union (JSONSchemaPropsOrArray...): free-form in JSON, so its
        entry only describes the protobuf message; fields are named as in the proto."""
        fields = []
        for num, pf in sorted(self.protos[pkg][msg].items()):
            vk, vt = self.value_of_proto(pkg, pf["type"])
            f = {"json": pf["name"], "proto": num, "kind": vk, "elem": None, "type": vt,
                 "flags": ["SCHEMA_F_OMITEMPTY"]}
            if pf["label"] == "repeated":
                f.update(kind="SCHEMA_ARRAY", elem=vk)
            fields.append(f)
        return {"name": self.openapi_name(pkg + "." + msg), "group": None, "version": None,
                "kind": None, "fields": fields}

    def is_slice_wrapper(self, pkg, typ):
        """True when proto message typ stands for a Go named slice (type X []T)."""
        full = self.qualify(pkg, typ)
        p, _, msg = full.rpartition(".")
        structs, named, _ = self.go.get(p, ({}, {}, {}))
        return msg in named and named[msg].startswith("[]") and \
            list(self.protos[p].get(msg, {}).keys()) == [1]

    def build(self):
        for pkg, msgs in self.protos.items():
            structs, named, nmark = self.go[pkg]
            for msg in msgs:
                full = pkg + "." + msg
                if SPECIAL.get(full) == "SCHEMA_ANY":
                    self.types[self.openapi_name(full)] = self.union_type(pkg, msg)
                    continue
                if full in SPECIAL:
                    continue
                if msg in named and named[msg].startswith("[]"):
                    # A named slice: keep the wrapper message (protobuf form of the values).
                    item = msgs[msg].get(1)
                    vk, vt = self.value_of_proto(pkg, item["type"])
                    name = self.pkg_of[pkg][2] + "." + msg
                    self.types[name] = {
                        "name": name, "group": None, "version": None, "kind": None,
                        "fields": [{"json": "items", "proto": 1, "kind": "SCHEMA_ARRAY",
                                    "elem": vk, "type": vt, "flags": ["SCHEMA_F_REQUIRED"]}]}
                    continue
                if msg not in structs and named.get(msg, "").startswith("metav1."):
                    # type List metav1.List: the meta struct under this package's name
                    meta = self.go["k8s.io.apimachinery.pkg.apis.meta.v1"][0]
                    alias = {"fields": meta[named[msg][7:]]["fields"], "markers": nmark[msg]}
                    t = self.build_type(pkg, msg, alias)
                    self.types[t["name"]] = t
                    continue
                if msg not in structs:
                    sys.stderr.write("gen-schema: note: no Go struct for %s\n" % full)
                    continue
                t = self.build_type(pkg, msg, structs[msg])
                self.types[t["name"]] = t
            # Go structs with no proto message: only meta/v1's Table family is wanted.
            if self.pkg_of[pkg][3] is None:
                for sname in GO_ONLY_META:
                    t = self.build_type(pkg, sname, structs[sname])
                    self.types[t["name"]] = t

    def check(self):
        for t in self.types.values():
            for f in t["fields"]:
                if f["type"] and f["type"] not in self.types:
                    die("%s.%s references unknown type %s" % (t["name"], f["json"], f["type"]))


def c_str(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_ident(name):
    return "f_" + re.sub(r"[^A-Za-z0-9]", "_", name)


def emit(gen, out, src_version):
    names = sorted(gen.types)
    index = {n: i for i, n in enumerate(names)}
    w = out.write
    w("/* schema_gen.inc - GENERATED by tools/gen-schema.py from the Kubernetes API definitions\n"
      " * (kubernetes/api, apimachinery, apiextensions-apiserver %s). Do not edit by hand.\n"
      " * Regenerate: tools/gen-schema.py --src /tmp/k8s-src --version %s > src/api/schema_gen.inc\n"
      " * (docs/schema.md says how to unpack the sources). Included once, by src/api/schema.c.\n"
      " * Facts only: names, protobuf numbers, value kinds, flags and patch metadata. */\n\n"
      % (src_version, src_version))
    w("#define T_(i) (&schema_types[i])\n\n")
    for n in names:
        t = gen.types[n]
        if not t["fields"]:
            continue
        w("static const schema_field %s[] = {\n" % c_ident(n))
        for f in t["fields"]:
            parts = [".json = %s" % c_str(f["json"])]
            if f["proto"]:
                parts.append(".proto = %d" % f["proto"])
            parts.append(".kind = %s" % f["kind"])
            if f.get("elem"):
                parts.append(".elem = %s" % f["elem"])
            if f["flags"]:
                parts.append(".flags = " + " | ".join(f["flags"]))
            if f.get("type"):
                parts.append(".type = T_(%d)" % index[f["type"]])
            for k in ("patch_strategy", "patch_merge_key", "list_type", "list_map_keys"):
                if f.get(k):
                    parts.append(".%s = %s" % (k, c_str(f[k])))
            w("\t{" + ", ".join(parts) + "},\n")
        w("};\n")
    w("\nconst schema_type schema_types[] = {\n")
    for n in names:
        t = gen.types[n]
        parts = [".name = %s" % c_str(n)]
        if t["kind"]:
            parts += [".group = %s" % c_str(t["group"]), ".version = %s" % c_str(t["version"]),
                      ".kind = %s" % c_str(t["kind"])]
        if t["fields"]:
            parts += [".fields = %s" % c_ident(n), ".nfields = %d" % len(t["fields"])]
        w("\t/* %d */ {" % index[n] + ", ".join(parts) + "},\n")
    w("};\n\nconst size_t schema_ntypes = %d;\n\n#undef T_\n" % len(names))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True,
                    help="folder holding api/, apimachinery/ and apiextensions-apiserver/")
    ap.add_argument("--version", default="v0.32",
                    help="the upstream version written in the header")
    args = ap.parse_args()
    gen = Gen(args.src)
    gen.build()
    gen.check()
    emit(gen, sys.stdout, args.version)


if __name__ == "__main__":
    main()
