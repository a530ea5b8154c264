#!/usr/bin/env bash
# test_localpath.sh — the local-path provisioner through the real kubectl (v1.32): the
# default StorageClass exists; a claim without a class gets it (DefaultStorageClass
# admission) and waits for its first consumer; a pod using it on a simulated node makes a
# hostPath PersistentVolume under <data-dir>/storage with node affinity and a claimRef,
# bound both ways, with its folder; deleting the claim removes the volume and the folder.
# A claim with Retain is left Released; a claim of another class is left alone.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

wait_for() {
	local name=$1 t=$2
	shift 2
	local end=$((SECONDS + t)) out
	while :; do
		if out=$("$@" 2>&1); then pass "$name"; return 0; fi
		if [ $SECONDS -ge $end ]; then fail "$name" "command: $*" "$(echo "$out" | tail -n 8)"; return 1; fi
		sleep 0.3
	done
}
eq() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
jp() { kubectl get "$@" 2>/dev/null; }

wait_for "local-path StorageClass is created as the default" 10 sh -c \
	'kubectl get storageclass local-path --no-headers | grep -Eq "^local-path \(default\) +timon.dev/local-path +Delete +WaitForFirstConsumer"'

cat >"$W/objs.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: sim-disk-1
  annotations:
    timon.dev/simulated: "true"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 2Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: other
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
YAML
expect_out "create node and claims" 'persistentvolumeclaim/data created' kubectl apply -f "$W/objs.yaml"
expect_out "a claim without a class gets the default one" '^local-path$' \
	kubectl get pvc data -o 'jsonpath={.spec.storageClassName}'
expect_out "an explicit empty class stays empty" '^$' \
	kubectl get pvc other -o 'jsonpath={.spec.storageClassName}'
sleep 1
expect_out "WaitForFirstConsumer: no volume before a pod" '^Pending ?$' \
	kubectl get pvc data -o 'jsonpath={.status.phase} {.spec.volumeName}'

cat >"$W/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: user
spec:
  nodeName: sim-disk-1
  containers:
  - name: c
    image: busybox
    volumeMounts:
    - name: d
      mountPath: /data
  volumes:
  - name: d
    persistentVolumeClaim:
      claimName: data
YAML
check "create a pod using the claim" kubectl apply -f "$W/pod.yaml"
wait_for "the claim becomes Bound" 10 sh -c '[ "$(kubectl get pvc data -o jsonpath={.status.phase})" = Bound ]'
UID_=$(jp pvc data -o 'jsonpath={.metadata.uid}')
PV=pvc-$UID_
check "the claim names its volume" eq "$(jp pvc data -o 'jsonpath={.spec.volumeName}')" "$PV"
check "the volume is Bound" eq "$(jp pv "$PV" -o 'jsonpath={.status.phase}')" Bound
check "the volume points back at the claim" eq \
	"$(jp pv "$PV" -o 'jsonpath={.spec.claimRef.namespace}/{.spec.claimRef.name}/{.spec.claimRef.uid}')" \
	"default/data/$UID_"
check "the volume is a hostPath under the data dir" eq \
	"$(jp pv "$PV" -o 'jsonpath={.spec.hostPath.path}')" "$TMP/data/storage/$PV"
check "the volume is pinned to the pod's node" eq \
	"$(jp pv "$PV" -o 'jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}')" \
	sim-disk-1
check "the volume has the claim's size, class and the class's reclaim policy" eq \
	"$(jp pv "$PV" -o 'jsonpath={.spec.capacity.storage} {.spec.storageClassName} {.spec.persistentVolumeReclaimPolicy}')" \
	"2Gi local-path Delete"
check "the claim reports capacity" eq "$(jp pvc data -o 'jsonpath={.status.capacity.storage}')" 2Gi
check "the folder exists" test -d "$TMP/data/storage/$PV"
expect_out "kubectl get pv shows it bound" "^$PV +2Gi +RWO +Delete +Bound +default/data +local-path" \
	kubectl get pv --no-headers
check "a claim of no class is left alone" eq "$(jp pvc other -o 'jsonpath={.status.phase}{.spec.volumeName}')" Pending

check "delete the pod" kubectl delete pod user --wait=false
check "delete the claim" kubectl delete pvc data --wait=false
wait_for "the volume is deleted" 10 sh -c "! kubectl get pv $PV >/dev/null 2>&1"
check "the folder is removed" test ! -e "$TMP/data/storage/$PV"

# Retain: the volume stays, Released, with its folder (the policy set on the provisioned
# volume before its claim goes).
cat >"$W/kept.yaml" <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: kept
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: user2
spec:
  nodeName: sim-disk-1
  containers:
  - name: c
    image: busybox
  volumes:
  - name: d
    persistentVolumeClaim:
      claimName: kept
YAML
check "create a second claim and pod" kubectl apply -f "$W/kept.yaml"
wait_for "the second claim becomes Bound" 10 sh -c '[ "$(kubectl get pvc kept -o jsonpath={.status.phase})" = Bound ]'
PV2=$(jp pvc kept -o 'jsonpath={.spec.volumeName}')
check "set Retain on its volume" kubectl patch pv "$PV2" --type merge -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'
check "delete the second claim" kubectl delete pvc kept --wait=false
wait_for "the retained volume is Released" 10 sh -c "[ \"\$(kubectl get pv $PV2 -o jsonpath={.status.phase})\" = Released ]"
check "the retained folder stays" test -d "$TMP/data/storage/$PV2"

finish
