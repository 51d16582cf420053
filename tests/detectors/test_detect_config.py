"""Every detection threshold is declared once, documented, recorded and honoured."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from detectors.base import build_context
from detectors.config import PARAMETERS, DetectionConfig
from detectors.pipeline import detect
from detectors.registry import all_detectors
from ground.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "detectors.md"


def test_every_parameter_is_listed_in_the_detectors_doc():
    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", text, flags=re.M))
    assert {p.key for p in PARAMETERS} - listed == set()
    assert listed - {p.key for p in PARAMETERS} == set()


def test_every_parameter_has_help_and_a_unique_name():
    keys = [p.key for p in PARAMETERS]
    assert len(keys) == len(set(keys))
    assert all(p.help.strip() for p in PARAMETERS)


@pytest.mark.parametrize("detector", all_detectors(seed=1), ids=lambda d: d.name)
def test_detector_defaults_are_the_declared_ones(detector):
    declared = DetectionConfig().section(detector.name)
    # the seed and the engines (who computes, not what is decided) are not thresholds
    own = {name: p.default for name, p in inspect.signature(type(detector).__init__).parameters.items()
           if name not in ("self", "seed", "louvain_engine", "engine")}
    assert own == declared


def test_a_run_records_its_whole_configuration(tiny_claims):
    config = DetectionConfig.from_mapping({"cores": {"min_lift": 4.5}, "lines.expensive_min_amount": 800})
    result = detect(tiny_claims, seed=1, config=config)
    assert result.params["config"] == config.as_dict()
    assert result.params["config"]["cores"]["min_lift"] == 4.5
    assert result.params["detectors"]["cores"]["min_lift"] == 4.5
    assert result.params["intermediaries"] == config.section("intermediaries")
    assert DetectionConfig.from_mapping(result.params["config"]) == config


def test_line_flags_follow_the_configuration(pattern_claims):
    loose = build_context(pattern_claims, config=DetectionConfig.from_mapping(
        {"lines": {"expensive_min_amount": 0.0, "expensive_quantile": 0.5}}))
    strict = build_context(pattern_claims)
    assert loose.lines["expensive"].sum() > strict.lines["expensive"].sum()


def test_unknown_or_malformed_parameters_are_refused():
    with pytest.raises(ConfigError, match="cores.min_lfit"):
        DetectionConfig.from_mapping({"cores": {"min_lfit": 3}})
    with pytest.raises(ConfigError, match="expected float"):
        DetectionConfig.from_mapping({"cores.min_lift": "high"})


def test_fit_refuses_a_context_built_from_other_claims(pattern_claims, tiny_claims):
    context = build_context(tiny_claims)
    detector = all_detectors(seed=1)[0]
    with pytest.raises(ValueError, match="other claims"):
        detector.fit(pattern_claims, context=context)
    same_claims_reordered = tiny_claims.sample(frac=1.0, random_state=2)
    assert detector.fit(same_claims_reordered, context=context).detector == detector.name


def test_names_splits_a_comma_separated_parameter_and_drops_blanks():
    config = DetectionConfig({"lines.public_types": " HOSPITAL, ,CHU ", "rings.support_only": ""})
    assert config.names("lines.public_types") == ("HOSPITAL", "CHU")
    assert config.names("rings.support_only") == ()
    assert DetectionConfig().names("rings.support_only") == ("cores",)
