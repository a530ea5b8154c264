#!/usr/bin/python3
"""test_python_client.py — the official Python client (Debian python3-kubernetes) against
timon: CRUD for several kinds, the three patch types, paginated lists, watch with resume,
and the status codes kube returns."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Results, Server, expect_status  # noqa: E402

from kubernetes import client, watch  # noqa: E402

srv = Server().start()
api = srv.api_client()
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
batch = client.BatchV1Api(api)
net = client.NetworkingV1Api(api)
rbac = client.RbacAuthorizationV1Api(api)
res = Results()
NS = "py"


def namespace():
    ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    assert ns.metadata.name == NS and ns.metadata.uid
    assert ns.status.phase == "Active"


def configmap_crud():
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg", labels={"app": "a"}),
                            data={"k": "v"})
    made = core.create_namespaced_config_map(NS, cm)
    assert made.metadata.resource_version and made.metadata.creation_timestamp
    got = core.read_namespaced_config_map("cfg", NS)
    assert got.data == {"k": "v"}
    got.data["k"] = "v2"
    upd = core.replace_namespaced_config_map("cfg", NS, got)
    assert upd.data["k"] == "v2"
    assert int(upd.metadata.resource_version) > int(made.metadata.resource_version)


def answers_are_stored():
    """A create's and an update's answer is the object as stored: byte for byte what a read
    returns next (the server answers with the bytes it stored, not a second encoding)."""
    def raw(fn, *args):
        data = fn(*args, _preload_content=False).data
        read = core.read_namespaced_pod("stored", NS, _preload_content=False).data
        assert data == read, (data, read)
        return json.loads(data)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stored", "labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], "schedulerName": "nobody"}}
    made = raw(core.create_namespaced_pod, NS, pod)
    assert made["metadata"]["resourceVersion"] and made["spec"]["restartPolicy"] == "Always", made
    made["metadata"]["labels"]["a"] = "c"
    upd = raw(core.replace_namespaced_pod, "stored", NS, made)
    assert upd["metadata"]["labels"] == {"a": "c"}, upd
    assert int(upd["metadata"]["resourceVersion"]) > int(made["metadata"]["resourceVersion"])
    patched = raw(core.patch_namespaced_pod, "stored", NS, {"metadata": {"labels": {"d": "e"}}})
    assert patched["metadata"]["labels"] == {"a": "c", "d": "e"}, patched
    core.delete_namespaced_pod("stored", NS, grace_period_seconds=0)


def status_codes():
    expect_status(404, core.read_namespaced_config_map, "missing", NS)
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg"), data={"k": "v"})
    e = expect_status(409, core.create_namespaced_config_map, NS, cm)
    assert json.loads(e.body)["reason"] == "AlreadyExists"
    stale = core.read_namespaced_config_map("cfg", NS)
    core.patch_namespaced_config_map("cfg", NS, {"data": {"other": "x"}})
    e = expect_status(409, core.replace_namespaced_config_map, "cfg", NS, stale)
    assert json.loads(e.body)["reason"] == "Conflict"
    bad = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Not_Valid"), data={})
    e = expect_status(422, core.create_namespaced_config_map, NS, bad)
    body = json.loads(e.body)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    expect_status(404, core.create_namespaced_config_map, "no-such-ns", cm)


def merge_patch(path, body, response_type):
    """The generated client sends dicts as strategic merge patches; a merge patch goes
    through call_api with its own Content-Type."""
    return api.call_api(path, "PATCH", header_params={
        "Content-Type": "application/merge-patch+json", "Accept": "application/json"},
        body=body, response_type=response_type, auth_settings=["BearerToken"],
        _return_http_data_only=True)


def patches():
    # A dict body is sent as application/strategic-merge-patch+json, a list as JSON patch.
    core.patch_namespaced_config_map("cfg", NS, {"data": {"s": "strategic"}})
    merge_patch("/api/v1/namespaces/%s/configmaps/cfg" % NS, {"data": {"m": "merge", "s": None}},
                "V1ConfigMap")
    core.patch_namespaced_config_map("cfg", NS, [{"op": "add", "path": "/data/j", "value": "json"}])
    got = core.read_namespaced_config_map("cfg", NS)
    assert got.data.get("m") == "merge" and got.data.get("j") == "json"
    assert "s" not in got.data


def deployment_patch_merges_containers():
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[
                    client.V1Container(name="web", image="nginx:1.25",
                                       ports=[client.V1ContainerPort(container_port=80)]),
                    client.V1Container(name="side", image="busybox")]))))
    made = apps.create_namespaced_deployment(NS, dep)
    assert made.spec.replicas == 1
    assert made.spec.strategy.type == "RollingUpdate"
    assert made.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert made.spec.template.spec.containers[1].image_pull_policy == "Always"
    patched = apps.patch_namespaced_deployment(
        "web", NS, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}})
    cs = patched.spec.template.spec.containers
    assert [c.name for c in cs] == ["web", "side"], [c.name for c in cs]
    assert cs[0].image == "nginx:1.26" and cs[0].ports[0].container_port == 80
    assert patched.metadata.generation == 2


def other_kinds():
    sec = core.create_namespaced_secret(NS, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s"), string_data={"password": "x"}))
    assert sec.type == "Opaque"
    svc = core.create_namespaced_service(NS, client.V1Service(
        metadata=client.V1ObjectMeta(name="svc"),
        spec=client.V1ServiceSpec(selector={"app": "web"}, type="NodePort",
                                  ports=[client.V1ServicePort(port=80)])))
    assert svc.spec.cluster_ip.startswith("10.43.")
    assert 30000 <= svc.spec.ports[0].node_port <= 32767
    assert svc.spec.ports[0].target_port == 80
    job = batch.create_namespaced_job(NS, client.V1Job(
        metadata=client.V1ObjectMeta(name="j"),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
            restart_policy="Never", containers=[client.V1Container(name="c", image="busybox")])))))
    assert job.spec.backoff_limit == 6
    ing = net.create_namespaced_ingress(NS, client.V1Ingress(
        metadata=client.V1ObjectMeta(name="ing"),
        spec=client.V1IngressSpec(rules=[client.V1IngressRule(
            host="scikit.example.com", http=client.V1HTTPIngressRuleValue(paths=[
                client.V1HTTPIngressPath(path="/", path_type="Prefix", backend=client.V1IngressBackend(
                    service=client.V1IngressServiceBackend(name="svc", port=client.V1ServiceBackendPort(number=80))))]))])))
    assert ing.spec.rules[0].host == "scikit.example.com"
    role = rbac.create_namespaced_role(NS, client.V1Role(
        metadata=client.V1ObjectMeta(name="reader"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list"])]))
    assert role.rules[0].verbs == ["get", "list"]
    # The job's controller makes its pod; every pod here has an owner.
    pods = core.list_namespaced_pod(NS)
    assert all(p.metadata.owner_references for p in pods.items), pods.items
    deleted = core.delete_namespaced_secret("s", NS)
    assert deleted.status == "Success" or deleted.metadata is not None
    expect_status(404, core.read_namespaced_secret, "s", NS)


def pagination():
    for i in range(7):
        core.create_namespaced_config_map(NS, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="page-%d" % i, labels={"page": "yes"})))
    names, cont, pages = [], None, 0
    while True:
        kw = {"limit": 3, "label_selector": "page=yes"}
        if cont:
            kw["_continue"] = cont
        lst = core.list_namespaced_config_map(NS, **kw)
        names += [i.metadata.name for i in lst.items]
        pages += 1
        cont = lst.metadata._continue
        if not cont:
            break
    assert names == ["page-%d" % i for i in range(7)], names
    assert pages == 3
    first = core.list_namespaced_config_map(NS, limit=2)
    assert first.metadata.remaining_item_count is not None and first.metadata.remaining_item_count > 0


def watch_resume():
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w1")))
    core.patch_namespaced_config_map("w1", NS, {"data": {"a": "b"}})
    core.delete_namespaced_config_map("w1", NS)
    w = watch.Watch()
    seen = []
    last = None
    for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=5):
        if ev["object"].metadata.name == "w1":
            seen.append(ev["type"])
            last = ev["object"].metadata.resource_version
        if len(seen) == 3:
            w.stop()
    assert seen == ["ADDED", "MODIFIED", "DELETED"], seen
    # Resume from the last event: only what happens after it arrives.
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w2")))
    got = []
    for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=last, timeout_seconds=5):
        got.append((ev["type"], ev["object"].metadata.name))
        w.stop()
    assert got == [("ADDED", "w2")], got


def watch_live():
    events = []

    def run():
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_secret, NS, timeout_seconds=5):
            events.append((ev["type"], ev["object"].metadata.name))
            if ev["object"].metadata.name == "live":
                w.stop()
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    core.create_namespaced_secret(NS, client.V1Secret(metadata=client.V1ObjectMeta(name="live")))
    t.join(10)
    assert ("ADDED", "live") in events, events


def too_old_watch_is_gone():
    e = None
    w = watch.Watch()
    try:
        for ev in w.stream(core.list_namespaced_config_map, NS, resource_version="1", timeout_seconds=3):
            pass
    except client.rest.ApiException as ex:
        e = ex
    # Fresh servers keep the whole history, so revision 1 may still be served; either the
    # events replay or the server answers 410 Expired.
    assert e is None or e.status == 410


def delete_collection():
    core.delete_collection_namespaced_config_map(NS, label_selector="page=yes")
    left = core.list_namespaced_config_map(NS, label_selector="page=yes")
    assert left.items == []


def namespace_delete_removes_contents():
    core.delete_namespace(NS)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            core.read_namespace(NS)
        except client.rest.ApiException as e:
            if e.status == 404:
                break
        time.sleep(0.2)
    else:
        raise AssertionError("namespace still there")
    expect_status(404, core.read_namespaced_config_map, "cfg", NS)
    assert apps.list_deployment_for_all_namespaces().items == []


try:
    for name, fn in [
        ("namespace create", namespace),
        ("configmap CRUD", configmap_crud),
        ("write answers are the stored object", answers_are_stored),
        ("status codes 404 409 422", status_codes),
        ("three patch types", patches),
        ("deployment defaults and strategic merge", deployment_patch_merges_containers),
        ("secrets services jobs ingress roles", other_kinds),
        ("paginated list", pagination),
        ("watch with resume", watch_resume),
        ("watch live events", watch_live),
        ("watch from revision 1", too_old_watch_is_gone),
        ("delete collection", delete_collection),
        ("namespace delete removes contents", namespace_delete_removes_contents),
    ]:
        res.check(name, fn)
finally:
    srv.stop()
res.finish(srv)
