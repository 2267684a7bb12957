"""The Kubernetes rollout source: which releases the pods of a Deployment or StatefulSet still run.

It reads what `kubectl get deploy,sts,rs,pod -l SELECTOR -o json` prints (or the same objects fetched
through the API), reports every live pod as a sighting of its release, and reports a problem for each
reason the rollout is not finished by the `kubectl rollout status` rules (plus a few stricter ones).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expandcontract.errors import ConfigError, UsageError
from expandcontract.gate.evidence import Sighting, SourceReport

SOURCE = "kubernetes"
DEFAULT_RELEASE_LABEL = "app.kubernetes.io/version"
KUBECTL_EXAMPLE = "kubectl get deploy,sts,rs,pod -l app=shop -o json > rollout.json"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# a pod in one of these phases has no running container left: it runs no release
GONE_PHASES = frozenset({"Succeeded", "Failed"})


class _Malformed(Exception):
    """A field the rollout rules need holds something kubectl never prints."""


class _Unreadable(Exception):
    """A pod's release cannot be read; args: (why, how to fix)."""


# --- reading JSON without trusting its shape ------------------------------------------------------


def _at(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _text(node: Any, *path: str) -> str:
    value = _at(node, *path)
    return value if isinstance(value, str) else ""


def _whole_number(node: Any, *path: str, default: int = 0) -> int:
    value = _at(node, *path)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{'.'.join(path)} is {value!r}, not a whole number")
    return value


def _string_map(node: Any, *path: str) -> dict[str, str]:
    value = _at(node, *path)
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


@dataclass(frozen=True, eq=False)  # eq=False: identity hashing, so pods can be claimed in a set
class _KubeObject:
    raw: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return _text(self.raw, "kind")

    @property
    def name(self) -> str:
        return _text(self.raw, "metadata", "name") or "<unnamed>"

    @property
    def namespace(self) -> str:
        return _text(self.raw, "metadata", "namespace")

    @property
    def labels(self) -> dict[str, str]:
        return _string_map(self.raw, "metadata", "labels")

    @property
    def terminating(self) -> bool:
        return bool(_at(self.raw, "metadata", "deletionTimestamp"))

    @property
    def described(self) -> str:
        """How problems name it: "Deployment shop in shop-prod"."""
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}"

    def owner(self, kinds: frozenset[str]) -> Mapping[str, Any] | None:
        """Its first owner reference of one of these kinds."""
        references = _at(self.raw, "metadata", "ownerReferences")
        if not isinstance(references, list):
            return None
        for reference in references:
            if isinstance(reference, Mapping) and _text(reference, "kind") in kinds:
                return reference
        return None

    def is_owned_by(self, parent: _KubeObject) -> bool:
        reference = self.owner(frozenset({parent.kind}))
        if reference is None or (self.namespace and parent.namespace and self.namespace != parent.namespace):
            return False
        parent_uid, reference_uid = _text(parent.raw, "metadata", "uid"), _text(reference, "uid")
        if parent_uid and reference_uid:
            return parent_uid == reference_uid
        return _text(reference, "name") == parent.name


@dataclass(frozen=True)
class _Inventory:
    deployments: tuple[_KubeObject, ...]
    stateful_sets: tuple[_KubeObject, ...]
    replica_sets: tuple[_KubeObject, ...]
    live_pods: tuple[_KubeObject, ...]


def _objects(node: Any) -> Iterator[_KubeObject]:
    if not isinstance(node, Mapping):
        return
    items = node.get("items")
    if isinstance(items, list):  # "List", "DeploymentList", ...: kubectl's and the API's list shapes
        for item in items:
            yield from _objects(item)
    elif isinstance(node.get("kind"), str):
        yield _KubeObject(node)


def _inventory(document: Mapping[str, Any]) -> _Inventory:
    objects = list(_objects(document))

    def of_kind(kind: str) -> tuple[_KubeObject, ...]:
        return tuple(o for o in objects if o.kind == kind)

    live_pods = tuple(p for p in of_kind("Pod") if _text(p.raw, "status", "phase") not in GONE_PHASES)
    return _Inventory(of_kind("Deployment"), of_kind("StatefulSet"), of_kind("ReplicaSet"), live_pods)


