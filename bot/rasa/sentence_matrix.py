"""The feature matrix Rasa's ``LogisticRegressionClassifier`` classifies, built without copies.

``LogisticRegressionClassifier._create_X`` asks each message for its combined sparse and dense
features; Rasa combines them by deep-copying *every* feature of the text, the per-token sequence
matrices included (which the classifier then drops), and joins the sentence rows with
``scipy.sparse.hstack``. Per parse that was a tenth of the Rasa process's CPU time
(docs/benchmarks.md). :func:`sentence_matrix` reads the same sentence features in the same order
(every sparse one in pipeline order, then every dense one) and writes them straight into one CSR
matrix. Zeros of dense features are not stored, which a sparse product does not see.

:func:`install` replaces ``_create_X`` (training and prediction); ``ORIGINAL_CREATE_X`` keeps Rasa's.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np
import scipy.sparse
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message

ORIGINAL_CREATE_X = LogisticRegressionClassifier._create_X


def _row(message: Message) -> tuple:
    """Column indices, values and width of one message's sentence features."""
    sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
    parts = [f for f in sentence if f.is_sparse()] + [f for f in sentence if f.is_dense()]
    indices: List[np.ndarray] = []
    values: List[np.ndarray] = []
    offset = 0
    for feature in parts:
        matrix = feature.features
        if feature.is_sparse():
            if not scipy.sparse.isspmatrix_coo(matrix):
                matrix = scipy.sparse.coo_matrix(matrix)
            columns, data = matrix.col, matrix.data  # one row: duplicates are summed below
        else:
            dense = np.asarray(matrix).reshape(-1)
            columns = np.flatnonzero(dense)
            data = dense[columns]
        indices.append(columns.astype(np.int64, copy=False) + offset)
        values.append(data.astype(np.float64, copy=False))
        offset += matrix.shape[-1]
    if not indices:
        return np.empty(0, np.int64), np.empty(0, np.float64), 0
    return np.concatenate(indices), np.concatenate(values), offset


def sentence_matrix(messages: List[Message]) -> scipy.sparse.csr_matrix:
    """One row per message: its sparse sentence features, then its dense ones, side by side."""
    rows = [_row(message) for message in messages]
    widths = {width for _, _, width in rows}
    if len(widths) > 1:
        raise ValueError(f"messages have different feature widths: {sorted(widths)}")
    width = widths.pop() if widths else 0
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(columns) for columns, _, _ in rows])
    indices = np.concatenate([columns for columns, _, _ in rows]) if rows else np.empty(0, np.int64)
    data = np.concatenate([values for _, values, _ in rows]) if rows else np.empty(0, np.float64)
    matrix = scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))
    matrix.sum_duplicates()  # sorted, duplicate-free indices, as scipy's hstack gives
    return matrix


def _create_X(self: Any, messages: List[Message]) -> scipy.sparse.csr_matrix:  # noqa: N802 (Rasa's name)
    return sentence_matrix(messages)


def install() -> None:
    """Make ``LogisticRegressionClassifier`` build its matrix with :func:`sentence_matrix`."""
    LogisticRegressionClassifier._create_X = _create_X
