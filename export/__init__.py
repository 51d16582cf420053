"""Evidence bundles for prosecutors: open without Shabaka, prove they were not altered, reproduce.

``export_ring`` writes one ring's bundle (a zipped BagIt bag), ``verify_bundle``
checks one on any machine, ``reproduce_bundle`` re-runs ring assembly on the
recorded claim batches.

The names are imported on first use, so ``shabaka verify`` loads only the manifest
check and not the report and picture libraries.
"""

from importlib import import_module

__all__ = ["export_ring", "verify_bundle", "reproduce_bundle", "VerifyResult", "ReproduceResult"]

_HOME = {"export_ring": "bundle", "verify_bundle": "manifest", "VerifyResult": "manifest",
         "reproduce_bundle": "reproduce", "ReproduceResult": "reproduce"}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"export.{_HOME[name]}"), name)