# --- which release a pod runs ---------------------------------------------------------------------


def _image_tag(image: str) -> str:
    """The tag of an image reference ("" when it has none): the `:` part after the last `/`."""
    name = image.split("@", 1)[0]  # "web:1.4.0@sha256:..." still names its tag before the digest
    last_part = name.rsplit("/", 1)[-1]  # a registry's ":5000" port is not a tag
    return last_part.rsplit(":", 1)[1] if ":" in last_part else ""


@dataclass(frozen=True)
class _ReleaseReader:
    release_label: str | None
    container: str | None

    def release_of(self, pod: _KubeObject) -> str:
        labelled = pod.labels.get(self.release_label, "") if self.release_label else ""
        if labelled:
            return labelled
        image = self._image(pod)
        tag = _image_tag(image)
        if not tag:
            pinned = "is pinned by digest only" if "@" in image else "has no tag"
            raise _Unreadable(f"image {image} {pinned}", self._fix_hint())
        return tag

    def _image(self, pod: _KubeObject) -> str:
        # the spec's image as written: the pod's status shows an untagged image as ":latest"
        containers = _at(pod.raw, "spec", "containers")
        containers = [c for c in containers if isinstance(c, Mapping)] if isinstance(containers, list) else []
        if not containers:
            raise _Unreadable("it lists no containers", self._fix_hint())
        if self.container is None:
            chosen = containers[0]
        else:
            named = [c for c in containers if c.get("name") == self.container]
            if not named:
                present = ", ".join(_text(c, "name") for c in containers)
                raise _Unreadable(
                    f"it has no container named {self.container}", f"pass one of its containers ({present})"
                )
            chosen = named[0]
        image = _text(chosen, "image")
        if not image:
            raise _Unreadable(f"container {_text(chosen, 'name')} has no image", self._fix_hint())
        return image

    def _fix_hint(self) -> str:
        label = f"the pod label {self.release_label}" if self.release_label else "a release label"
        return f"set {label} on the pod template, or pass the container whose image tag is the release"


@dataclass
class _Evidence:
    who: str  # how problems name the workload ("" for pods no listed workload owns)
    sightings: list[Sighting] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    claimed: set[_KubeObject] = field(default_factory=set)  # the pods this evidence accounts for

    def add_problem(self, problem: str) -> None:
        self.problems.append(f"{self.who}: {problem}" if self.who else problem)

    def add_pod(self, pod: _KubeObject, app: str, what: str, reader: _ReleaseReader) -> None:
        self.claimed.add(pod)
        try:
            self.sightings.append(Sighting(SOURCE, app, reader.release_of(pod), what))
        except _Unreadable as exc:
            why, fix = exc.args
            self.add_problem(f"cannot read the release of {what}: {why}; {fix}")


def _pod_what(pod: _KubeObject, owner: str, *notes: str) -> str:
    flags = [*notes, "terminating"] if pod.terminating else list(notes)
    return f"pod {pod.name} ({', '.join([owner, *flags])})"


def _kubectl_get(workload: _KubeObject) -> str:
    """The command that lists this workload with everything the rules need."""
    selector = ",".join(
        f"{k}={v}" for k, v in _string_map(workload.raw, "spec", "selector", "matchLabels").items()
    )
    namespace = f" -n {workload.namespace}" if workload.namespace else ""
    return f"kubectl get deploy,sts,rs,pod -l {selector or 'SELECTOR'}{namespace} -o json"


def _unobserved(workload: _KubeObject) -> str | None:
    generation = _whole_number(workload.raw, "metadata", "generation")
    observed = _whole_number(workload.raw, "status", "observedGeneration")
    # no observedGeneration at all means no controller has looked at it yet
    if observed == 0 or generation > observed:
        return f"spec update not observed yet (generation {generation}, observed {observed})"
    return None


def _terminating_replicas(workload: _KubeObject) -> list[str]:
    # status.terminatingReplicas only exists on newer Kubernetes; older servers leave it out
    count = _whole_number(workload.raw, "status", "terminatingReplicas")
    return [f"{count} terminating {_plural(count, 'replica')}"] if count > 0 else []


# --- Deployments ----------------------------------------------------------------------------------


