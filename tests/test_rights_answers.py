"""The assistant's answer to every rights request tells the debtor, in Bokmål and English, that
they may complain to Datatilsynet (GDPR Art. 77; Art. 12(4) for a request we do not act on)."""

from __future__ import annotations

import pytest
import yaml

from bot.case_system.contract.enums import RightsRequestType
from bot.config import REPO_ROOT

RESPONSES = yaml.safe_load((REPO_ROOT / "domain" / "rights.yml").read_text(encoding="utf-8"))["responses"]


def language_of(variation: dict) -> str:
    for condition in variation.get("condition", []):
        if condition.get("name") == "language":
            return condition["value"]
    return "nb"


@pytest.mark.parametrize("name", [f"utter_rights_{kind.value}" for kind in RightsRequestType])
def test_each_rights_answer_names_the_right_to_complain_in_both_languages(name):
    variations = RESPONSES[name]
    assert {language_of(variation) for variation in variations} == {"nb", "en"}
    for variation in variations:
        assert "Datatilsynet" in variation["text"], (name, language_of(variation))
    nb = next(v["text"] for v in variations if language_of(v) == "nb")
    assert "kan du klage til Datatilsynet" in nb
