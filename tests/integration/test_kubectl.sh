#!/usr/bin/env bash
# test_kubectl.sh — the real kubectl (v1.32) against `timon server`, command by command, as a
# user would type them: no --validate=false, no flags a user would not pass.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

# --- version, discovery, explain ---
expect_out "version shows the server" 'Server Version: v1\.32' kubectl version
expect_out "api-resources lists deployments" 'deployments +deploy +apps/v1 +true +Deployment' kubectl api-resources
expect_out "api-versions lists apps/v1" '^apps/v1$' kubectl api-versions
expect_out "explain reads the OpenAPI schema" 'FIELD: containers' kubectl explain deployment.spec.template.spec.containers
expect_out "auth can-i for the admin" '^yes$' kubectl auth can-i create deployments

# --- the seed's walkthrough commands ---
expect_out "create deployment" 'deployment.apps/hello-world created' kubectl create deployment hello-world --image=nginx
expect_out "get deployments" '^hello-world +0/1' kubectl get deployments
expect_out "deployment read back with defaults" '"progressDeadlineSeconds":600' kubectl get deployment hello-world -o json --output=jsonpath='{.spec}'
expect_out "get pods -A" 'NAMESPACE|No resources found' kubectl get pods -A
expect_out "get all" 'service/kubernetes' kubectl get all
expect_out "describe deployment" 'Selector: +app=hello-world' kubectl describe deployment hello-world
expect_out "create duplicate fails with AlreadyExists" 'AlreadyExists|already exists' sh -c 'kubectl create deployment hello-world --image=nginx 2>&1; true'
expect_err "get missing object is NotFound" 'NotFound|not found' kubectl get deployment nope

# --- apply (client-side), label survives re-apply ---
cat >"$W/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
YAML
expect_out "apply creates" 'deployment.apps/web created' kubectl apply -f "$W/web.yaml"
check "label added meanwhile" kubectl label deployment web tier=frontend
sed -i 's/replicas: 2/replicas: 3/' "$W/web.yaml"
expect_out "re-apply configures" 'deployment.apps/web configured' kubectl apply -f "$W/web.yaml"
expect_out "change landed" '^3$' kubectl get deployment web -o jsonpath='{.spec.replicas}'
expect_out "label survived apply" '^frontend$' kubectl get deployment web -o jsonpath='{.metadata.labels.tier}'
expect_out "apply unchanged" 'deployment.apps/web unchanged' kubectl apply -f "$W/web.yaml"

# --- diff ---
sed -i 's/replicas: 3/replicas: 4/' "$W/web.yaml"
out=$(kubectl diff -f "$W/web.yaml" 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q '+  replicas: 4'; then pass "diff shows the change"; else fail "diff shows the change" "exit $rc" "$out"; fi

# --- server-side apply ---
cat >"$W/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
  a: "1"
YAML
expect_out "apply --server-side creates" 'configmap/ssa serverside-applied' kubectl apply --server-side -f "$W/cm.yaml"
expect_out "managedFields record the applier" 'kubectl' kubectl get configmap ssa -o jsonpath='{.metadata.managedFields[0].manager}'

# --- edit with EDITOR set to a script ---
cat >"$W/editor.sh" <<'SH'
#!/bin/sh
sed -i 's/^  a: "1"/  a: "edited"/' "$1"
SH
chmod +x "$W/editor.sh"
expect_out "edit" 'configmap/ssa edited' env EDITOR="$W/editor.sh" kubectl edit configmap ssa
expect_out "edit landed" '^edited$' kubectl get configmap ssa -o jsonpath='{.data.a}'

# --- scale, label, annotate, patch ---
expect_out "scale" 'deployment.apps/web scaled' kubectl scale deployment web --replicas=5
expect_out "scale landed" '^5$' kubectl get deployment web -o jsonpath='{.spec.replicas}'
expect_out "annotate" 'deployment.apps/web annotated' kubectl annotate deployment web owner=ml-team
expect_out "patch strategic" 'deployment.apps/web patched' kubectl patch deployment web -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}'
expect_out "strategic merge kept the port" '^80$' kubectl get deployment web -o jsonpath='{.spec.template.spec.containers[0].ports[0].containerPort}'
expect_out "patch merge" 'deployment.apps/web patched' kubectl patch deployment web --type=merge -p '{"metadata":{"labels":{"merged":"yes"}}}'
expect_out "patch json" 'deployment.apps/web patched' kubectl patch deployment web --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]'
expect_out "json patch landed" '^2$' kubectl get deployment web -o jsonpath='{.spec.replicas}'
expect_err "json patch test failure" 'test|[Ii]nvalid|failed' kubectl patch deployment web --type=json -p '[{"op":"test","path":"/spec/replicas","value":9}]'

