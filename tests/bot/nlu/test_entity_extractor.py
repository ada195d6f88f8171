"""NorwegianEntityExtractor as Rasa runs it: real `Message` objects through `create` and `process`.

Relative dates resolve against Wednesday 25 November 2026 (`reference_today` is replaced).
"""

from datetime import date

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import entity_extractor
from bot.nlu.entity_extractor import ENTITY_TYPES, NorwegianEntityExtractor

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(entity_extractor, "reference_today", lambda: TODAY)


@pytest.fixture
def extractor(tmp_path):
    """Created exactly the way Rasa's graph creates a non-trainable component."""
    return NorwegianEntityExtractor.create(
        {**NorwegianEntityExtractor.get_default_config()},
        LocalModelStorage(tmp_path),
        Resource("norwegian_entity_extractor"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def process(extractor, text, entities=None):
    data = {TEXT: text}
    if entities is not None:
        data[ENTITIES] = entities
    message = Message(data=data)
    extractor.process([message])
    return message


def found(extractor, text):
    """(entity, value, the text the offsets point at) for each entity, in message order."""
    message = process(extractor, text)
    return [(e["entity"], e["value"], text[e["start"] : e["end"]]) for e in message.get(ENTITIES)]


# --- the component in Rasa ---------------------------------------------------------------------


def test_importing_the_module_registers_a_non_trainable_entity_extractor():
    registered = DefaultV1Recipe._from_registry("bot.nlu.entity_extractor.NorwegianEntityExtractor")
    assert registered.clazz is NorwegianEntityExtractor
    assert registered.types == {DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR}
    assert registered.is_trainable is False


def test_a_pipeline_with_the_component_validates_and_runs_without_training(tmp_path):
    import rasa.engine.validation
    import rasa.shared.utils.io
    from rasa.core.channels import UserMessage
    from rasa.engine.recipes.recipe import Recipe
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.data import TrainingType

    config = rasa.shared.utils.io.read_yaml(
        "recipe: default.v1\n"
        "language: nb\n"
        "assistant_id: test\n"
        "pipeline:\n"
        "- name: WhitespaceTokenizer\n"
        "- name: bot.nlu.entity_extractor.NorwegianEntityExtractor\n"
    )
    model = Recipe.recipe_for_name("default.v1").graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)
    rasa.engine.validation.validate(model)
    runner = DaskGraphRunner.create(
        model.predict_schema, LocalModelStorage(tmp_path), ExecutionContext(model.predict_schema, "m")
    )
    result = runner.run(
        inputs={"__message__": [UserMessage("saksnr.100001, født 14.03.1985")]},
        targets=[model.nlu_target],
    )
    [message] = result[model.nlu_target]
    assert [(e["entity"], e["value"]) for e in message.get(ENTITIES)] == [
        ("case_number", "100001"),
        ("birth_date", "1985-03-14"),
    ]


def test_entities_have_the_rasa_shape():
    text = "sak 100001"
    [entity] = process(NorwegianEntityExtractor({}), text).get(ENTITIES)
    assert entity == {
        "entity": "case_number",
        "start": 4,
        "end": 10,
        "value": "100001",
        "confidence": 1.0,
        "extractor": "NorwegianEntityExtractor",
    }


# --- what a message yields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "saksnr 100001, født 14.03.1985",
            [("case_number", "100001", "100001"), ("birth_date", "1985-03-14", "14.03.1985")],
        ),
        (
            "født 14.03.1985, saksnr 100001",
            [("birth_date", "1985-03-14", "14.03.1985"), ("case_number", "100001", "100001")],
        ),
        (
            "100001 14.03.1985",  # no context words: shape and the calendar decide
            [("case_number", "100001", "100001"), ("birth_date", "1985-03-14", "14.03.1985")],
        ),
        (
            "100001 født 14.03.85",  # "født" belongs to the date after it, not the number before
            [("case_number", "100001", "100001"), ("birth_date", "1985-03-14", "14.03.85")],
        ),
        ("saksnr.100001", [("case_number", "100001", "100001")]),
        ("Saksnr:100001!", [("case_number", "100001", "100001")]),
        ("sak100001", [("case_number", "100001", "100001")]),
        ("sak 100 001", [("case_number", "100001", "100 001")]),
        ("eg er fødd 14. mars 1985", [("birth_date", "1985-03-14", "14. mars 1985")]),
        ("født 14/3-85", [("birth_date", "1985-03-14", "14/3-85")]),
        ("dob 27th of June 1978", [("birth_date", "1978-06-27", "27th of June 1978")]),
        ("fnr 148385 40024", [("national_id", "14838540024", "148385 40024")]),
        ("14838540024", [("national_id", "14838540024", "14838540024")]),
        ("Mobil: 912 34 567", [("phone", "+4791234567", "912 34 567")]),
        ("ring meg på +47 912 34 567.", [("phone", "+4791234567", "+47 912 34 567")]),
        ("0047 98765432", [("phone", "+4798765432", "0047 98765432")]),
        ("tlf:45512345", [("phone", "+4745512345", "45512345")]),
        (
            "kan betale 500 kr i mnd over et år",
            [("amount", 500_00, "500 kr"), ("months", 12, "et år")],
        ),
        ("kan betale to tusen fem hundre", [("amount", 2500_00, "to tusen fem hundre")]),
        ("jeg kan betale femhundre kroner", [("amount", 500_00, "femhundre kroner")]),
        (
            "kan betale 1.200,- neste fredag",
            [("amount", 1200_00, "1.200,-"), ("date", "2026-11-27", "neste fredag")],
        ),
        ("betaler 300 NOK den 20.", [("amount", 300_00, "300 NOK"), ("date", "2026-12-20", "den 20")]),
        (
            "kan betale 1 200.50 NOK i morgen",
            [("amount", 1200_50, "1 200.50 NOK"), ("date", "2026-11-26", "i morgen")],
        ),
        ("betale over seks mnd", [("months", 6, "seks mnd")]),
        ("halvannet år", [("months", 18, "halvannet år")]),
        ("jeg betaler etter nyttår", [("date", "2027-01-02", "etter nyttår")]),
        ("kan jeg få utsettelse til 20. desember?", [("date", "2026-12-20", "20. desember")]),
        ("kan vi ta det på engelsk?", [("language", "en", "engelsk")]),
        (
            "Hi, my case number is 100004 and I was born June 27, 1978.",
            [("case_number", "100004", "100004"), ("birth_date", "1978-06-27", "June 27, 1978")],
        ),
        (
            "I can pay 200 a month for a year, starting next Friday",
            [("amount", 200_00, "200"), ("months", 12, "a year"), ("date", "2026-11-27", "next Friday")],
        ),
        ("Can I pay on the 20th of December?", [("date", "2026-12-20", "20th of December")]),
        ("Can you write in English please", [("language", "en", "English")]),
    ],
)
def test_entities_found_in_messages(extractor, text, expected):
    assert found(extractor, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("100001", [("case_number", "100001", "100001")]),
        ("140385", [("case_number", "140385", "140385")]),  # no date word: a case number
        ("14031985", [("case_number", "14031985", "14031985")]),
        ("født 140385", [("birth_date", "1985-03-14", "140385")]),
        ("fødselsdato: 14031985", [("birth_date", "1985-03-14", "14031985")]),
        ("f. 140385", [("birth_date", "1985-03-14", "140385")]),
        ("born 140385", [("birth_date", "1985-03-14", "140385")]),
        ("født 310290", []),  # announced as a birth date but impossible: nothing
        ("14.03.85", [("birth_date", "1985-03-14", "14.03.85")]),  # separators make it a date
        ("15.01.2027", [("date", "2027-01-15", "15.01.2027")]),  # near today: a payment date
        ("91234567", [("case_number", "91234567", "91234567")]),  # no phone word: a case number
        ("mitt nummer er 91234567", [("phone", "+4791234567", "91234567")]),
        ("saksnummer 91234567", [("case_number", "91234567", "91234567")]),
        ("kontonummer 1503.20.80119", []),  # account numbers are none of our entities
        ("kontonummer 15032080119", []),
        ("KID 12345678", []),
    ],
)
def test_numbers_are_classified_by_shape_and_context_words(extractor, text, expected):
    assert found(extractor, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Hei! Hvorfor har dere sendt meg brev?",
        "Jeg har betalt. Tusen takk!",  # "tusen takk" is thanks, not 1000 kr
        "kan jeg betale to ganger?",
        "jeg har to barn og lite penger",
        "jeg ble syk for et år siden",
        "jeg er 40 år gammel",
        "I can pay $500",
        "１２３４５６ og ５００ kr",  # fullwidth digits are not read
        "😀🙏💸",
        "jeg betalte sist fredag",  # behind us: not a payment date
        "ring meg etter kl 12.12",  # a clock time, not 12 December
    ],
)
def test_messages_without_entities(extractor, text):
    assert found(extractor, text) == []


