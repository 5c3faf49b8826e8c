#!/usr/bin/env python3
# For bench-webhook.sh: COUNT distinct StatefulSet pod CREATE reviews, one compact JSON per line,
# made from the Deployment fixture the way the StatefulSet controller creates its pods: a name
# (web-0, web-1, ...), the pod-name and revision labels, hostname and subdomain, and a claim of
# its own. Every pod differs in its bytes, so none of them can come from the answer cache.
# Usage: distinct-reviews.py FIXTURE COUNT > reviews.ndjson
import copy
import json
import sys
import uuid

fixture, count = sys.argv[1], int(sys.argv[2])
with open(fixture, encoding="utf-8") as f:
    template = json.load(f)

for i in range(count):
    review = copy.deepcopy(template)
    request = review["request"]
    name = f"web-{i}"
    request["uid"] = str(uuid.UUID(int=i + 1))
    request["name"] = name
    request["userInfo"]["username"] = "system:serviceaccount:kube-system:statefulset-controller"
    pod = request["object"]
    metadata = pod["metadata"]
    metadata.pop("generateName", None)
    metadata["name"] = name
    metadata["labels"] = {
        "app.kubernetes.io/name": "web",
        "controller-revision-hash": "web-6d4cf56db6",
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": str(i),
    }
    metadata["ownerReferences"][0].update(kind="StatefulSet", name="web", uid="0c6e2b1f-7a3d-4f7e-9a51-3f0b6c1d2e4a")
    spec = pod["spec"]
    spec["hostname"] = name
    spec["subdomain"] = "web"
    spec["volumes"].insert(0, {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}})
    spec["containers"][0]["volumeMounts"].insert(0, {"name": "data", "mountPath": "/data"})
    print(json.dumps(review, separators=(",", ":")))