def _deployment_unfinished(deployment: _KubeObject) -> list[str]:
    """Why `kubectl rollout status` would still wait for this Deployment (empty: rolled out)."""
    unobserved = _unobserved(deployment)
    if unobserved:  # the status still describes the previous spec: its numbers prove nothing
        return [unobserved, *_terminating_replicas(deployment)]
    conditions = _at(deployment.raw, "status", "conditions")
    reasons: list[str] = []
    if isinstance(conditions, list) and any(
        _text(c, "type") == "Progressing" and _text(c, "reason") == "ProgressDeadlineExceeded"
        for c in conditions
    ):
        reasons.append("exceeded its progress deadline")
    wanted = _whole_number(deployment.raw, "spec", "replicas", default=1)  # the API's default
    total = _whole_number(deployment.raw, "status", "replicas")
    updated = _whole_number(deployment.raw, "status", "updatedReplicas")
    available = _whole_number(deployment.raw, "status", "availableReplicas")
    if updated < wanted:
        reasons.append(f"{updated} of {wanted} new replicas updated")
    if total > updated:
        old = total - updated
        reasons.append(f"{old} old {_plural(old, 'replica')} pending termination")
    if available < updated:
        reasons.append(f"{available} of {updated} updated replicas available")
    return reasons + _terminating_replicas(deployment)


def _revision(replica_set: _KubeObject) -> int | None:
    value = _string_map(replica_set.raw, "metadata", "annotations").get(REVISION_ANNOTATION, "")
    return int(value) if value.isdigit() else None


def _current_replica_set(replica_sets: list[_KubeObject]) -> _KubeObject | None:
    """The new ReplicaSet: the highest revision (one without a revision cannot be the new one)."""
    numbered = [(revision, rs) for rs in replica_sets if (revision := _revision(rs)) is not None]
    return max(numbered, key=lambda pair: pair[0])[1] if numbered else None


def _deployment_evidence(deployment: _KubeObject, inventory: _Inventory, reader: _ReleaseReader) -> _Evidence:
    evidence = _Evidence(deployment.described)
    if _at(deployment.raw, "spec", "paused") is True:
        # kubectl can call a paused Deployment rolled out when its numbers agree; a pause stops a
        # rollout halfway and hides what the controller would still do, so we fail safe
        namespace = f" -n {deployment.namespace}" if deployment.namespace else ""
        evidence.add_problem(
            f"paused mid-rollout; resume it (kubectl rollout resume deployment/{deployment.name}{namespace}) "
            "or finish the rollout"
        )
    expected = _check_rollout(evidence, deployment, _deployment_unfinished)
    replica_sets = [rs for rs in inventory.replica_sets if rs.is_owned_by(deployment)]
    current = _current_replica_set(replica_sets)
    for pod in inventory.live_pods:
        replica_set = next((rs for rs in replica_sets if pod.is_owned_by(rs)), None)
        if replica_set is not None:
            old = "old " if current is not None and replica_set is not current else ""
            evidence.add_pod(
                pod, deployment.name, _pod_what(pod, f"{old}ReplicaSet {replica_set.name}"), reader
            )
    if expected > 0 and not replica_sets:
        evidence.add_problem(
            f"none of its ReplicaSets are in the document; list them with `{_kubectl_get(deployment)}`"
        )
    elif expected > 0 and not evidence.claimed:
        evidence.add_problem(
            f"none of its pods are in the document; list them with `{_kubectl_get(deployment)}`"
        )
    return evidence


def _check_rollout(
    evidence: _Evidence, workload: _KubeObject, unfinished: Callable[[_KubeObject], list[str]]
) -> int:
    """Add why the rollout is unfinished; return how many pods the workload should have at least."""
    try:
        for reason in unfinished(workload):
            evidence.add_problem(f"rollout not complete: {reason}")
        return max(
            _whole_number(workload.raw, "spec", "replicas", default=1),
            _whole_number(workload.raw, "status", "replicas"),
        )
    except _Malformed as exc:
        evidence.add_problem(f"{exc}; list it again with `{_kubectl_get(workload)}`")
        return 1


# --- StatefulSets ---------------------------------------------------------------------------------


