#!/bin/sh
# cdk8s-audit's CNI daemon: writes a bridge CNI config for this node's pod CIDR, then keeps routes
# to the other nodes' pod CIDRs. Runs in a hostNetwork pod with NET_ADMIN.
set -eu
: "${NODE_NAME:?NODE_NAME must be set}"
conf=/etc/cni/net.d/10-cdk8s-audit.conflist
while :; do
  cidr=$(kubectl get node "$NODE_NAME" -o 'jsonpath={.spec.podCIDR}' 2>/dev/null || true)
  [ -n "$cidr" ] && break
  echo "waiting for node $NODE_NAME to get a pod CIDR"; sleep 2
done
cat > "$conf.tmp" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "cdk8s-audit",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$cidr" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
mv "$conf.tmp" "$conf"
echo "wrote $conf for pod CIDR $cidr"
while :; do
  kubectl get nodes -o 'jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>/dev/null |
    while read -r name podcidr ip; do
      [ "$name" = "$NODE_NAME" ] || [ -z "$podcidr" ] || [ -z "$ip" ] && continue
      ip route replace "$podcidr" via "$ip" || echo "route $podcidr via $ip failed"
    done
  sleep 10
done
