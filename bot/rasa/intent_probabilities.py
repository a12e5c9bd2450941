"""Intent probabilities of the logistic-regression classifier without scikit-learn's input checks.

``LogisticRegression.predict_proba`` re-validates its input on every call (``check_array`` and
friends), which for one message costs far more than the product it guards: about 0.5 ms of the
Rasa process's CPU per parse (docs/benchmarks.md). The feature matrix comes from
:mod:`bot.rasa.sentence_matrix` (a float64 CSR matrix), so :func:`multinomial_probabilities`
computes what scikit-learn computes for a multinomial model — the same ``safe_sparse_dot`` plus
intercept, the same ``softmax`` — and hands anything else (a one-vs-rest or binary model, another
matrix type, a column count that does not match, which scikit-learn reports as an error) to
scikit-learn.

:func:`install` makes every ``LogisticRegressionClassifier`` loaded from a model use it.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import safe_sparse_dot, softmax

ORIGINAL_LOAD = LogisticRegressionClassifier.load.__func__


def is_multinomial(clf: LogisticRegression) -> bool:
    """Whether scikit-learn's ``predict_proba`` takes its softmax branch for ``clf`` (>2 classes)."""
    ovr = clf.multi_class in ("ovr", "warn") or (
        clf.multi_class == "auto" and (clf.classes_.size <= 2 or clf.solver == "liblinear"))
    return not ovr and clf.coef_.shape[0] > 1


def multinomial_probabilities(clf: LogisticRegression, X: Any) -> np.ndarray:
    """``clf.predict_proba(X)``, computed directly when ``X`` is a float64 CSR matrix of the right width."""
    if (not is_multinomial(clf) or not scipy.sparse.isspmatrix_csr(X) or X.dtype != np.float64
            or X.shape[1] != clf.coef_.shape[1]):
        return LogisticRegression.predict_proba(clf, X)
    scores = safe_sparse_dot(X, clf.coef_.T, dense_output=True) + clf.intercept_
    return softmax(scores, copy=False)


def _load(cls: Any, *args: Any, **kwargs: Any) -> LogisticRegressionClassifier:
    component = ORIGINAL_LOAD(cls, *args, **kwargs)
    clf = getattr(component, "clf", None)
    if isinstance(clf, LogisticRegression) and hasattr(clf, "coef_"):
        clf.predict_proba = functools.partial(multinomial_probabilities, clf)
    return component


def install() -> None:
    """Classifiers loaded from now on compute their probabilities with :func:`multinomial_probabilities`."""
    LogisticRegressionClassifier.load = classmethod(_load)
