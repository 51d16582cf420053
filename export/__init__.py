"""Evidence bundles for prosecutors: open without Shabaka, prove they were not altered, reproduce.

``export_ring`` writes one ring's bundle (a zipped BagIt bag), ``verify_bundle``
checks one on any machine, ``reproduce_bundle`` re-runs ring assembly on the
recorded claim batches.
"""

from export.bundle import export_ring
from export.manifest import VerifyResult, verify_bundle
from export.reproduce import ReproduceResult, reproduce_bundle

__all__ = ["export_ring", "verify_bundle", "reproduce_bundle", "VerifyResult", "ReproduceResult"]