# --- configmaps and secrets ---
echo "hello from a file" >"$W/greeting.txt"
expect_out "create configmap --from-literal" 'configmap/lit created' kubectl create configmap lit --from-literal=k1=v1 --from-literal=k2=v2
expect_out "create configmap --from-file" 'configmap/fil created' kubectl create configmap fil --from-file="$W/greeting.txt"
expect_out "create secret --from-literal" 'secret/sec created' kubectl create secret generic sec --from-literal=password=s3cr3t
expect_out "create secret --from-file" 'secret/secf created' kubectl create secret generic secf --from-file="$W/greeting.txt"
expect_out "secret data is base64" '^czNjcjN0$' kubectl get secret sec -o jsonpath='{.data.password}'
expect_out "configmap from file" 'hello from a file' kubectl get configmap fil -o jsonpath='{.data.greeting\.txt}'

# --- output formats ---
expect_out "get -o json" '"kind": "Deployment"' kubectl get deployment web -o json
expect_out "get -o yaml" '^kind: Deployment' kubectl get deployment web -o yaml
expect_out "get -o wide" 'CONTAINERS +IMAGES +SELECTOR' kubectl get deployments -o wide
expect_out "get -o name" '^deployment.apps/web$' kubectl get deployment web -o name
expect_out "get -o jsonpath" '^web$' kubectl get deployment web -o jsonpath='{.metadata.name}'
expect_out "get -o custom-columns" '^web +2$' kubectl get deployment web -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas --no-headers
expect_out "label selector" '^web ' kubectl get deployments -l tier=frontend --no-headers
expect_out "label selector excludes" '^hello-world ' kubectl get deployments -l 'tier!=frontend' --no-headers
expect_out "field selector" '^web ' kubectl get deployments --field-selector metadata.name=web --no-headers
expect_out "sort-by" 'hello-world[^\n]*' kubectl get deployments --sort-by=.metadata.name -o name
for i in 1 2 3 4 5; do kubectl create configmap page-$i --from-literal=i=$i >/dev/null; done
expect_out "chunk-size pages through" 'page-5' kubectl get configmaps --chunk-size=2
expect_out "list via --raw with limit has continue" '"continue":"' kubectl get --raw '/api/v1/namespaces/default/configmaps?limit=2'

# --- watch ---
kubectl get configmaps -w --request-timeout=5s >"$W/watch.out" 2>&1 &
wpid=$!
sleep 1
kubectl create configmap watched --from-literal=x=y >/dev/null
sleep 1
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
if grep -q '^watched' "$W/watch.out"; then pass "get -w receives events"; else fail "get -w receives events" "$(cat "$W/watch.out")"; fi

# --- wait ---
expect_out "wait --for=jsonpath" 'condition met' kubectl wait --for=jsonpath='{.data.x}'=y configmap/watched --timeout=10s

# --- CRD ---
cat >"$W/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec:
                type: string
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
YAML
expect_out "CRD applied" 'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created' kubectl apply -f "$W/crd.yaml"
sleep 1
cat >"$W/ct.yaml" <<'YAML'
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
  replicas: 2
