#!/usr/bin/env bash
# The Makefile's install targets: deploy | undeploy | build-installer | docker-build.
# Environment: IMAGE_REGISTRY (ghcr.io/sidecar-injector), IMAGE_TAG (0.1.0), OVERLAY (deploy/default),
# DOCKER (docker), DIST (dist).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_REGISTRY=${IMAGE_REGISTRY:-ghcr.io/sidecar-injector}
IMAGE_TAG=${IMAGE_TAG:-0.1.0}
OVERLAY=${OVERLAY:-deploy/default}
DOCKER=${DOCKER:-docker}
DIST=${DIST:-dist}

# name=Dockerfile; every image is built with the repository root as context.
IMAGES=(
  webhook=webhook/Dockerfile
  operator=operator/Dockerfile
  log-shipper=sidecar-images/log-shipper/Dockerfile
  redis-ambassador=sidecar-images/redis-ambassador/Dockerfile
  prometheus-adapter=sidecar-images/prometheus-adapter/Dockerfile
)

die() { echo "deploy/make.sh: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (needed for '$2')"; }

# Renders the overlay with the images rewritten to IMAGE_REGISTRY/IMAGE_TAG, without touching the tree.
render() {
  need kubectl "$1"
  [ -f "$OVERLAY/kustomization.yaml" ] || die "$OVERLAY: no kustomization.yaml"
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  # A throwaway overlay: kustomize resolves resources relative to the kustomization file.
  local rel
  rel=$(realpath --relative-to="$tmp" "$PWD/$OVERLAY")
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources: [\"$rel\"]"
    echo "images:"
    for name in webhook operator; do
      echo "- {name: ghcr.io/sidecar-injector/$name, newName: $IMAGE_REGISTRY/$name, newTag: \"$IMAGE_TAG\"}"
    done
  } >"$tmp/kustomization.yaml"
  kubectl kustomize --load-restrictor LoadRestrictionsNone "$tmp"
}

case "${1:-}" in
  deploy)
    need kubectl deploy
    echo "applying $OVERLAY to context $(kubectl config current-context)"
    render deploy | kubectl apply --server-side --force-conflicts -f -
    ;;
  undeploy)
    need kubectl undeploy
    echo "deleting $OVERLAY from context $(kubectl config current-context)"
    render undeploy | kubectl delete --ignore-not-found --wait=true -f -
    # The operator creates the MutatingWebhookConfiguration itself, so the manifests do not delete it.
    kubectl delete mutatingwebhookconfiguration sidecar-injector --ignore-not-found
    ;;
  build-installer)
    mkdir -p "$DIST"
    render build-installer >"$DIST/install.yaml"
    echo "wrote $DIST/install.yaml ($(grep -c '^kind:' "$DIST/install.yaml") objects)"
    ;;
  docker-build)
    need "$DOCKER" docker-build
    for entry in "${IMAGES[@]}"; do
      name=${entry%%=*} file=${entry#*=}
      [ -f "$file" ] || die "$file: no such Dockerfile (image $name)"
      echo "building $IMAGE_REGISTRY/$name:$IMAGE_TAG from $file"
      "$DOCKER" build -f "$file" -t "$IMAGE_REGISTRY/$name:$IMAGE_TAG" .
    done
    ;;
  *)
    echo "usage: deploy/make.sh deploy|undeploy|build-installer|docker-build" >&2
    exit 2
    ;;
esac
