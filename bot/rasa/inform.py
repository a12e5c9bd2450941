"""Rasa NLU component: a message that only *gives* an order number, email or postcode is ``inform``.

Runs after the intent classifier and the entity extractors. When every word of the message is
either inside an extracted ``order_number`` / ``email`` / ``postcode`` entity or a filler word
("my order number is", "sorry it's", "ok", "here"), the intent becomes ``inform`` with
confidence 1.0 (the classifier's ranking is kept below it). Messages with any other word keep the
classifier's intent, so "track 1001" or "cancel order 1001" are unaffected.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

INFORM = "inform"
VALUE_ENTITIES = frozenset({"order_number", "email", "postcode"})
FILLER = frozenset("""
a an the my our its it's it is was that's thats this here heres here's there ok okay k sure yes yeah
yep no nope sorry oops wait actually i i'm im think mean meant guess should be use try and or also
with plus order orders ordr oder purchase number num no nr id ref reference confirmation conf
email e-mail mail address postcode post postal code zip zipcode plz of for on under is: got
please pls thanks thx ty hi hello hey the' # uh um er so well oh ah right correct
""".split())
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EntityOnlyInform(GraphComponent):
    """Sets ``inform`` for messages that consist of entity values and filler words only."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EntityOnlyInform":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Overrides the intent of entity-only messages; leaves every other message unchanged."""
        for message in messages:
            if only_gives_values(message.get(TEXT) or "", message.get(ENTITIES) or []):
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != INFORM]
                message.set(INTENT, {"name": INFORM, "confidence": 1.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [{"name": INFORM, "confidence": 1.0}] + ranking,
                            add_to_output=True)
        return messages


def only_gives_values(text: str, entities: List[Dict[str, Any]]) -> bool:
    """True when the text has at least one value entity and otherwise only filler words."""
    spans = [(e["start"], e["end"]) for e in entities
             if e.get("entity") in VALUE_ENTITIES and "start" in e and "end" in e]
    if not spans:
        return False
    rest = list(text)
    for start, end in spans:
        rest[start:end] = [" "] * (end - start)
    words = [w.lower().replace("’", "'") for w in _WORD.findall("".join(rest))]
    return all(w in FILLER for w in words)
