"""Rasa NLU featurizer: dense sentence features from static token embeddings shipped in a wheel.

Used in ``config.yml`` as ``bot.rasa.static_embeddings.StaticEmbeddingFeaturizer``. The default
weights are WordLlama's ``l2_supercat_256`` (256-dimensional token embeddings distilled from
Llama 2 70B, MIT license) and its tokenizer, both files inside the ``wordllama`` wheel
(``wordllama/weights/l2_supercat_256.safetensors``, ``wordllama/tokenizers/
l2_supercat_tokenizer_config.json``). They are read with ``safetensors`` and ``tokenizers`` only:
the ``wordllama`` package itself is never imported (its code needs numpy 2 and pydantic 2, which
Rasa 3.6 cannot have), and nothing is downloaded.

Features per message (text attribute only):

- sentence: the mean of the embeddings of every sub-word token of the lower-cased text, scaled to
  length ``scale`` (a zero vector for a message without tokens, so the feature width never changes);
- sequence: one row per Rasa token (the mean of that token's sub-word embeddings, same scaling).
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer as RasaTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
#: Distinct tokens whose vectors a featurizer keeps (256 float32 each: 1 KB per token).
TOKEN_CACHE_SIZE = 8192


def package_dir(package: str) -> Path:
    """The directory of an installed package, found without importing (running) it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InvalidConfigException(
            f"StaticEmbeddingFeaturizer: package {package!r} is not installed "
            f"(it is pinned in requirements-nodeps.lock; run `make setup`)")
    return Path(list(spec.submodule_search_locations)[0])


class StaticEmbeddings:
    """A token-embedding table and its tokenizer: text -> mean embedding."""

    def __init__(self, weights: Path, tokenizer: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tables = load_file(str(weights))
        if len(tables) != 1:
            raise InvalidConfigException(f"{weights}: expected one embedding table, found {list(tables)}")
        self.table = next(iter(tables.values())).astype(np.float32)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.dim = int(self.table.shape[1])

    def mean(self, text: str) -> Optional[np.ndarray]:
        """Mean embedding of the text's sub-word tokens (lower-cased), or None without tokens."""
        ids = self.tokenizer.encode(text.lower(), add_special_tokens=False).ids
        ids = [i for i in ids if 0 <= i < len(self.table)]
        if not ids:
            return None
        return self.table[ids].mean(axis=0)


@lru_cache(maxsize=4)
def load_embeddings(package: str, weights: str, tokenizer: str) -> StaticEmbeddings:
    """Loads (once per process) the embedding table and tokenizer shipped in ``package``."""
    root = package_dir(package)
    return StaticEmbeddings(root / weights, root / tokenizer)


def scaled(vector: Optional[np.ndarray], dim: int, scale: float) -> np.ndarray:
    """``vector`` rescaled to Euclidean length ``scale``; zeros for None or a zero vector."""
    if vector is None:
        return np.zeros(dim, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return (vector * (scale / norm)).astype(np.float32) if norm > 0 else np.zeros(dim, np.float32)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class StaticEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds dense sentence and sequence features from static token embeddings (see module doc)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [RasaTokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["safetensors", "tokenizers"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "package": "wordllama", "weights": WEIGHTS,
                "tokenizer": TOKENIZER, "scale": 3.0}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.embeddings = load_embeddings(config["package"], config["weights"], config["tokenizer"])
        self.scale = float(config["scale"])
        # Shoppers reuse the same few hundred words: each word's vector is computed once per process.
        self.token_vector = lru_cache(maxsize=TOKEN_CACHE_SIZE)(self._token_vector)

    def _token_vector(self, token: str) -> np.ndarray:
        vector = scaled(self.embeddings.mean(token), self.embeddings.dim, self.scale)
        vector.flags.writeable = False  # shared by every message with this token
        return vector

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "StaticEmbeddingFeaturizer":
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise InvalidConfigException("StaticEmbeddingFeaturizer: scale must be > 0")

    def features(self, message: Message) -> Tuple[np.ndarray, np.ndarray]:
        """(sequence [n_tokens, dim], sentence [1, dim]) for the message's text."""
        text = message.get(TEXT) or ""
        dim, emb = self.embeddings.dim, self.embeddings
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        sequence = np.stack([self.token_vector(t.text) for t in tokens]) if tokens \
            else np.zeros((0, dim), dtype=np.float32)
        sentence = scaled(emb.mean(text), dim, self.scale)[np.newaxis, :]
        return sequence, sentence

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the text features to every message that has a text."""
        for message in messages:
            if message.get(TEXT) is not None:
                sequence, sentence = self.features(message)
                self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Adds the text features to every training example."""
        self.process(training_data.training_examples)
        return training_data
