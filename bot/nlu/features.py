"""The sentence features of a message, for the classifiers that work on whole sentences.

Rasa's own helpers combine the sparse and the dense features in separate steps, each a scipy
stack; one stack in pipeline order gives the same row (all sparse featurizers come before the
dense e5 featurizer in config.yml) in about a third of the time.
"""

from __future__ import annotations

from typing import List

import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message


def _sentence_level(message: Message) -> List[Features]:
    return [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]


def sentence_features(message: Message) -> scipy.sparse.csr_matrix:
    """All sentence-level features of the message text, in pipeline order, as one row."""
    parts = [
        feature.features if feature.is_sparse() else scipy.sparse.csr_matrix(feature.features)
        for feature in _sentence_level(message)
    ]
    return scipy.sparse.hstack(parts, format="csr")


def sparse_sentence_blocks(message: Message) -> List[scipy.sparse.spmatrix]:
    """Each sparse featurizer's sentence row (word counts, character n-gram counts), in order."""
    return [feature.features for feature in _sentence_level(message) if feature.is_sparse()]


def dense_sentence_features(message: Message) -> np.ndarray:
    """The dense sentence features (the e5 embedding) as one flat vector; empty when there are none."""
    parts = [np.ravel(feature.features) for feature in _sentence_level(message) if feature.is_dense()]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
