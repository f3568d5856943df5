"""Incus, for running labs on a cluster (issue 12): a thin REST client and the box rootfs as an Incus image.

The provider itself (placement, per-lab network, instances) builds on these; see docs/scale.md once it exists."""