@pytest.mark.parametrize(
    "text, written",
    [
        ("kan jeg betale -500 kr?", "-500 kr"),
        ("kan jeg betale minus 500 kr", "500 kr"),
        ("kr -500 i måneden", "kr -500"),
        ("jeg betaler −500 kroner", "−500 kroner"),
    ],
)
def test_a_negative_sum_is_kept_negative_so_the_plan_flow_can_refuse_it(extractor, text, written):
    assert found(extractor, text) == [("amount", -50000, written)]


def test_a_signed_sum_in_a_foreign_currency_is_no_amount(extractor):
    assert found(extractor, "kan jeg betale -500 kr USD") == []


# --- odd input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009"])
def test_unicode_spaces_inside_amounts(extractor, space):
    text = f"kan betale kr 1{space}200,50 nå"
    assert found(extractor, text) == [("amount", 1200_50, f"kr 1{space}200,50")]


def test_offsets_point_into_the_original_text_after_emoji_and_folded_letters(extractor):
    text = "😩😩 Hæ?? Født 14. mars 1985 🙏 sak100001"
    assert found(extractor, text) == [
        ("birth_date", "1985-03-14", "14. mars 1985"),
        ("case_number", "100001", "100001"),
    ]


def test_emoji_glued_to_an_amount(extractor):
    assert found(extractor, "👍 kan betale 500kr!! 🎉") == [("amount", 500_00, "500kr")]


