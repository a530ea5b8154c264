#!/usr/bin/env bash
# test_ingress_pods.sh — the seed's Ingress (host scikit.example.com, no class: the default
# class timon) in front of real pods run by the embedded node agent: a Deployment of two
# busybox httpd pods from the local test registry behind scikit-inference-service (port 80
# → 8080), the ingress on a free high port of this machine; `curl -H 'Host:
# scikit.example.com' http://<node address>:<port>/` reaches both pods, and scaling to
# zero answers 503. Root, like test_agent.sh (agentlib.sh provides the registry and
# cleanup).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }
PORT=$(agent_free_port)
start_agent_server --enable-ingress --ingress-http-port "$PORT" --ingress-https-port 0 \
	--ingress-metrics-port 0 || { fail "server with agent starts"; finish; exit 1; }
NODE_IP=$(kubectl get node "$AGENT_NODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')

kubectl apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: scikit-inference}
spec:
  replicas: 2
  selector: {matchLabels: {app: scikit}}
  template:
    metadata: {labels: {app: scikit}}
    spec:
      containers:
      - name: web
        image: $IMAGE
        command: [sh, -c, 'mkdir -p /tmp/www; echo "scikit \$(hostname)" >/tmp/www/index.html; exec httpd -f -p 8080 -h /tmp/www']
---
apiVersion: v1
kind: Service
metadata: {name: scikit-inference-service}
spec:
  selector: {app: scikit}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: scikit-ingress
spec:
  rules:
  - host: scikit.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: scikit-inference-service
            port:
              number: 80
EOF
if ! kubectl wait --for=condition=Available deploy/scikit-inference --timeout=90s >/dev/null 2>&1; then
	fail "the Deployment's pods become Ready" "$(kubectl get pods -o wide 2>&1)" \
		"$(kubectl get pods -o jsonpath='{range .items[*]}{.status.containerStatuses}{"\n"}{end}' 2>&1 | head -c 2000)"
else
	pass "the Deployment's pods become Ready"
fi
seen() {
	local out
	out=$(for _ in 1 2 3 4 5 6; do curl -s --max-time 3 -H 'Host: scikit.example.com' "http://$NODE_IP:$PORT/"; done)
	[ "$(echo "$out" | grep -c '^scikit ')" -eq 6 ] && [ "$(echo "$out" | sort -u | wc -l)" -eq 2 ]
}
check "the seed's Ingress routes to both pods" wait_for 20 seen
expect_out "the Ingress status has the node address" "^$NODE_IP\$" \
	kubectl get ingress scikit-ingress -o jsonpath='{.status.loadBalancer.ingress[0].ip}'
kubectl scale deploy/scikit-inference --replicas=0 >/dev/null
check "no pods: 503" wait_for 60 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: scikit.example.com' http://$NODE_IP:$PORT/)\" = 503 ]"
finish
