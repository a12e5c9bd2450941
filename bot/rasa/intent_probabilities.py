"""Intent probabilities of the logistic-regression classifier without scikit-learn's input checks.

``LogisticRegression.predict_proba`` re-validates its input on every call (``check_array`` and
friends), which for one message costs far more than the product it guards: about 0.5 ms of the
Rasa process's CPU per parse (docs/benchmarks.md). The feature matrix comes from
:mod:`bot.rasa.sentence_matrix` (a float64 CSR matrix), so :class:`Probabilities` computes what scikit-learn computes for a multinomial model — the same ``safe_sparse_dot`` plus
intercept, the same ``softmax`` — and hands anything else (a one-vs-rest or binary model, another
matrix type, a column count that does not match, which scikit-learn reports as an error) to
scikit-learn.

:func:`install` makes every ``LogisticRegressionClassifier`` loaded from a model use it.
"""
from __future__ import annotations

from typing import Any, Optional

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


class Probabilities:
    """``clf.predict_proba``, computed directly when the input allows (see the module docstring).

    Holds the coefficients transposed into a C-ordered array: scipy's sparse-times-dense product
    needs one and would otherwise copy ``coef_.T`` (a few MB) on every call. The copy, and whether
    the model is multinomial at all, are worked out again only when the model's ``coef_`` is replaced.
    """

    def __init__(self, clf: LogisticRegression) -> None:
        self.clf = clf
        self._coef = None
        self._coef_t: Optional[np.ndarray] = None  # None: scikit-learn computes

    def _transposed(self) -> Optional[np.ndarray]:
        """The C-ordered transposed coefficients, or None when the model is not multinomial."""
        if self._coef is not self.clf.coef_:
            self._coef = self.clf.coef_
            self._coef_t = np.ascontiguousarray(self._coef.T) if is_multinomial(self.clf) else None
        return self._coef_t

    def __call__(self, X: Any) -> np.ndarray:
        clf = self.clf
        coef_t = self._transposed()
        if (coef_t is None or not scipy.sparse.isspmatrix_csr(X) or X.dtype != np.float64
                or X.shape[1] != coef_t.shape[0]):
            return LogisticRegression.predict_proba(clf, X)
        scores = safe_sparse_dot(X, coef_t, dense_output=True) + clf.intercept_
        return softmax(scores, copy=False)


def _load(cls: Any, *args: Any, **kwargs: Any) -> LogisticRegressionClassifier:
    component = ORIGINAL_LOAD(cls, *args, **kwargs)
    clf = getattr(component, "clf", None)
    if isinstance(clf, LogisticRegression) and hasattr(clf, "coef_"):
        clf.predict_proba = Probabilities(clf)
    return component


def install() -> None:
    """Classifiers loaded from now on compute their probabilities with :class:`Probabilities`."""
    LogisticRegressionClassifier.load = classmethod(_load)
