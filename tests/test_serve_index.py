"""serve.index: facets counted together through joint codes, against each facet counted alone."""

from __future__ import annotations

import numpy as np
import pytest

from photolake.serve import index
from photolake.serve.index import FACET_COLUMNS, Coded, joint_codes


@pytest.mark.parametrize("joint_most", [index.JOINT_MOST, 200, 1])  # all in one; split in two; one each
def test_joint_codes_count_each_facet_as_alone(monkeypatch, joint_most):
    monkeypatch.setattr(index, "JOINT_MOST", joint_most)
    rng = np.random.default_rng(3)
    sizes = {"camera_make": 30, "country": 12, "orientation": 3}
    coded = {column: Coded(rng.integers(-1, size, 5000).astype(np.int32), np.array([f"v{n}" for n in range(size)]),
                           {}) for column, size in sizes.items()}
    groups = joint_codes(coded)
    assert [len(facets) for facets, _ in groups] == {index.JOINT_MOST: [3], 200: [1, 2], 1: [1, 1, 1]}[joint_most]
    chosen = rng.choice(5000, 1200, replace=False)
    for facets, codes in groups:
        shape = [sizes[FACET_COLUMNS[facet]] + 1 for facet in facets]
        joint = np.bincount(codes[chosen], minlength=int(np.prod(shape))).reshape(shape)
        for axis, facet in enumerate(facets):
            alone = np.bincount(coded[FACET_COLUMNS[facet]].codes[chosen] + 1, minlength=shape[axis])
            assert joint.sum(axis=tuple(a for a in range(len(shape)) if a != axis)).tolist() == alone.tolist()