def _stateful_set_unfinished(stateful_set: _KubeObject) -> list[str]:
    """Why this StatefulSet's rolling update is not finished (empty: every pod at the update revision)."""
    unobserved = _unobserved(stateful_set)
    if unobserved:
        return [unobserved, *_terminating_replicas(stateful_set)]
    reasons: list[str] = []
    partition = _whole_number(stateful_set.raw, "spec", "updateStrategy", "rollingUpdate", "partition")
    if partition > 0:
        # kubectl calls a partitioned rollout done once the pods above the partition are updated;
        # pods below it keep running the old release, so for us it is not done
        reasons.append(f"partitioned at ordinal {partition}, pods below it stay at the old revision")
    wanted = _whole_number(stateful_set.raw, "spec", "replicas", default=1)
    updated = _whole_number(stateful_set.raw, "status", "updatedReplicas")
    ready = _whole_number(stateful_set.raw, "status", "readyReplicas")
    if updated < wanted:
        reasons.append(f"{updated} of {wanted} pods updated")
    if ready < wanted:
        reasons.append(f"{ready} of {wanted} pods ready")
    current = _text(stateful_set.raw, "status", "currentRevision")
    update = _text(stateful_set.raw, "status", "updateRevision")
    # with OnDelete the controller never moves currentRevision forward, so only the counts tell
    rolling = _text(stateful_set.raw, "spec", "updateStrategy", "type") in ("", "RollingUpdate")
    if rolling and current != update:
        reasons.append(
            f"current revision {current or '<none>'} is not the update revision {update or '<none>'}"
        )
    return reasons + _terminating_replicas(stateful_set)


def _stateful_set_evidence(
    stateful_set: _KubeObject, inventory: _Inventory, reader: _ReleaseReader
) -> _Evidence:
    evidence = _Evidence(stateful_set.described)
    expected = _check_rollout(evidence, stateful_set, _stateful_set_unfinished)
    update_revision = _text(stateful_set.raw, "status", "updateRevision")
    for pod in inventory.live_pods:
        if pod.is_owned_by(stateful_set):
            revision = pod.labels.get("controller-revision-hash", "")
            notes = (
                [f"old revision {revision or '<none>'}"]
                if update_revision and revision != update_revision
                else []
            )
            what = _pod_what(pod, f"StatefulSet {stateful_set.name}", *notes)
            evidence.add_pod(pod, stateful_set.name, what, reader)
    if expected > 0 and not evidence.claimed:
        evidence.add_problem(
            f"none of its pods are in the document; list them with `{_kubectl_get(stateful_set)}`"
        )
    return evidence


# --- pods whose Deployment or StatefulSet is not listed -------------------------------------------


def _stray_evidence(pods: list[_KubeObject], reader: _ReleaseReader) -> _Evidence:
    """Pods of a ReplicaSet or StatefulSet that no listed workload accounts for.

    An old ReplicaSet can be cleaned up (revisionHistoryLimit) while its pods still terminate: they
    still run their release, so they count, under the app their owner's name points to.
    """
    evidence = _Evidence("")
    for pod in pods:
        reference = pod.owner(frozenset({"ReplicaSet", "StatefulSet"}))
        if reference is None:
            continue  # Jobs, DaemonSets and bare pods are not part of an application's rollout
        kind, owner = _text(reference, "kind"), _text(reference, "name")
        template_hash = pod.labels.get("pod-template-hash", "")
        # the Deployment controller names its ReplicaSets "<deployment>-<pod-template-hash>"
        app = owner.removesuffix(f"-{template_hash}") if kind == "ReplicaSet" and template_hash else owner
        what = _pod_what(pod, f"{kind} {owner}", "not part of a listed Deployment or StatefulSet")
        evidence.add_pod(pod, app, what, reader)
    return evidence


