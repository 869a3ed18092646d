"""The Dask worker plugin that ends a `LocalCluster`'s workers with the cogov process that
started them (imported only by the dask backend: importing `distributed` takes a second)."""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from .backends import watch_parent


class ParentWatchPlugin(WorkerPlugin):
    """Registered on the workers of a `LocalCluster` this process started (never on a shared
    scheduler's workers): each worker ends when this process is gone (killed by SIGKILL, say).
    Workers a nanny restarts get it again (a registered plugin is sent to every new worker)."""

    name = "cogov-parent-watch"

    def __init__(self, parent_pid: int):
        self.parent_pid = parent_pid

    def setup(self, worker=None):
        watch_parent(self.parent_pid)
