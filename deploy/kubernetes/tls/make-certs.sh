#!/usr/bin/env bash
# The webhook's TLS by hand, for clusters without cert-manager: a CA, a serving
# certificate for the gate Service signed by it, the Secret gate mounts, and the caBundle
# the API server uses to trust gate.
#
#   deploy/kubernetes/tls/make-certs.sh [OUT_DIR]        (default: ./gate-tls)
#
# Environment: GATE_NAMESPACE (gate-system), GATE_SERVICE (gate), DAYS (365), and
# CA_DAYS (3650). An existing CA in OUT_DIR is reused, so re-running renews the serving
# certificate without changing the caBundle. Needs openssl (1.1.1 or later).
#
# It writes, in OUT_DIR:
#   ca.key ca.crt           the CA (keep ca.key offline)
#   tls.key tls.crt         the serving certificate (DNS: SERVICE.NAMESPACE.svc[.cluster.local])
#   secret.yaml             Secret gate-webhook-tls: kubectl apply -f OUT_DIR/secret.yaml
#   cabundle.txt            base64 of ca.crt, for the webhook's clientConfig.caBundle
#   webhook-patch.yaml      that caBundle as a JSON patch for both WebhookConfigurations
#
# Then, with the manifests applied without the cert-manager objects:
#   kubectl apply -f OUT_DIR/secret.yaml
#   kubectl patch validatingwebhookconfiguration gate --type=json --patch-file OUT_DIR/webhook-patch.yaml
#   kubectl patch mutatingwebhookconfiguration gate --type=json --patch-file OUT_DIR/webhook-patch.yaml
# gate reloads tls.crt and tls.key when the Secret changes: no restart on renewal.
set -euo pipefail

out=${1:-./gate-tls}
namespace=${GATE_NAMESPACE:-gate-system}
service=${GATE_SERVICE:-gate}
days=${DAYS:-365}
ca_days=${CA_DAYS:-3650}
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is required" >&2; exit 2; }
mkdir -p "$out"
umask 077

if [ ! -s "$out/ca.key" ] || [ ! -s "$out/ca.crt" ]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days "$ca_days" -sha256 \
    -subj "/CN=gate-webhook-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi

dns="$service.$namespace.svc"
cat > "$out/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$dns,DNS:$dns.cluster.local
EXT
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout "$out/tls.key" -out "$out/tls.csr" -subj "/CN=$dns" 2>/dev/null
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -out "$out/tls.crt" -days "$days" -sha256 -extfile "$out/server.ext" 2>/dev/null
rm -f "$out/tls.csr" "$out/server.ext"
openssl verify -CAfile "$out/ca.crt" "$out/tls.crt" >/dev/null

b64() { base64 < "$1" | tr -d '\n'; }
bundle=$(b64 "$out/ca.crt")
printf '%s\n' "$bundle" > "$out/cabundle.txt"
cat > "$out/secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: gate-webhook-tls
  namespace: $namespace
type: kubernetes.io/tls
data:
  ca.crt: $bundle
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
YAML
cat > "$out/webhook-patch.yaml" <<YAML
- op: add
  path: /webhooks/0/clientConfig/caBundle
  value: $bundle
YAML
echo "wrote $out: ca.crt, tls.crt, tls.key, secret.yaml, cabundle.txt, webhook-patch.yaml (for $dns)"