def rollout_report(
    document: Mapping[str, Any],
    *,
    release_label: str | None = DEFAULT_RELEASE_LABEL,
    container: str | None = None,
) -> SourceReport:
    """What the Deployments and StatefulSets in a `kubectl get ... -o json` document show.

    Every live pod they own (old or new, terminating or not) is a sighting of the release read from
    its `release_label` label, else from the image tag of `container` (default: its first container).
    Every reason the rollout is unfinished, and every pod whose release cannot be read, is a problem.
    Never raises: an odd document yields problems instead.
    """
    inventory = _inventory(document)
    if not inventory.deployments and not inventory.stateful_sets:
        return SourceReport(
            SOURCE,
            problems=(f"no Deployment or StatefulSet matched; check the selector (`{KUBECTL_EXAMPLE}`)",),
        )
    reader = _ReleaseReader(release_label, container)
    parts = [_deployment_evidence(d, inventory, reader) for d in inventory.deployments]
    parts += [_stateful_set_evidence(s, inventory, reader) for s in inventory.stateful_sets]
    claimed = set().union(*(part.claimed for part in parts))
    parts.append(_stray_evidence([p for p in inventory.live_pods if p not in claimed], reader))
    return SourceReport(
        SOURCE,
        sightings=tuple(s for part in parts for s in part.sightings),
        problems=tuple(p for part in parts for p in part.problems),
    )


# --- where the document comes from ----------------------------------------------------------------


def read_kubectl_json(source: str) -> dict[str, Any]:
    """The JSON document `kubectl get ... -o json` wrote to the file `source` (`-`: standard input)."""
    where = "standard input" if source == "-" else source
    hint = f"produce it with `{KUBECTL_EXAMPLE}`"
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{where}: cannot read the kubectl JSON ({reason}); {hint}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {hint}"
        ) from exc
    if isinstance(document, list):  # a bare array of objects: read it as the List kubectl prints
        document = {"kind": "List", "apiVersion": "v1", "items": document}
    if not isinstance(document, dict) or not (
        isinstance(document.get("items"), list) or isinstance(document.get("kind"), str)
    ):
        raise UsageError(f"{where}: JSON, but not a Kubernetes object or list; {hint}")
    return document


_API_KINDS = (  # (kind, apiVersion, which API class lists it, its list method)
    ("Deployment", "apps/v1", "AppsV1Api", "list_namespaced_deployment"),
    ("StatefulSet", "apps/v1", "AppsV1Api", "list_namespaced_stateful_set"),
    ("ReplicaSet", "apps/v1", "AppsV1Api", "list_namespaced_replica_set"),
    ("Pod", "v1", "CoreV1Api", "list_namespaced_pod"),
)


def fetch_from_api(namespace: str, selector: str) -> dict[str, Any]:
    """The same document as `kubectl get deploy,sts,rs,pod -l SELECTOR -n NAMESPACE -o json`, via the API.

    Needs the optional `kubernetes` package (`expandcontract[kubernetes]`).
    """
    try:
        # imported by name: an optional, untyped dependency that must not load unless asked for
        client: Any = importlib.import_module("kubernetes.client")
        config: Any = importlib.import_module("kubernetes.config")
        urllib3: Any = importlib.import_module("urllib3")  # the client's HTTP library
    except ImportError as exc:
        raise ConfigError(
            "the Kubernetes API source needs the `kubernetes` package: install expandcontract[kubernetes], "
            f"or pass the kubectl JSON (`{KUBECTL_EXAMPLE}`)"
        ) from exc
    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, OSError) as exc:
            raise ConfigError(
                f"no Kubernetes credentials: not running in a cluster and no usable kubeconfig ({exc}); "
                "set KUBECONFIG, or pass the kubectl JSON"
            ) from exc
    items: list[dict[str, Any]] = []
    with client.ApiClient() as api:
        for kind, api_version, api_class, list_method in _API_KINDS:
            try:
                listed = getattr(getattr(client, api_class)(api), list_method)(
                    namespace, label_selector=selector
                )
            except (client.ApiException, urllib3.exceptions.HTTPError) as exc:
                why = (
                    f"{exc.status} {exc.reason}"
                    if isinstance(exc, client.ApiException)
                    else type(exc).__name__
                )
                raise ConfigError(
                    f"cannot list {kind}s in namespace {namespace} through the Kubernetes API ({why}); "
                    "check the cluster address and your `list` permission, or pass the kubectl JSON"
                ) from exc
            for item in listed.items:
                # items of a list come without kind and apiVersion; the rules need the kind
                items.append(
                    {"kind": kind, "apiVersion": api_version, **api.sanitize_for_serialization(item)}
                )
    return {"kind": "List", "apiVersion": "v1", "items": items}
