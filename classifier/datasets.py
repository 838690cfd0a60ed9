"""Toy 2-D classification data sets, generated in NumPy and deterministic per seed.

Every generator draws a clean shape whose extent is about [-1.5, 1.5] and then adds
isotropic Gaussian jitter of standard deviation ``noise`` to the coordinates, so the
meaning of ``noise`` is the same for every shape.

A data set is split at random into train, validation and test parts (the validation
part is empty unless ``val_fraction`` > 0; the test part is drawn first, so adding a
validation set takes its points from the training set only). Two switches serve the
feature-scaling lesson:

* ``badly_scaled`` multiplies the first coordinate by ``BAD_SCALE`` (100) before the
  split: the loss surface becomes a long thin valley in the first-layer weights.
* ``normalize`` standardises each feature with the TRAINING set's statistics,
  x' = (x - mean_train) / std_train, and applies the same statistics to the test set
  (and to any point a page asks about, e.g. the decision-boundary grid), as one must
  when the test set stands for unseen data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

MAX_POINTS = 5000
MIN_POINTS = 20
BAD_SCALE = 100.0
BLOB_SPREAD = 0.3  # standard deviation of a clean blob, before the added noise

Generator = Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    title: str
    classes: tuple[int, ...]  # the class counts this shape supports
    generate: Generator  # (n, n_classes, rng) -> (clean points (n, 2), labels (n,))
    lesson: str


@dataclass(frozen=True, eq=False)
class Dataset:
    """Raw points and labels of a train/validation/test split, and the affine map into model inputs.

    Model inputs are (raw - shift) / scale; shift = 0, scale = 1 without normalisation.
    Plots use raw coordinates; training uses ``x_train`` / ``x_test``.
    """

    name: str
    n_classes: int
    x_train_raw: np.ndarray  # (n_train, 2) float32
    y_train: np.ndarray  # (n_train,) int32
    x_test_raw: np.ndarray
    y_test: np.ndarray
    shift: np.ndarray  # (2,) float32
    scale: np.ndarray  # (2,) float32
    normalized: bool = False
    badly_scaled: bool = False
    x_val_raw: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    y_val: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int32))

    def transform(self, x_raw: np.ndarray) -> np.ndarray:
        """Raw coordinates -> model inputs (the training statistics, whatever x_raw is)."""
        return ((np.asarray(x_raw, np.float32) - self.shift) / self.scale).astype(np.float32)

    @property
    def x_train(self) -> np.ndarray:
        return self.transform(self.x_train_raw)

    @property
    def x_test(self) -> np.ndarray:
        return self.transform(self.x_test_raw)

    @property
    def x_val(self) -> np.ndarray:
        return self.transform(self.x_val_raw)

    @property
    def n_val(self) -> int:
        """Validation points (0: no validation set; the test set is then the held-out set)."""
        return int(self.y_val.shape[0])

    @property
    def n_train(self) -> int:
        return int(self.y_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.y_test.shape[0])

    def bounds(self, margin: float = 0.1) -> tuple[tuple[float, float], tuple[float, float]]:
        """Raw-coordinate box around all points, widened by ``margin`` of each side."""
        pts = np.concatenate([self.x_train_raw, self.x_val_raw, self.x_test_raw])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = margin * np.maximum(hi - lo, 1e-6)
        return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def _class_sizes(n: int, n_classes: int) -> np.ndarray:
    """n split as evenly as possible; the first classes take the remainder."""
    sizes = np.full(n_classes, n // n_classes)
    sizes[: n % n_classes] += 1
    return sizes


def _labels(n: int, n_classes: int) -> np.ndarray:
    return np.repeat(np.arange(n_classes), _class_sizes(n, n_classes)).astype(np.int32)


def _moons(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (scikit-learn's make_moons shape), centred at 0."""
    y = _labels(n, 2)
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(y[:, None] == 0, upper, lower) - np.array([0.5, 0.25])
    return x, y