YAML
expect_out "custom resource created" 'crontab.stable.example.com/my-new-cron-object created' kubectl apply -f "$W/ct.yaml"
expect_out "custom resources listed" 'my-new-cron-object' kubectl get crontabs
expect_out "short name works" 'my-new-cron-object' kubectl get ct
sed 's/replicas: 2/replicas: "many"/; s/my-new-cron-object/bad-cron/' "$W/ct.yaml" >"$W/bad.yaml"
expect_err "schema violation rejected" 'Invalid|invalid' kubectl apply -f "$W/bad.yaml"

# --- every listable resource answers kubectl get (Table columns included) ---
bad=""
for r in $(kubectl api-resources --verbs=list -o name); do
	kubectl get "$r" -A >/dev/null 2>"$W/get.err" || bad="$bad $r($(head -c 200 "$W/get.err"))"
done
if [ -z "$bad" ]; then pass "kubectl get works for every listable resource"; else fail "kubectl get works for every listable resource" "$bad"; fi

# --- autoscaling v1 and v2 share one object ---
expect_out "autoscale" 'horizontalpodautoscaler.autoscaling/hello-world autoscaled' kubectl autoscale deployment hello-world --cpu-percent=50 --min=1 --max=10
expect_out "hpa columns" 'hello-world +Deployment/hello-world +cpu: <unknown>/50% +1 +10' kubectl get hpa hello-world
expect_out "hpa read as autoscaling/v1" '"targetCPUUtilizationPercentage":50' kubectl get --raw /apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/hello-world
expect_out "hpa read as autoscaling/v2" '"averageUtilization":50' kubectl get --raw /apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/hello-world

# --- priority admission ---
expect_out "system priority classes exist" 'system-cluster-critical +2000000000' kubectl get priorityclasses
check "create a priority class" kubectl create priorityclass high --value=1000
check "pod with priorityClassName" kubectl run prio --image=nginx --overrides='{"spec":{"priorityClassName":"high"}}'
expect_out "spec.priority resolved from the class" '^1000 PreemptLowerPriority$' kubectl get pod prio -o jsonpath='{.spec.priority} {.spec.preemptionPolicy}'
check "pod without a class" kubectl run noprio --image=nginx
expect_out "spec.priority defaults to 0" '^0$' kubectl get pod noprio -o jsonpath='{.spec.priority}'
expect_err "unknown class refused" 'no PriorityClass with name nope was found' kubectl run bad --image=nginx --overrides='{"spec":{"priorityClassName":"nope"}}'

# --- delete ---
expect_out "delete" 'deployment.apps "hello-world" deleted' kubectl delete deployment hello-world
expect_out "delete --cascade=orphan" 'deleted' kubectl delete deployment web --cascade=orphan
expect_out "delete --cascade=foreground" 'deleted' kubectl delete configmap lit --cascade=foreground
expect_out "delete --cascade=background" 'deleted' kubectl delete configmap fil --cascade=background
expect_err "deleted is gone" 'NotFound|not found' kubectl get deployment hello-world

# --- namespaces ---
expect_out "create namespace" 'namespace/team created' kubectl create namespace team
check "create in namespace" kubectl -n team create configmap inside --from-literal=a=b
expect_out "delete namespace" 'namespace "team" deleted' kubectl delete namespace team --timeout=30s
expect_err "namespace contents removed" 'NotFound|not found' kubectl -n team get configmap inside
# k8s: a namespace held in Terminating (here by a finalizer on its content) refuses new
# content naming the object (its generateName before a name exists), with the
# NamespaceTerminating cause controllers look for
check "namespace held" kubectl create namespace held
check "content with a finalizer" kubectl -n held create -f - <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: hold, finalizers: [example.com/hold]}
YAML
check "namespace deleted, not waited for" kubectl delete namespace held --wait=false
expect_err "a create in it is refused" \
	'pods "p" is forbidden: unable to create new content in namespace held because it is being terminated' \
	kubectl -n held run p --image=nginx
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"g-"}}' >"$W/gen.json"
expect_out "with the NamespaceTerminating cause, named by its generateName" \
	'configmaps [\\"]+g-[\\"]+ is forbidden: unable to create new content.*causes.*NamespaceTerminating.*namespace held is being terminated.*metadata\.namespace' \
	sh -c "kubectl create --raw /api/v1/namespaces/held/configmaps -f '$W/gen.json' -v=8 2>&1 | grep 'Response Body'"
