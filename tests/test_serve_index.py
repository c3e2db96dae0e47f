"""serve.index: facets counted together through joint codes and bitmaps, against each facet counted alone."""

from __future__ import annotations

import numpy as np
import pytest

from photolake.sample.lake import LakeShape, generate_lake
from photolake.serve import index, store
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


def test_object_facets_from_bitmaps_or_entries_agree(tmp_path, monkeypatch):
    generate_lake(tmp_path / "lake", LakeShape(photos=400, images=0, seed=5))
    by_bitmaps = store.load(str(tmp_path / "lake"), str(tmp_path / "cache")).index
    monkeypatch.setattr(index, "BITS_MOST", 1)  # more classes than that: counted from each photo's entries
    by_entries = store.load(str(tmp_path / "lake"), str(tmp_path / "other-cache")).index
    assert by_bitmaps.object_maps is not None and by_entries.object_maps is None
    rng = np.random.default_rng(2)
    for share in (0.05, 0.3, 0.8):  # a few photos' entries; the mask at every entry; everyone's less the rest
        mask = rng.random(400) < share
        total, counts = by_bitmaps.facets(mask)
        assert (total, counts) == by_entries.facets(mask) and counts["objects"] and counts["colors"]
        objects = np.bincount(by_entries.objects.by_photo[np.isin(by_entries.object_entry_pid, np.flatnonzero(mask))],
                              minlength=len(by_entries.objects.names))
        assert {f["value"]: f["count"] for f in counts["objects"]} == {
            str(name): int(n) for name, n in zip(by_entries.objects.names, objects) if n}
    assert by_bitmaps.facets(None) == by_entries.facets(None)
