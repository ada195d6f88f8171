"""Model files load only when every type in them is trusted."""

import numpy as np
import pytest
import scipy.sparse
from sklearn.linear_model import LogisticRegression

from bot.nlu.model_files import UntrustedModelFile, dump_model, load_model


def test_a_scikit_learn_model_round_trips(tmp_path) -> None:
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    dump_model(model, tmp_path / "model.skops")
    again = load_model(tmp_path / "model.skops")
    assert again.predict([[0.2], [2.8]]).tolist() == [0, 1]


def test_a_type_not_trusted_is_refused_and_an_allowed_one_loads(tmp_path) -> None:
    matrix = scipy.sparse.csr_matrix(np.eye(2))
    dump_model({"idf": matrix}, tmp_path / "model.skops")
    with pytest.raises(UntrustedModelFile) as refused:
        load_model(tmp_path / "model.skops")
    assert refused.value.unexpected == ["scipy.sparse._csr.csr_matrix"]
    loaded = load_model(tmp_path / "model.skops", {"scipy.sparse._csr.csr_matrix"})
    assert (loaded["idf"] != matrix).nnz == 0