def test_a_10000_character_message_is_processed_with_consistent_offsets(extractor):
    text = ("kan betale 500 kr, sak 100001, født 14.03.1985 😀 " * 250)[:10_000]
    message = process(extractor, text)
    entities = message.get(ENTITIES)
    assert len(entities) > 500
    for entity in entities:
        surface = text[entity["start"] : entity["end"]]
        assert surface in ("500 kr", "100001", "14.03.1985")


def test_a_10000_character_message_of_digits_does_not_blow_up(extractor):
    message = process(extractor, ("1 2 3 4 5 " * 1000)[:10_000])
    assert message.get(ENTITIES) == []


def test_entities_never_overlap(extractor):
    text = "sak 100 001 kr 500 14 mars 85 den 20. desember 2026 12 mnd +47 912 34 567 norsk bokmål"
    spans = sorted((e["start"], e["end"]) for e in process(extractor, text).get(ENTITIES))
    assert len(spans) >= 6
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))


def test_a_message_without_text_is_left_alone(extractor):
    message = Message(data={})
    extractor.process([message])
    assert message.get(ENTITIES) is None


# --- living with DIET --------------------------------------------------------------------------


def diet(entity, start, end, value):
    return {
        "entity": entity,
        "start": start,
        "end": end,
        "value": value,
        "extractor": "DIETClassifier",
        "confidence_entity": 0.9,
    }


def test_our_entity_replaces_diets_of_the_same_type_at_an_overlapping_span(extractor):
    text = "betaler 500 kr"
    message = process(extractor, text, [diet("amount", 8, 11, "500")])
    assert [(e["entity"], e["value"], e["extractor"]) for e in message.get(ENTITIES)] == [
        ("amount", 500_00, "NorwegianEntityExtractor")
    ]


def test_diets_other_entities_are_kept(extractor):
    text = "saksnr 100001"
    other_type = diet("date", 7, 13, "100001")
    elsewhere = diet("case_number", 0, 6, "saksnr")
    message = process(extractor, text, [other_type, elsewhere])
    assert message.get(ENTITIES)[:2] == [other_type, elsewhere]
    assert message.get(ENTITIES)[2]["extractor"] == "NorwegianEntityExtractor"


def test_processing_twice_does_not_duplicate(extractor):
    message = process(extractor, "sak 100001")
    extractor.process([message])
    assert [e["value"] for e in message.get(ENTITIES)] == ["100001"]


def test_dimensions_limit_the_entity_types(tmp_path):
    only_amounts = NorwegianEntityExtractor.create(
        {"dimensions": ["amount"]},
        LocalModelStorage(tmp_path),
        Resource("x"),
        ExecutionContext(GraphSchema({}), "m"),
    )
    entities = process(only_amounts, "sak 100001, kan betale 500 kr").get(ENTITIES)
    assert [e["entity"] for e in entities] == ["amount"]


def test_every_entity_type_is_produced_somewhere(extractor):
    text = (
        "sak 100001, fnr 148385 40024, født 14.03.1985, kan betale 500 kr den 20. "
        "over 12 mnd, tlf 912 34 567, på engelsk"
    )
    assert {e["entity"] for e in process(extractor, text).get(ENTITIES)} == set(ENTITY_TYPES)


@pytest.mark.parametrize(
    "text",
    [
        "Betal til kontonummer 1234.56.78903",  # the agency's demo account: no real date
        "kontoen min er 15032080119",  # a valid account number whose first six digits are a date
        "jeg betalte fra 0530 12 34567",
        "15032080119",  # alone, as pasted into the chat
    ],
)
def test_an_account_number_is_never_taken_for_an_identity_number(extractor, text):
    assert "national_id" not in {entity for entity, *_ in found(extractor, text)}


def test_eleven_digits_that_fail_the_control_digits_are_no_identity_number(extractor):
    assert found(extractor, "fødselsnummer 14038540024") == []
    assert found(extractor, "fødselsnummer 14838540024") == [("national_id", "14838540024", "14838540024")]
