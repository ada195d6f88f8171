from bot.redaction import PLACEHOLDER, redact, redact_text


def test_identity_numbers_are_removed_in_any_common_spelling() -> None:
    for written in ("14838540024", "148385 40024", "148385-40024"):
        assert redact_text(f"mitt fnr er {written}, takk") == f"mitt fnr er {PLACEHOLDER}, takk"


def test_shorter_and_longer_digit_runs_are_kept() -> None:
    assert redact_text("sak 100001, konto 123456789012") == "sak 100001, konto 123456789012"


def test_nested_event_data_is_redacted_everywhere() -> None:
    event = {
        "text": "14838540024",
        "parse_data": {"entities": [{"entity": "national_id", "value": "14838540024"}]},
        "value": ["x", "14838540024"],
        "confidence": 0.9,
    }
    cleaned = redact(event)
    assert "14838540024" not in repr(cleaned)
    assert cleaned["confidence"] == 0.9
