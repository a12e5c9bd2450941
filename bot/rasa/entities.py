"""Rasa NLU component that extracts ``order_number`` entities with the shared rule in
:mod:`plugins.order_numbers` (the action server validates slots with the same rule).

Used in ``config.yml`` as ``bot.rasa.entities.OrderNumberExtractor``; it needs no training.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from plugins.order_numbers import find_order_numbers

ORDER_NUMBER = "order_number"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class OrderNumberExtractor(GraphComponent, EntityExtractorMixin):
    """Adds one ``order_number`` entity per order number in the message text (value as typed)."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "OrderNumberExtractor":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends the order numbers found in each message's text to its entities."""
        for message in messages:
            text = message.get(TEXT) or ""
            found = [
                {ENTITY_ATTRIBUTE_TYPE: ORDER_NUMBER, ENTITY_ATTRIBUTE_START: span.start,
                 ENTITY_ATTRIBUTE_END: span.end, ENTITY_ATTRIBUTE_VALUE: span.value}
                for span in find_order_numbers(text)
            ]
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found),
                        add_to_output=True)
        return messages