check "the finalizer released" kubectl -n held patch configmap hold --type=merge -p '{"metadata":{"finalizers":null}}'
expect_err "and the namespace goes" 'NotFound|not found' sh -c 'for i in $(seq 1 100); do kubectl get namespace held >/dev/null 2>&1 || break; sleep 0.1; done; kubectl get namespace held'

# --- a status write (PUT .../status) leaves the spec alone: a LoadBalancer Service that
# declines node ports gets its status.loadBalancer, and still no node port ---
cat >"$W/lb.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: lb-noports
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  selector:
    app: lb
  ports:
  - port: 80
YAML
check "create LoadBalancer without node ports" kubectl apply -f "$W/lb.yaml"
kubectl get service lb-noports -o json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
s["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
json.dump(s, sys.stdout)' >"$W/lb-status.json"
check "replace --subresource=status" kubectl replace --subresource=status -f "$W/lb-status.json"
expect_out "status write: the ingress address is stored" '^192\.0\.2\.10$' \
	kubectl get service lb-noports -o 'jsonpath={.status.loadBalancer.ingress[0].ip}'
expect_out "status write: still no node port" '^80 -$' \
	kubectl get service lb-noports -o 'jsonpath={.spec.ports[0].port} {.spec.ports[0].nodePort}-'

# --- managed fields are the writer's: as kube records them, a create's entry holds what
# the client sent and defaults filled in, not what admission or the strategy added (the
# pod's token volume and mounts, account, priority, tolerations; a Namespace's finalizer;
# a Service's cluster IP), though those are stored ---
check "kubectl run for managed fields" kubectl run mf --image=nginx -l run=mf
mf_of() { kubectl get "$@" -o jsonpath='{.metadata.managedFields[?(@.operation=="Update")].fieldsV1}'; }
out=$(mf_of pod mf)
if echo "$out" | grep -q '"f:dnsPolicy"' && echo "$out" | grep -q '"f:terminationMessagePath"' &&
	! echo "$out" | grep -Eq 'f:volumes|f:volumeMounts|f:serviceAccountName|f:priority|f:tolerations|f:preemptionPolicy'; then
	pass "a pod's create entry: the sent and defaulted fields, not admission's"
else
	fail "a pod's create entry: the sent and defaulted fields, not admission's" "$out"
fi
expect_out "admission's fields are stored all the same" '^default 300 300 kube-api-access-' \
	kubectl get pod mf -o 'jsonpath={.spec.serviceAccountName} {.spec.tolerations[*].tolerationSeconds}{" "}{.spec.volumes[0].name}'
check "create namespace for managed fields" kubectl create namespace mfns
out=$(mf_of namespace mfns)
if echo "$out" | grep -q 'f:kubernetes.io/metadata.name' && ! echo "$out" | grep -q 'f:finalizers'; then
	pass "a namespace's create entry: its defaulted label, not the strategy's finalizer"
else
	fail "a namespace's create entry: its defaulted label, not the strategy's finalizer" "$out"
fi
check "create service for managed fields" kubectl create service clusterip mfsvc --tcp=80:80
out=$(mf_of service mfsvc)
if echo "$out" | grep -q 'f:sessionAffinity' && ! echo "$out" | grep -Eq 'f:clusterIPs?"'; then
	pass "a service's create entry: no allocated cluster IP"
else
	fail "a service's create entry: no allocated cluster IP" "$out"
fi
expect_out "the cluster IP is allocated all the same" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' \
	kubectl get service mfsvc -o 'jsonpath={.spec.clusterIP}'

finish
