"""Synthetic AMO claims that look like Morocco, with planted and labelled fraud rings.

See ``docs/generator.md``. Public API: :func:`generate` (files) and
:func:`generate_frames` (in memory).
"""

from ingest.synthetic.generator import FILES, SyntheticData, generate, generate_frames
from ingest.synthetic.rings import SCENARIOS

__all__ = ["generate", "generate_frames", "SyntheticData", "SCENARIOS", "FILES"]
