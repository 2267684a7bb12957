"""The contract gate: which pending contract revisions may run (manifests, rollout sources, decision)."""
