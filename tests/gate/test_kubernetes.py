"""The Kubernetes rollout source: recorded `kubectl get deploy,sts,rs,pod -o json` documents in,
sightings of live releases and reasons the rollout is unfinished out."""

from __future__ import annotations

import copy
import io
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expandcontract.errors import ConfigError, UsageError
from expandcontract.gate.evidence import Sighting, SourceReport
from expandcontract.gate.kubernetes import fetch_from_api, read_kubectl_json, rollout_report

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kubernetes"
PROD = "Deployment shop in shop-prod"
STAGING = "Deployment shop in shop-staging"
NO_TAG_FIX = (
    "set the pod label app.kubernetes.io/version on the pod template, "
    "or pass the container whose image tag is the release"
)


@cache
def _recorded_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def recorded(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded document, read the way the CLI reads it."""
    return read_kubectl_json(str(FIXTURES / f"{name}.json"))


def seen(report: SourceReport) -> list[tuple[str, str, str]]:
    assert all(s.source == "kubernetes" for s in report.sightings)
    return [(s.app, s.release, s.what) for s in report.sightings]


def items_of(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in document["items"] if item["kind"] == kind]


def named(document: dict[str, Any], name: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [i for i in document["items"] if i["metadata"]["name"] == name]
    (item,) = matches
    return item


def as_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(items)}


# --- the recorded rollouts ------------------------------------------------------------------------


def test_rollout_in_progress_sees_old_and_new_pods_and_says_why_it_is_not_done() -> None:
    report = rollout_report(recorded("rollout_in_progress"))

    assert report.source == "kubernetes"
    assert report.problems == (
        f"{PROD}: rollout not complete: 2 of 3 new replicas updated",
        f"{PROD}: rollout not complete: 2 old replicas pending termination",
    )
    assert seen(report) == [
        ("shop", "1.3.2", "pod shop-5d8f7c9b6d-k8s2v (old ReplicaSet shop-5d8f7c9b6d, terminating)"),
        ("shop", "1.3.2", "pod shop-5d8f7c9b6d-q7w4n (old ReplicaSet shop-5d8f7c9b6d)"),
        ("shop", "1.3.2", "pod shop-5d8f7c9b6d-x2k9p (old ReplicaSet shop-5d8f7c9b6d)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-h5mzt (ReplicaSet shop-7d9c6b8f4)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-wl2rd (ReplicaSet shop-7d9c6b8f4)"),  # still Pending
    ]


def test_complete_rollout_has_no_problems_and_reads_the_release_from_the_image_tag() -> None:
    document = recorded("rollout_complete")
    # this chart sets no app.kubernetes.io/version label: the tag of the first container names the release
    assert all("app.kubernetes.io/version" not in p["metadata"]["labels"] for p in items_of(document, "Pod"))

    report = rollout_report(document)

    assert report.problems == ()
    assert seen(report) == [
        ("shop", "1.4.0", "pod shop-85f6d9c7b4-2xq8m (ReplicaSet shop-85f6d9c7b4)"),
        ("shop", "1.4.0", "pod shop-85f6d9c7b4-9kdtw (ReplicaSet shop-85f6d9c7b4)"),
        ("shop", "1.4.0", "pod shop-85f6d9c7b4-tj6lz (ReplicaSet shop-85f6d9c7b4)"),
    ]


def test_a_terminating_old_pod_is_seen_although_every_status_counter_says_done() -> None:
    document = recorded("rollout_complete_old_pod_terminating")
    status = items_of(document, "Deployment")[0]["status"]
    assert status["replicas"] == status["updatedReplicas"] == status["availableReplicas"] == 3
    assert named(document, "shop-5d8f7c9b6d")["status"]["replicas"] == 0  # terminating pods do not count

    report = rollout_report(document)

    assert report.problems == ()  # `kubectl rollout status` says done: the old pod is a sighting instead
    assert seen(report) == [
        ("shop", "1.3.2", "pod shop-5d8f7c9b6d-x2k9p (old ReplicaSet shop-5d8f7c9b6d, terminating)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-h5mzt (ReplicaSet shop-7d9c6b8f4)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-wl2rd (ReplicaSet shop-7d9c6b8f4)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-zr4tq (ReplicaSet shop-7d9c6b8f4)"),
    ]


def test_the_release_label_wins_over_the_image_tag_and_none_means_the_tag() -> None:
    # this deployment tags images by commit and labels pods with the version
    document = recorded("rollout_complete_old_pod_terminating")

    by_label = [s.release for s in rollout_report(document).sightings]
    by_tag = [s.release for s in rollout_report(document, release_label=None).sightings]
    by_other_label = rollout_report(document, release_label="example.com/release")

    assert by_label == ["1.3.2", "1.4.0", "1.4.0", "1.4.0"]
    assert by_tag == ["sha-91be07d", "sha-3f2a1c9", "sha-3f2a1c9", "sha-3f2a1c9"]
    # a label the pods do not carry falls back to the image tag as well
    assert [s.release for s in by_other_label.sightings] == by_tag
    assert by_other_label.problems == ()


def test_newer_kubernetes_reports_terminating_replicas_in_the_status() -> None:
    document = recorded("rollout_complete_old_pod_terminating")
    items_of(document, "Deployment")[0]["status"]["terminatingReplicas"] = 1

    assert rollout_report(document).problems == (f"{PROD}: rollout not complete: 1 terminating replica",)

    items_of(document, "Deployment")[0]["status"]["terminatingReplicas"] = 0
    assert rollout_report(document).problems == ()


def test_paused_rollout_is_not_complete() -> None:
    report = rollout_report(recorded("rollout_paused"))

    assert report.problems == (
        f"{STAGING}: paused mid-rollout; resume it (kubectl rollout resume deployment/shop -n shop-staging) "
        "or finish the rollout",
        f"{STAGING}: rollout not complete: 1 of 3 new replicas updated",
        f"{STAGING}: rollout not complete: 2 old replicas pending termination",
    )
    assert seen(report) == [
        ("shop", "1.3.2", "pod shop-59c7d8b6f4-bq2vn (old ReplicaSet shop-59c7d8b6f4)"),
        ("shop", "1.3.2", "pod shop-59c7d8b6f4-mz7xk (old ReplicaSet shop-59c7d8b6f4)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-lr5ps (ReplicaSet shop-7d9c6b8f4)"),
    ]


def test_paused_blocks_even_when_the_counters_say_done() -> None:
    document = recorded("rollout_complete")
    items_of(document, "Deployment")[0]["spec"]["paused"] = True

    report = rollout_report(document)

    assert report.problems == (
        f"{PROD}: paused mid-rollout; resume it (kubectl rollout resume deployment/shop -n shop-prod) "
        "or finish the rollout",
    )
    assert len(report.sightings) == 3


def test_progress_deadline_exceeded() -> None:
    report = rollout_report(recorded("rollout_progress_deadline_exceeded"))

    assert report.problems == (
        f"{PROD}: rollout not complete: exceeded its progress deadline",
        f"{PROD}: rollout not complete: 1 of 3 new replicas updated",
        f"{PROD}: rollout not complete: 3 old replicas pending termination",
    )
    assert seen(report) == [
        ("shop", "1.4.1", "pod shop-6f4b8c9d7-8vnxc (ReplicaSet shop-6f4b8c9d7)"),  # crash-looping
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-h5mzt (old ReplicaSet shop-7d9c6b8f4)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-wl2rd (old ReplicaSet shop-7d9c6b8f4)"),
        ("shop", "1.4.0", "pod shop-7d9c6b8f4-zr4tq (old ReplicaSet shop-7d9c6b8f4)"),
    ]


def test_an_image_without_a_tag_is_a_problem_naming_the_pod_and_the_fix() -> None:
    # the registry's port is not a tag; the pod's status says ":latest", which is not a release either
    report = rollout_report(recorded("image_without_tag"))

    assert report.sightings == ()
    assert report.problems == tuple(
        f"Deployment shop in shop-dev: cannot read the release of pod shop-846d5b9c7f-{suffix} "
        f"(ReplicaSet shop-846d5b9c7f): image registry.example.com:5000/shop/web has no tag; {NO_TAG_FIX}"
        for suffix in ("g4hjn", "wq9rt")
    )


def test_an_image_without_a_tag_is_fine_when_the_pods_carry_the_release_label() -> None:
    document = recorded("image_without_tag")
    for pod in items_of(document, "Pod"):
        pod["metadata"]["labels"]["app.kubernetes.io/version"] = "1.4.0"

    report = rollout_report(document)

    assert report.problems == ()
    assert [s.release for s in report.sightings] == ["1.4.0", "1.4.0"]


@pytest.mark.parametrize(
    ("image", "release"),
    [
        ("registry.example.com/shop/web:1.4.0", "1.4.0"),
        ("registry.example.com:5000/shop/web:1.4.0", "1.4.0"),
        ("shop-web:2024.06.12-rc.1", "2024.06.12-rc.1"),
        ("registry.example.com/shop/web:1.4.0@sha256:" + "ab" * 32, "1.4.0"),
    ],
)
def test_the_release_is_the_tag_after_the_last_slash(image: str, release: str) -> None:
    document = recorded("rollout_complete")
    named(document, "shop-85f6d9c7b4-2xq8m")["spec"]["containers"][0]["image"] = image

    report = rollout_report(document)

    assert report.problems == ()
    assert report.sightings[0].release == release


def test_an_image_pinned_by_digest_only_cannot_name_a_release() -> None:
    document = recorded("rollout_complete")
    image = "registry.example.com:5000/shop/web@sha256:" + "ab" * 32
    named(document, "shop-85f6d9c7b4-2xq8m")["spec"]["containers"][0]["image"] = image

    report = rollout_report(document)

    assert report.problems == (
        f"{PROD}: cannot read the release of pod shop-85f6d9c7b4-2xq8m (ReplicaSet shop-85f6d9c7b4): "
        f"image {image} is pinned by digest only; {NO_TAG_FIX}",
    )
    assert len(report.sightings) == 2


def test_the_container_option_picks_whose_image_tag_is_the_release() -> None:
    document = recorded("rollout_complete")

    sidecar = rollout_report(document, container="cloud-sql-proxy")
    missing = rollout_report(document, container="worker")

    assert {s.release for s in sidecar.sightings} == {"2.11.0"}
    assert missing.sightings == ()
    assert missing.problems[0] == (
        f"{PROD}: cannot read the release of pod shop-85f6d9c7b4-2xq8m (ReplicaSet shop-85f6d9c7b4): "
        "it has no container named worker; pass one of its containers (web, cloud-sql-proxy)"
    )
    assert len(missing.problems) == 3


def test_an_old_pod_whose_release_cannot_be_read_is_a_problem() -> None:
    document = recorded("rollout_in_progress")
    old_pod = named(document, "shop-5d8f7c9b6d-k8s2v")
    del old_pod["metadata"]["labels"]["app.kubernetes.io/version"]
    old_pod["spec"]["containers"][0]["image"] = "registry.example.com/shop/web"

    report = rollout_report(document)

    assert report.problems[-1] == (
        f"{PROD}: cannot read the release of pod shop-5d8f7c9b6d-k8s2v "
        f"(old ReplicaSet shop-5d8f7c9b6d, terminating): image registry.example.com/shop/web has no tag; "
        f"{NO_TAG_FIX}"
    )
    assert "pod shop-5d8f7c9b6d-k8s2v" not in " ".join(s.what for s in report.sightings)


def test_statefulset_in_progress() -> None:
    report = rollout_report(recorded("statefulset_in_progress"))

    assert report.problems == (
        "StatefulSet shop in shop-prod: rollout not complete: 1 of 3 pods updated",
        "StatefulSet shop in shop-prod: rollout not complete: 2 of 3 pods ready",
        "StatefulSet shop in shop-prod: rollout not complete: "
        "current revision shop-5f7b9c6d48 is not the update revision shop-6c9f8d7b45",
    )
    assert seen(report) == [
        ("shop", "1.3.2", "pod shop-0 (StatefulSet shop, old revision shop-5f7b9c6d48)"),
        ("shop", "1.3.2", "pod shop-1 (StatefulSet shop, old revision shop-5f7b9c6d48, terminating)"),
        ("shop", "1.4.0", "pod shop-2 (StatefulSet shop)"),
    ]


def _finished_statefulset() -> dict[str, Any]:
    document = recorded("statefulset_in_progress")
    sts = items_of(document, "StatefulSet")[0]
    sts["status"].update(
        currentRevision="shop-6c9f8d7b45", currentReplicas=3, readyReplicas=3, updatedReplicas=3
    )
    for pod in items_of(document, "Pod"):
        pod["metadata"]["labels"]["controller-revision-hash"] = "shop-6c9f8d7b45"
        pod["metadata"]["labels"]["app.kubernetes.io/version"] = "1.4.0"
        pod["metadata"].pop("deletionTimestamp", None)
    return document


def test_finished_statefulset_has_no_problems() -> None:
    report = rollout_report(_finished_statefulset())

    assert report.problems == ()
    assert seen(report) == [("shop", "1.4.0", f"pod shop-{n} (StatefulSet shop)") for n in range(3)]


def test_a_partitioned_statefulset_is_not_complete() -> None:
    document = _finished_statefulset()
    items_of(document, "StatefulSet")[0]["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 2

    assert rollout_report(document).problems == (
        "StatefulSet shop in shop-prod: rollout not complete: "
        "partitioned at ordinal 2, pods below it stay at the old revision",
    )


def test_a_statefulset_whose_spec_update_is_not_observed_yet() -> None:
    document = _finished_statefulset()
    items_of(document, "StatefulSet")[0]["metadata"]["generation"] = 6

    assert rollout_report(document).problems == (
        "StatefulSet shop in shop-prod: rollout not complete: "
        "spec update not observed yet (generation 6, observed 5)",
    )


def test_an_on_delete_statefulset_is_judged_by_its_counts_and_pods() -> None:
    # OnDelete never advances currentRevision, so only the counters and the pods' revisions tell
    document = _finished_statefulset()
    sts = items_of(document, "StatefulSet")[0]
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    sts["status"]["currentRevision"] = "shop-5f7b9c6d48"

    assert rollout_report(document).problems == ()

    named(document, "shop-0")["metadata"]["labels"]["controller-revision-hash"] = "shop-5f7b9c6d48"
    sts["status"]["updatedReplicas"] = 2
    report = rollout_report(document)
    assert report.problems == ("StatefulSet shop in shop-prod: rollout not complete: 2 of 3 pods updated",)
    assert report.sightings[0].what == "pod shop-0 (StatefulSet shop, old revision shop-5f7b9c6d48)"


# --- the kubectl rollout status rules, one at a time ----------------------------------------------


def _deployment_with(status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    document = recorded("rollout_complete")
    deployment = items_of(document, "Deployment")[0]
    deployment["status"] = {"observedGeneration": deployment["metadata"]["generation"], **status}
    deployment["spec"].update(spec)
    deployment["spec"] = {k: v for k, v in deployment["spec"].items() if v is not None}
    return document


@pytest.mark.parametrize(
    ("status", "spec", "reasons"),
    [
        ({"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}, {}, []),
        (
            {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2},
            {},
            ["2 of 3 updated replicas available"],
        ),
        (
            {"replicas": 4, "updatedReplicas": 3, "availableReplicas": 3},
            {},
            ["1 old replica pending termination"],
        ),
        ({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}, {}, ["2 of 3 new replicas updated"]),
        ({}, {}, ["0 of 3 new replicas updated"]),  # counters left out mean 0
        # spec.replicas left out means 1 (the API's default)
        ({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}, {"replicas": None}, []),
        (
            {"replicas": 1, "updatedReplicas": 0},
            {"replicas": None},
            [
                "0 of 1 new replicas updated",
                "1 old replica pending termination",
            ],
        ),
        ({"replicas": 0}, {"replicas": 0}, []),
    ],
)
def test_deployment_counters(status: dict[str, Any], spec: dict[str, Any], reasons: list[str]) -> None:
    report = rollout_report(_deployment_with(status, **spec))

    assert report.problems == tuple(f"{PROD}: rollout not complete: {r}" for r in reasons)


def test_an_unobserved_spec_update_makes_the_status_numbers_meaningless() -> None:
    document = recorded("rollout_in_progress")
    items_of(document, "Deployment")[0]["metadata"]["generation"] = 8  # someone just edited it again

    report = rollout_report(document)

    assert report.problems == (
        f"{PROD}: rollout not complete: spec update not observed yet (generation 8, observed 7)",
    )
    assert len(report.sightings) == 5


def test_the_new_replicaset_has_the_highest_revision_as_a_number() -> None:
    document = recorded("rollout_in_progress")
    revision = "deployment.kubernetes.io/revision"
    named(document, "shop-5d8f7c9b6d")["metadata"]["annotations"][revision] = "9"
    named(document, "shop-7d9c6b8f4")["metadata"]["annotations"][revision] = "10"  # "9" > "10" as text

    whats = [s.what for s in rollout_report(document).sightings]

    assert whats[-1] == "pod shop-7d9c6b8f4-wl2rd (ReplicaSet shop-7d9c6b8f4)"
    assert whats[0] == "pod shop-5d8f7c9b6d-k8s2v (old ReplicaSet shop-5d8f7c9b6d, terminating)"


def test_finished_pods_run_nothing_and_are_skipped() -> None:
    document = recorded("rollout_in_progress")
    named(document, "shop-5d8f7c9b6d-k8s2v")["status"]["phase"] = "Succeeded"
    named(document, "shop-5d8f7c9b6d-q7w4n")["status"]["phase"] = "Failed"

    whats = [s.what for s in rollout_report(document).sightings]

    assert whats == [
        "pod shop-5d8f7c9b6d-x2k9p (old ReplicaSet shop-5d8f7c9b6d)",
        "pod shop-7d9c6b8f4-h5mzt (ReplicaSet shop-7d9c6b8f4)",
        "pod shop-7d9c6b8f4-wl2rd (ReplicaSet shop-7d9c6b8f4)",
    ]


# --- ownership: which pods belong to which Deployment ---------------------------------------------


def test_two_namespaces_in_one_document_keep_their_pods_apart() -> None:
    # both Deployments are called shop and both have a ReplicaSet shop-7d9c6b8f4
    document = as_list(*recorded("rollout_in_progress")["items"], *recorded("rollout_paused")["items"])

    report = rollout_report(document)

    assert [p.split(":")[0] for p in report.problems] == [PROD, PROD, STAGING, STAGING, STAGING]
    assert [s.what for s in report.sightings][4:] == [
        "pod shop-7d9c6b8f4-wl2rd (ReplicaSet shop-7d9c6b8f4)",  # shop-prod's
        "pod shop-59c7d8b6f4-bq2vn (old ReplicaSet shop-59c7d8b6f4)",  # shop-staging's from here on
        "pod shop-59c7d8b6f4-mz7xk (old ReplicaSet shop-59c7d8b6f4)",
        "pod shop-7d9c6b8f4-lr5ps (ReplicaSet shop-7d9c6b8f4)",
    ]


def test_without_uids_ownership_goes_by_name_within_the_namespace() -> None:
    document = as_list(*recorded("rollout_in_progress")["items"], *recorded("rollout_paused")["items"])
    for item in document["items"]:
        del item["metadata"]["uid"]
        for reference in item["metadata"].get("ownerReferences", []):
            del reference["uid"]

    assert rollout_report(document) == rollout_report(
        as_list(*recorded("rollout_in_progress")["items"], *recorded("rollout_paused")["items"])
    )


ORPHANED_OLD_POD = (
    "pod shop-5d8f7c9b6d-x2k9p "
    "(ReplicaSet shop-5d8f7c9b6d, not part of a listed Deployment or StatefulSet, terminating)"
)


def test_a_replicaset_left_by_an_earlier_deployment_of_the_same_name_is_not_this_ones() -> None:
    # the owner reference names "shop" but another uid: its pods still run, so they are still seen
    document = recorded("rollout_complete_old_pod_terminating")
    named(document, "shop-5d8f7c9b6d")["metadata"]["ownerReferences"][0]["uid"] = (
        "0d8e1c57-0000-4000-a000-000000000000"
    )

    report = rollout_report(document)

    assert report.problems == ()
    assert report.sightings[-1] == Sighting(
        "kubernetes",
        "shop",
        "1.3.2",
        ORPHANED_OLD_POD,
    )


def test_a_pod_whose_old_replicaset_is_already_deleted_still_counts() -> None:
    # revisionHistoryLimit can remove an old ReplicaSet while its last pod is still shutting down
    document = recorded("rollout_complete_old_pod_terminating")
    document["items"].remove(named(document, "shop-5d8f7c9b6d"))

    report = rollout_report(document)

    assert report.problems == ()
    assert ("shop", "1.3.2") in [(s.app, s.release) for s in report.sightings]
    assert report.sightings[-1].what == ORPHANED_OLD_POD


def test_pods_of_jobs_and_bare_pods_are_not_part_of_the_rollout() -> None:
    document = recorded("rollout_complete")
    job_pod = copy.deepcopy(named(document, "shop-85f6d9c7b4-2xq8m"))
    job_pod["metadata"].update(
        name="shop-migrate-4xk2p", ownerReferences=[{"kind": "Job", "name": "shop-migrate"}]
    )
    job_pod["spec"]["containers"][0]["image"] = "registry.example.com/shop/web"
    bare_pod = copy.deepcopy(job_pod)
    bare_pod["metadata"].update(name="shop-debug")
    del bare_pod["metadata"]["ownerReferences"]
    document["items"] += [job_pod, bare_pod]

    report = rollout_report(document)

    assert report.problems == ()
    assert len(report.sightings) == 3


# --- document shapes ------------------------------------------------------------------------------


def test_nothing_matched() -> None:
    empty = {"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}}
    only_pods = as_list(*items_of(recorded("rollout_complete"), "Pod"))

    for document in (empty, only_pods, {}):
        report = rollout_report(document)
        assert report.sightings == ()
        assert report.problems == (
            "no Deployment or StatefulSet matched; check the selector "
            "(`kubectl get deploy,sts,rs,pod -l app=shop -o json > rollout.json`)",
        )


def test_a_single_deployment_object_is_read_but_its_pods_are_missing() -> None:
    deployment = items_of(recorded("rollout_complete"), "Deployment")[0]

    report = rollout_report(deployment)

    assert report.problems == (
        f"{PROD}: none of its ReplicaSets are in the document; "
        "list them with `kubectl get deploy,sts,rs,pod -l app=shop -n shop-prod -o json`",
    )


def test_a_document_without_pods_cannot_show_old_pods() -> None:
    document = recorded("rollout_complete_old_pod_terminating")
    document["items"] = [i for i in document["items"] if i["kind"] != "Pod"]

    assert rollout_report(document).problems == (
        f"{PROD}: none of its pods are in the document; list them with "
        "`kubectl get deploy,sts,rs,pod -l app.kubernetes.io/instance=shop,app.kubernetes.io/name=shop "
        "-n shop-prod -o json`",
    )


def test_api_list_kinds_and_nested_lists_are_read_like_kubectl_lists() -> None:
    document = recorded("rollout_in_progress")
    nested = {
        "kind": "List",
        "items": [
            {"kind": "DeploymentList", "apiVersion": "apps/v1", "items": items_of(document, "Deployment")},
            {"kind": "ReplicaSetList", "items": items_of(document, "ReplicaSet")},
            {"kind": "PodList", "items": items_of(document, "Pod")},
        ],
    }

    assert rollout_report(nested) == rollout_report(document)


def test_a_deployment_scaled_to_zero_needs_no_pods() -> None:
    deployment = items_of(recorded("rollout_complete"), "Deployment")[0]
    deployment["spec"]["replicas"] = 0
    deployment["status"] = {"observedGeneration": 4}

    assert rollout_report(as_list(deployment)) == SourceReport("kubernetes")


# --- odd documents never raise --------------------------------------------------------------------


def test_a_deployment_nobody_has_looked_at_yet() -> None:
    deployment = items_of(recorded("rollout_complete"), "Deployment")[0]
    del deployment["status"]
    deployment["metadata"]["generation"] = 1

    report = rollout_report(as_list(deployment))

    assert (
        report.problems[0]
        == f"{PROD}: rollout not complete: spec update not observed yet (generation 1, observed 0)"
    )


def test_a_bare_deployment_without_generation_or_status() -> None:
    report = rollout_report({"kind": "Deployment", "metadata": {"name": "shop"}})

    assert report.problems == (
        "Deployment shop: rollout not complete: spec update not observed yet (generation 0, observed 0)",
        "Deployment shop: none of its ReplicaSets are in the document; "
        "list them with `kubectl get deploy,sts,rs,pod -l SELECTOR -o json`",
    )


def test_missing_conditions_annotations_labels_and_owner_uids_are_fine() -> None:
    document = recorded("rollout_in_progress")
    del items_of(document, "Deployment")[0]["status"]["conditions"]
    for item in document["items"]:
        item["metadata"].pop("annotations", None)
        item["metadata"].pop("uid", None)
        for reference in item["metadata"].get("ownerReferences", []):
            del reference["uid"]  # then ownership goes by name
    report = rollout_report(document)

    # without revision annotations nothing tells old from new, but every pod is still seen
    assert report.problems == rollout_report(recorded("rollout_in_progress")).problems
    assert [s.release for s in report.sightings] == ["1.3.2", "1.3.2", "1.3.2", "1.4.0", "1.4.0"]
    assert not any("old ReplicaSet" in s.what for s in report.sightings)


def test_a_counter_that_is_not_a_number_is_a_problem_not_a_crash() -> None:
    document = recorded("rollout_in_progress")
    items_of(document, "Deployment")[0]["status"]["updatedReplicas"] = "2"

    report = rollout_report(document)

    assert report.problems == (
        f"{PROD}: status.updatedReplicas is '2', not a whole number; list it again with "
        "`kubectl get deploy,sts,rs,pod -l app.kubernetes.io/instance=shop,app.kubernetes.io/name=shop "
        "-n shop-prod -o json`",
    )
    assert len(report.sightings) == 5


FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
# the fields the rules read; damage anywhere else is ignored anyway, so aim there
READ_KEYS = frozenset(
    "items kind metadata name namespace uid labels annotations ownerReferences deletionTimestamp generation "
    "spec replicas paused template containers image updateStrategy rollingUpdate partition type selector "
    "matchLabels status phase observedGeneration updatedReplicas availableReplicas readyReplicas "
    "terminatingReplicas currentRevision updateRevision conditions reason app.kubernetes.io/version "
    "pod-template-hash controller-revision-hash deployment.kubernetes.io/revision".split()
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@cache
def _read_paths(name: str) -> tuple[tuple[str | int, ...], ...]:
    """Every path into the recorded document that goes only through fields the rules read."""
    found: list[tuple[str | int, ...]] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if path:
            found.append(path)
        children = (
            node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        )
        for key, child in children:
            if isinstance(key, int) or key in READ_KEYS:
                walk(child, (*path, key))

    walk(json.loads(_recorded_text(name)), ())
    return tuple(found)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_damage_to_a_recorded_document_gives_a_report_never_an_exception(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(FIXTURE_NAMES))
    document = json.loads(_recorded_text(name))
    for path in data.draw(st.lists(st.sampled_from(_read_paths(name)), min_size=1, max_size=4)):
        parent: Any = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path

    report = rollout_report(document)

    assert report.source == "kubernetes"
    assert all(isinstance(p, str) for p in report.problems)


# --- reading the document -------------------------------------------------------------------------


def test_read_kubectl_json_from_a_file_and_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    path = FIXTURES / "rollout_complete.json"
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text(encoding="utf-8")))

    assert read_kubectl_json("-") == read_kubectl_json(str(path))


def test_read_kubectl_json_accepts_a_bare_array_of_objects(tmp_path: Path) -> None:
    items = recorded("rollout_complete")["items"]
    path = tmp_path / "rollout.json"
    path.write_text(json.dumps(items), encoding="utf-8")

    document = read_kubectl_json(str(path))

    assert document["items"] == items
    assert rollout_report(document) == rollout_report(recorded("rollout_complete"))


HINT = "produce it with `kubectl get deploy,sts,rs,pod -l app=shop -o json > rollout.json`"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{path}: cannot read the kubectl JSON (No such file or directory); " + HINT),
        ("", "{path}: not JSON (line 1, column 1: Expecting value); " + HINT),
        ("apiVersion: v1\nkind: List\n", "{path}: not JSON (line 1, column 1: Expecting value); " + HINT),
        ('{"kind": "List", "items": [', "{path}: not JSON (line 1, column 28: Expecting value); " + HINT),
        ('"rollout"', "{path}: JSON, but not a Kubernetes object or list; " + HINT),
        ('{"metadata": {}}', "{path}: JSON, but not a Kubernetes object or list; " + HINT),
    ],
)
def test_read_kubectl_json_rejects_bad_files_with_one_line(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "rollout.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(UsageError) as raised:
        read_kubectl_json(str(path))

    assert str(raised.value) == message.format(path=path)
    assert "\n" not in str(raised.value)


def test_read_kubectl_json_names_stdin_when_it_is_not_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO('error: the server doesn\'t have a resource type "deploy"\n')
    )

    with pytest.raises(UsageError, match=r"^standard input: not JSON \(line 1, column 1"):
        read_kubectl_json("-")


def test_fetch_from_api_without_the_kubernetes_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if it were not installed

    with pytest.raises(ConfigError) as raised:
        fetch_from_api("shop-prod", "app=shop")

    assert str(raised.value) == (
        "the Kubernetes API source needs the `kubernetes` package: install expandcontract[kubernetes], "
        "or pass the kubectl JSON (`kubectl get deploy,sts,rs,pod -l app=shop -o json > rollout.json`)"
    )