def _circles(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A ring of radius 1 around a ring of radius 0.5."""
    y = _labels(n, 2)
    t = rng.uniform(0.0, 2.0 * np.pi, n)
    r = np.where(y == 0, 1.0, 0.5)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1), y


def _xor(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on [-1, 1]^2, class 1 where the two coordinates have the same sign
    (drawn per class, so the classes are balanced)."""
    y = _labels(n, 2)
    magnitude = rng.uniform(0.0, 1.0, (n, 2))
    sign = rng.choice([-1.0, 1.0], n)
    second = np.where(y == 1, sign, -sign)
    return magnitude * np.stack([sign, second], axis=1), y


def _spirals(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n_classes interleaved arms: radius r in (0, 1.5], angle 2*pi*k/K + 1.75 turns * r/1.5."""
    y = _labels(n, n_classes)
    r = 1.5 * np.sqrt(rng.uniform(0.02, 1.0, n))  # sqrt: even density along the arm
    angle = 2.0 * np.pi * y / n_classes + 3.5 * np.pi * r / 1.5
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1), y


def _blobs(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs (std BLOB_SPREAD) centred on a circle of radius 1."""
    y = _labels(n, n_classes)
    phase = np.pi / 4 if n_classes == 2 else np.pi / 2
    angles = phase + 2.0 * np.pi * np.arange(n_classes) / n_classes
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres[y] + BLOB_SPREAD * rng.standard_normal((n, 2)), y


ROW_SPREAD = 0.15  # of a clean blob of the row
ROW_ORDER = (0, 2, 1)  # left to right: classes 1, 3, 2 (1-based), so 1 and 3 are neighbours


def _row(n: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three blobs in a row at x1 = -1, 0, 1 holding classes 1, 3, 2 (labels 0, 2, 1): the
    class numbers are not in the order of the plane, as one-hot targets assume nothing."""
    y = _labels(n, 3)
    position = np.asarray(ROW_ORDER).argsort()[y] - 1.0  # label -> its place in the row
    return np.stack([position, np.zeros(n)], axis=1) + ROW_SPREAD * rng.standard_normal((n, 2)), y


DATASETS: dict[str, DatasetSpec] = {
    spec.key: spec
    for spec in (
        DatasetSpec("moons", "Two moons", (2,), _moons, "Not linearly separable: needs a hidden layer."),
        DatasetSpec("circles", "Circles", (2,), _circles, "A closed boundary: a ring inside a ring."),
        DatasetSpec("xor", "XOR", (2,), _xor, "The classic problem a single layer cannot solve."),
        DatasetSpec("spirals", "Spirals", (2, 3), _spirals, "Hard: arms wind around each other."),
        DatasetSpec("blobs", "Gaussian blobs", (2, 3), _blobs, "Nearly linearly separable clusters."),
        DatasetSpec("row", "Three blobs in a row", (3,), _row, "Classes 1, 3, 2 from left to right."),
    )
}


def names() -> list[str]:
    return list(DATASETS)


def standardization(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per feature of the training points; std floored so constant features stay finite."""
    mean = x_train.mean(axis=0)
    std = np.maximum(x_train.std(axis=0), 1e-8)
    return mean.astype(np.float32), std.astype(np.float32)


def make_dataset(
    name: str = "moons",
    n_points: int = 1000,
    noise: float = 0.1,
    test_fraction: float = 0.3,
    seed: int = 0,
    n_classes: int = 2,
    badly_scaled: bool = False,
    normalize: bool = False,
    val_fraction: float = 0.0,
) -> Dataset:
    """Generate ``n_points`` points of a shape, jitter them, split them train/validation/test
    (sizes round(test_fraction * n), round(val_fraction * n) and the rest, which add up to n).

    All arguments are plain numbers, so a page can cache on them.
    """
    spec = DATASETS[name]
    if n_classes not in spec.classes:
        raise ValueError(f"{name} supports {spec.classes} classes, not {n_classes}")
    if not MIN_POINTS <= n_points <= MAX_POINTS:
        raise ValueError(f"n_points must be in [{MIN_POINTS}, {MAX_POINTS}]")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    if not 0.0 <= val_fraction < 1.0 or test_fraction + val_fraction >= 1.0:
        raise ValueError("val_fraction must be in [0, 1) and leave training points next to the test share")
    if noise < 0:
        raise ValueError("noise must be >= 0")
    rng = np.random.default_rng(seed)
    x, y = spec.generate(n_points, n_classes, rng)
    x = x + noise * rng.standard_normal(x.shape)
    if badly_scaled:
        x = x * np.array([BAD_SCALE, 1.0])
    order = rng.permutation(n_points)
    n_test = min(max(int(round(test_fraction * n_points)), 1), n_points - 1)
    n_val = min(int(round(val_fraction * n_points)), n_points - n_test - 1)
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    x = x.astype(np.float32)
    x_train, x_test = x[train], x[test]
    if normalize:
        shift, scale = standardization(x_train)
    else:
        shift, scale = np.zeros(2, np.float32), np.ones(2, np.float32)
    return Dataset(
        name=name,
        n_classes=n_classes,
        x_train_raw=x_train,
        y_train=y[train].astype(np.int32),
        x_test_raw=x_test,
        y_test=y[test].astype(np.int32),
        shift=shift,
        scale=scale,
        normalized=normalize,
        badly_scaled=badly_scaled,
        x_val_raw=x[val],
        y_val=y[val].astype(np.int32),
    )
