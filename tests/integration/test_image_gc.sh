#!/usr/bin/env bash
# test_image_gc.sh — image garbage collection by disk thresholds, end to end (as root):
# the agent runs with --image-gc-high-threshold 1 --image-gc-low-threshold 0 and
# --minimum-image-ttl-duration 0s, so the image filesystem is always "over high" whatever
# this machine's disk holds (deterministic without faking the measurement) and every
# unused image is a candidate. An image whose pod was deleted must go; the image of a
# running pod must stay; since the unused one cannot free enough to reach 0%, the node
# gets kubelet's FreeDiskSpaceFailed event (and ImageGCFailed on the next pass).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }
# A second image: the same layers, another config (so another image ID).
python3 "$HERE/mkimage.py" --layout "$TMP/layout2" --tag gc --env VARIANT=gc >/dev/null &&
	skopeo copy --quiet --dest-tls-verify=false oci:"$TMP/layout2":gc "docker://$REG/test/busybox:gc" ||
	{ fail "second test image is built and pushed"; finish; exit 1; }
IMAGE2=$REG/test/busybox:gc

expect_err "low must be below high" "must be less than" \
	"$TIMON" server --image-gc-high-threshold 50 --image-gc-low-threshold 60 --data-dir "$TMP/bad"
expect_err "a percentage above 100 is refused" "invalid --image-gc-high-threshold" \
	"$TIMON" server --image-gc-high-threshold 101 --data-dir "$TMP/bad"

start_agent_server --image-gc-high-threshold 1 --image-gc-low-threshold 0 --minimum-image-ttl-duration 0s ||
	{ fail "server with agent starts"; finish; exit 1; }


kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  containers:
  - {name: c, image: "$IMAGE", command: ["/bin/sh", "-c", "while :; do sleep 1; done"]}
---
apiVersion: v1
kind: Pod
metadata: {name: passing}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: "$IMAGE2", command: ["/bin/sh", "-c", "echo \$VARIANT"]}
EOF2
check "the pod using the first image runs" kubectl wait --for=condition=Ready pod/keeper --timeout=60s
check "the pod using the second image completes" wait_for 60 sh -c \
	"[ \"\$(kubectl get pod passing -o jsonpath='{.status.phase}')\" = Succeeded ]"
expect_out "... with the second image's config" "^gc$" kubectl logs passing
check "both images are in the store" sh -c "'$TIMON' images --root '$TMP/data/agent/images' ls | grep -q ':gc\\b\\|busybox *gc' && '$TIMON' images --root '$TMP/data/agent/images' ls | grep -Eq 'busybox +1 '"
check "the second image's pod is deleted" kubectl delete pod passing --wait=true --timeout=30s
# A pass runs every 30 s.
check "image GC removes the unused image" wait_for 75 sh -c \
	"! '$TIMON' images --root '$TMP/data/agent/images' ls | grep -Eq 'busybox +gc '"
check "... and keeps the one a running container uses" sh -c \
	"'$TIMON' images --root '$TMP/data/agent/images' ls | grep -Eq 'busybox +1 '"
check "the server log names what was removed" grep -q "image GC removed $REG/test/busybox:gc" "$TMP/server.log"
check "the running pod is untouched" kubectl wait --for=condition=Ready pod/keeper --timeout=5s
check "FreeDiskSpaceFailed on the node (0% cannot be reached)" wait_for 40 sh -c \
	"kubectl get events -A --field-selector involvedObject.kind=Node,reason=FreeDiskSpaceFailed -o jsonpath='{.items[*].message}' | grep -q 'Failed to garbage collect required amount of images'"
check "ImageGCFailed once it failed twice in a row" wait_for 40 sh -c \
	"kubectl get events -A --field-selector involvedObject.kind=Node,reason=ImageGCFailed -o name | grep -q ."
# The image comes back when a pod needs it again.
kubectl run again --image="$IMAGE2" --restart=Never --command -- sh -c 'echo back' >/dev/null
check "a removed image is pulled again for a new pod" wait_for 60 sh -c \
	"[ \"\$(kubectl get pod again -o jsonpath='{.status.phase}')\" = Succeeded ]"

finish
