"""The project's own Rasa NLU components (bot/rasa/entities.py, bot/rasa/inform.py), run directly."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.entities import OrderNumberExtractor
from bot.rasa.inform import EntityOnlyInform, only_gives_values


def _parse(text: str, intent: str = "track_order") -> Message:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.6},
                            "intent_ranking": [{"name": intent, "confidence": 0.6},
                                               {"name": "inform", "confidence": 0.3}]})
    OrderNumberExtractor().process([message])
    EntityOnlyInform().process([message])
    return message


def test_extractor_adds_order_numbers_as_typed():
    m = _parse("where are #1001 and WC-5521, call 555-123-4567")
    ents = [(e["entity"], e["value"], e["extractor"]) for e in m.get("entities")]
    assert ents == [("order_number", "1001", "OrderNumberExtractor"),
                    ("order_number", "WC-5521", "OrderNumberExtractor")]
    for e in m.get("entities"):
        assert m.get("text")[e["start"]:e["end"]] == e["value"]


def test_extractor_keeps_entities_of_earlier_extractors():
    m = Message(data={"text": "order 1001", "entities": [{"entity": "email", "value": "x", "start": 0, "end": 1}]})
    OrderNumberExtractor().process([m])
    assert [e["entity"] for e in m.get("entities")] == ["email", "order_number"]


@pytest.mark.parametrize("text", ["1001", "#1001", "order 1001", "my order number is 00123842",
                                  "sorry it's 1003", "ok 1018", "its WC-9930 thx", "order no. 1011"])
def test_value_only_messages_become_inform(text):
    m = _parse(text)
    assert m.get("intent")["name"] == "inform"
    assert m.get("intent_ranking")[0]["name"] == "inform"
    assert [r["name"] for r in m.get("intent_ranking")].count("inform") == 1


@pytest.mark.parametrize("text", ["track 1001", "cancel order 1001", "1001 where is it", "where is my order",
                                  "refund for 1001", "", "call 555-123-4567"])
def test_other_messages_keep_the_classifier_intent(text):
    assert _parse(text).get("intent")["name"] == "track_order"


def test_only_gives_values_with_email_and_postcode_spans():
    text = "email jane@example.com zip SW1A 1AA"
    ents = [{"entity": "email", "start": 6, "end": 22}, {"entity": "postcode", "start": 27, "end": 35}]
    assert only_gives_values(text, ents)
    assert not only_gives_values("refund to jane@example.com", [{"entity": "email", "start": 10, "end": 26}])
    assert not only_gives_values("hello", [])


def _featurize(texts):
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    from bot.rasa.static_embeddings import StaticEmbeddingFeaturizer

    messages = [Message(data={"text": t}) for t in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    featurizer = StaticEmbeddingFeaturizer({**StaticEmbeddingFeaturizer.get_default_config(),
                                            "scale": 2.0}, "emb")
    featurizer.process(messages)
    return messages


def test_static_embeddings_features_have_fixed_width():
    """Every message, also an empty one, gets one 256-wide sentence row (the classifier needs a
    constant width); the sequence has one row per token and the sentence vector has length 2."""
    import numpy as np

    full, empty = _featurize(["where is my stuff", ""])
    seq, sent = full.get_dense_features("text")
    assert seq.features.shape == (4, 256) and sent.features.shape == (1, 256)
    assert np.isclose(np.linalg.norm(sent.features), 2.0)
    seq0, sent0 = empty.get_dense_features("text")
    assert sent0.features.shape == (1, 256) and not sent0.features.any()


def test_static_embeddings_place_paraphrases_near_each_other():
    import numpy as np

    a, b, c = (m.get_dense_features("text")[1].features[0]
               for m in _featurize(["where's my stuff", "where is my order", "book a flight to rome"]))
    assert a @ b > a @ c + 0.5


def test_static_embeddings_token_vectors_are_computed_once_and_equal_a_fresh_computation():
    import numpy as np

    from bot.rasa.static_embeddings import StaticEmbeddingFeaturizer, scaled

    first = _featurize(["where is my order"])[0]
    featurizer = StaticEmbeddingFeaturizer({**StaticEmbeddingFeaturizer.get_default_config(), "scale": 2.0}, "emb")
    vectors = [featurizer.token_vector(word) for word in ("where", "is", "my", "order")]
    assert featurizer.token_vector("order") is vectors[3]  # from the cache
    assert not vectors[3].flags.writeable
    for word, vector in zip(("where", "is", "my", "order"), vectors):
        assert np.array_equal(vector, scaled(featurizer.embeddings.mean(word), 256, 2.0))
    assert np.array_equal(first.get_dense_features("text")[0].features, np.stack(vectors))
