#!/usr/bin/env python3
"""Checks that two renderings of the install are the same install (PRODUCT §8).

    same_install.py DEPLOY.yaml CHART.yaml

DEPLOY.yaml is `kubectl kustomize deploy/`, CHART.yaml is `helm template --include-crds` of
helm/plumbline with default values. They must hold the same objects, by (kind, namespace, name),
except the Namespace, which only deploy/ creates (Helm installs into --create-namespace); and each
object must be equal to its counterpart field by field (RBAC rules, container args, probes,
security contexts, the CRD, the alert rules, ...), except the labels that only say which Helm
release made an object. Exits 1 with a diff of every difference.
"""

import difflib
import sys

import yaml

# Labels the chart adds about the release and chart; deploy/ has no equivalent for them.
HELM_ONLY_LABELS = {
    "helm.sh/chart",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
}

# What PRODUCT §8 says the install is: a rendering without one of these is not the install.
REQUIRED_KINDS = {
    "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
    "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "ServiceMonitor",
    "PrometheusRule",
}


def load(path):
    """Returns {(kind, namespace, name): object} for every document of a multi-document file."""
    objects = {}
    with open(path, encoding="utf-8") as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            meta = doc.get("metadata") or {}
            key = (doc.get("kind", "?"), meta.get("namespace", ""), meta.get("name", "?"))
            if key in objects:
                sys.exit(f"{path}: {describe(key)} appears twice")
            objects[key] = doc
    return objects


def describe(key):
    kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def normalized(obj):
    meta = obj.setdefault("metadata", {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in HELM_ONLY_LABELS}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return obj


def dump(obj):
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} DEPLOY.yaml CHART.yaml")
    deploy_path, chart_path = argv[1], argv[2]
    deploy, chart = load(deploy_path), load(chart_path)
    problems = []

    missing_kinds = REQUIRED_KINDS - {kind for kind, _, _ in deploy}
    if missing_kinds:
        problems.append(f"deploy/ has no {', '.join(sorted(missing_kinds))}")

    deploy_keys = {key for key in deploy if key[0] != "Namespace"}
    for key in sorted(deploy_keys - chart.keys()):
        problems.append(f"{describe(key)} is in deploy/ but not in the chart")
    for key in sorted(chart.keys() - deploy_keys):
        problems.append(f"{describe(key)} is in the chart but not in deploy/")

    for key in sorted(deploy_keys & chart.keys()):
        a, b = dump(normalized(deploy[key])), dump(normalized(chart[key]))
        if a != b:
            diff = "".join(difflib.unified_diff(a, b, "deploy/", "helm/plumbline"))
            problems.append(f"{describe(key)} differs between deploy/ and the chart:\n{diff}")

    if problems:
        print("deploy/ and helm/plumbline (default values) are not the same install:",
              file=sys.stderr)
        for p in problems:
            print(f"- {p}", file=sys.stderr)
        return 1
    print(f"deploy/ and helm/plumbline render the same {len(deploy_keys)} objects "
          f"(plus the Namespace)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
