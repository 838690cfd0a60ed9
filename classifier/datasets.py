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

Your own data (``parse_csv``, ``from_csv``; ``to_csv`` writes any data set in the same
format) is a CSV file of at most ``MAX_POINTS`` rows and 1 MB:

* a header row naming the columns ``x1``, ``x2`` and ``label``, in any order (spaces
  around a name and its case do not matter); no other column;
* commas between values (a file separated by semicolons, tabs or bars, as some
  spreadsheets export, is refused by name rather than misread);
* x1 and x2 finite numbers of magnitude at most ``MAX_ABS`` (no unit: the normalize
  switch is there for any scale);
* 2 or 3 distinct labels, integers or text: sorted (as numbers if all are integers) they
  become classes 0, 1, 2, and the names are kept for the legend and the download;
* at least ``MIN_POINTS`` rows and ``MIN_PER_CLASS`` per class, so a split leaves each
  class something to learn and something to test; blank rows are skipped;
* UTF-8 (with or without a byte-order mark), or GB18030/GBK, which a Chinese Excel
  writes: the labels are the only place where the encoding shows.

Anything else raises ``CsvError`` (a ``ValueError``) naming the first problem and where
it is, with row numbers as a spreadsheet shows them (the header is row 1). The text is
parsed by the ``csv`` module; nothing in a file is ever evaluated. The split is the one
``make_dataset`` does, drawn from ``default_rng(seed)``: test, validation, then training.
"""
from __future__ import annotations

import codecs
import csv
import enum
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from catalog import t
from catalog import echo

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
    class_names: tuple[str, ...] = ()  # an uploaded file's labels, by class index (empty: 0, 1, 2)

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
    _check_shares(test_fraction, val_fraction)
    if noise < 0:
        raise ValueError("noise must be >= 0")
    rng = np.random.default_rng(seed)
    x, y = spec.generate(n_points, n_classes, rng)
    x = x + noise * rng.standard_normal(x.shape)
    return _split(x, y, rng, name=name, n_classes=n_classes, test_fraction=test_fraction, val_fraction=val_fraction,
                  badly_scaled=badly_scaled, normalize=normalize)


def _check_shares(test_fraction: float, val_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    if not 0.0 <= val_fraction < 1.0 or test_fraction + val_fraction >= 1.0:
        raise ValueError("val_fraction must be in [0, 1) and leave training points next to the test share")


def _split(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, name: str, n_classes: int,
           test_fraction: float, val_fraction: float, badly_scaled: bool, normalize: bool,
           class_names: tuple[str, ...] = ()) -> Dataset:
    """Points (n, 2) and labels (n,) -> a Dataset: stretch x1 if ``badly_scaled``, then one
    permutation from ``rng`` gives the test, validation and training parts in that order."""
    n_points = int(y.shape[0])
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
        class_names=class_names,
    )


# ---------------------------------------------------------------------------------------
# Your own data: a CSV file with the columns x1, x2 and label (see the module docstring)

CSV = "csv"  # the name of an uploaded data set (the Classifier page's c.data value)
COLUMNS = ("x1", "x2", "label")
MIN_CLASSES, MAX_CLASSES = 2, 3
MIN_PER_CLASS = 5  # fewer cannot be both learned and tested
MAX_BYTES = 1 << 20  # the upload limit the app sets (server.maxUploadSize = 1, in MB)
MAX_ABS = 1e6  # a coordinate's largest magnitude: past it float32 training loses its digits
KEPT_CHARS = 100  # of a bad value kept in the error (the page shows 40 of them)
_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "bar"}  # another spreadsheet export's separators
_SPREADSHEETS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # zip (.xlsx, .ods) and OLE (.xls) files
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in no text file: binary data
_INTEGER = re.compile(r"[+-]?\d+")


class CsvProblem(str, enum.Enum):
    """What is wrong with a file; the catalog key is ``classifier.csv.error.<value>``."""

    EMPTY = "empty"
    TOO_BIG = "too_big"  # params: size, most (bytes)
    SPREADSHEET = "spreadsheet"
    NOT_TEXT = "not_text"
    UTF16 = "utf16"
    ENCODING = "encoding"  # row
    UNREADABLE = "unreadable"  # row
    SEPARATOR = "separator"  # separator (a SEPARATOR_NAMES value)
    NO_HEADER = "no_header"  # value (the first row)
    MISSING_COLUMN = "missing_column"  # column
    EXTRA_COLUMN = "extra_column"  # column (as the file spells it)
    UNNAMED_COLUMN = "unnamed_column"  # position (1-based)
    DUPLICATE_COLUMN = "duplicate_column"  # column
    HEADER_ONLY = "header_only"
    TOO_MANY_ROWS = "too_many_rows"  # rows, most
    FIELD_COUNT = "field_count"  # row, found, expected
    EMPTY_CELL = "empty_cell"  # row, column
    NOT_A_NUMBER = "not_a_number"  # row, column, value
    NOT_FINITE = "not_finite"  # row, column, value
    TOO_LARGE = "too_large"  # row, column, value, most
    ONE_CLASS = "one_class"  # label
    TOO_MANY_CLASSES = "too_many_classes"  # count, labels (the first four), most
    TOO_FEW_ROWS = "too_few_rows"  # rows, least
    SMALL_CLASS = "small_class"  # label, count, least


SEPARATOR_NAMES = ("semicolon", "tab", "bar", "space")  # catalog: classifier.csv.separator.<name>
# Parameters that came from the file: shown back as inert code (catalog.echo), never as Markdown.
_FROM_FILE = ("value", "column", "label")


class CsvError(ValueError):
    """A file refused, with why: ``problem`` (its catalog key is ``key``) and ``params``
    (row numbers count the file's lines, the header being row 1, as a spreadsheet or a
    text editor numbers them). ``str()`` is the message in the current language, every
    piece of the file's own text in it shown as a code span."""

    def __init__(self, problem: CsvProblem, **params: Any) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.params = params

    @property
    def key(self) -> str:
        return f"classifier.csv.error.{self.problem.value}"

    def __str__(self) -> str:
        p = dict(self.params)
        for k in _FROM_FILE:
            if k in p:
                p[k] = echo.code(p[k])
        if "labels" in p:
            more = ", …" if p.get("count", 0) > len(p["labels"]) else ""
            p["labels"] = ", ".join(echo.code(label, 20) for label in p["labels"]) + more
        if "separator" in p:
            p["separator"] = t(f"classifier.csv.separator.{p['separator']}")
        return t(self.key, **p)


class CsvTable(NamedTuple):
    """A parsed file: points, class indices 0..K-1, and each class's label as the file wrote it."""

    x: np.ndarray  # (n, 2) float32
    labels: np.ndarray  # (n,) int32
    class_names: tuple[str, ...]


def _decode(data: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark is dropped), else GB18030 (a superset of
    GBK, what a Chinese Excel saves as "CSV"); anything else is refused, and so is
    binary data."""
    if len(data) > MAX_BYTES:
        raise CsvError(CsvProblem.TOO_BIG, size=len(data), most=MAX_BYTES)
    if data.startswith(_SPREADSHEETS):
        raise CsvError(CsvProblem.SPREADSHEET)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvError(CsvProblem.UTF16)
    if b"\x00" in data:
        raise CsvError(CsvProblem.NOT_TEXT)
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise CsvError(CsvProblem.ENCODING, row=data.count(b"\n", 0, utf8.start) + 1) from None


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(row number, fields) of every row that is not blank (blank rows count in the numbering)."""
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    row = 0
    try:
        for row, fields in enumerate(reader, 1):
            if any(f.strip() for f in fields):
                out.append((row, fields))
    except csv.Error:
        raise CsvError(CsvProblem.UNREADABLE, row=row + 1) from None
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _separator(field: str) -> None:
    """A whole row read as one field: refused by name if another separator splits it."""
    for sep, name in _SEPARATORS.items():
        if sep in field:
            raise CsvError(CsvProblem.SEPARATOR, separator=name)
    if len(field.split()) > 1:
        raise CsvError(CsvProblem.SEPARATOR, separator="space")


def _columns(header: list[str]) -> tuple[int, ...]:
    """The positions of x1, x2 and label in the header (names matched without case or
    surrounding spaces, in any order), or why the header is refused."""
    if len(header) == 1:
        _separator(header[0])
    names = [h.strip().lower() for h in header]
    if not set(names) & set(COLUMNS) and any(_is_number(h) for h in header):
        raise CsvError(CsvProblem.NO_HEADER, value=",".join(header)[:KEPT_CHARS])
    for i, name in enumerate(names):
        if not name:
            raise CsvError(CsvProblem.UNNAMED_COLUMN, position=i + 1)
        if name not in COLUMNS:
            raise CsvError(CsvProblem.EXTRA_COLUMN, column=header[i].strip()[:KEPT_CHARS])
        if names.count(name) > 1:
            raise CsvError(CsvProblem.DUPLICATE_COLUMN, column=name)
    for name in COLUMNS:
        if name not in names:
            raise CsvError(CsvProblem.MISSING_COLUMN, column=name)
    return tuple(names.index(name) for name in COLUMNS)


def _coordinate(cell: str, row: int, column: str) -> float:
    text = cell.strip()
    if not text:
        raise CsvError(CsvProblem.EMPTY_CELL, row=row, column=column)
    try:
        value = float(text)
    except ValueError:
        raise CsvError(CsvProblem.NOT_A_NUMBER, row=row, column=column, value=text[:KEPT_CHARS]) from None
    if not math.isfinite(value):
        raise CsvError(CsvProblem.NOT_FINITE, row=row, column=column, value=text[:KEPT_CHARS])
    if abs(value) > MAX_ABS:
        raise CsvError(CsvProblem.TOO_LARGE, row=row, column=column, value=text[:KEPT_CHARS], most=MAX_ABS)
    return value


def _classes(raw: list[str], rows: list[int]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices: the distinct labels sorted (as integers if every label is one, so
    -1 < 1 < 10; else as text) are classes 0, 1, 2."""
    if all(_INTEGER.fullmatch(label) for label in raw):
        keys: list[Any] = [int(label) for label in raw]
    else:
        keys = raw
    distinct = sorted(set(keys))
    names = tuple(str(k) for k in distinct)
    if len(distinct) < MIN_CLASSES:
        raise CsvError(CsvProblem.ONE_CLASS, label=names[0][:KEPT_CHARS])
    if len(distinct) > MAX_CLASSES:
        raise CsvError(CsvProblem.TOO_MANY_CLASSES, count=len(distinct), labels=[n[:KEPT_CHARS] for n in names[:4]],
                       most=MAX_CLASSES)
    index = {k: i for i, k in enumerate(distinct)}
    labels = np.array([index[k] for k in keys], np.int32)
    if len(rows) < MIN_POINTS:
        raise CsvError(CsvProblem.TOO_FEW_ROWS, rows=len(rows), least=MIN_POINTS)
    counts = np.bincount(labels, minlength=len(distinct))
    for i, count in enumerate(counts):
        if count < MIN_PER_CLASS:
            raise CsvError(CsvProblem.SMALL_CLASS, label=names[i][:KEPT_CHARS], count=int(count), least=MIN_PER_CLASS)
    return labels, names


def parse_csv(text_or_bytes: str | bytes) -> CsvTable:
    """A CSV file's points, class indices and class labels, or ``CsvError`` saying what
    is wrong (the first problem found, in the order: the file, the header, the number of
    rows, each row top to bottom, the classes)."""
    if isinstance(text_or_bytes, str):
        if len(text_or_bytes) > MAX_BYTES:
            raise CsvError(CsvProblem.TOO_BIG, size=len(text_or_bytes.encode("utf-8")), most=MAX_BYTES)
        text = text_or_bytes.removeprefix("\ufeff")
    else:
        text = _decode(bytes(text_or_bytes))
    if _CONTROL.search(text):
        raise CsvError(CsvProblem.NOT_TEXT)
    records = _records(text)
    if not records:
        raise CsvError(CsvProblem.EMPTY)
    (_, header), body = records[0], records[1:]
    where = _columns(header)
    if not body:
        raise CsvError(CsvProblem.HEADER_ONLY)
    if len(body) > MAX_POINTS:
        raise CsvError(CsvProblem.TOO_MANY_ROWS, rows=len(body), most=MAX_POINTS)
    x = np.empty((len(body), 2), np.float64)
    raw: list[str] = []
    for i, (row, fields) in enumerate(body):
        if len(fields) != len(COLUMNS):
            if len(fields) == 1:
                _separator(fields[0])
            raise CsvError(CsvProblem.FIELD_COUNT, row=row, found=len(fields), expected=len(COLUMNS))
        x[i] = [_coordinate(fields[where[j]], row, COLUMNS[j]) for j in (0, 1)]
        label = fields[where[2]].strip()
        if not label:
            raise CsvError(CsvProblem.EMPTY_CELL, row=row, column=COLUMNS[2])
        raw.append(label)
    labels, names = _classes(raw, [row for row, _ in body])
    return CsvTable(x.astype(np.float32), labels, names)


def _from_table(table: CsvTable, test_fraction: float, seed: int, normalize: bool, val_fraction: float,
                badly_scaled: bool) -> Dataset:
    _check_shares(test_fraction, val_fraction)
    return _split(table.x, table.labels, np.random.default_rng(seed), name=CSV, n_classes=len(table.class_names),
                  test_fraction=test_fraction, val_fraction=val_fraction, badly_scaled=badly_scaled,
                  normalize=normalize, class_names=table.class_names)


def from_csv(text_or_bytes: str | bytes, *, test_fraction: float = 0.3, seed: int = 0, normalize: bool = False,
             val_fraction: float = 0.0, badly_scaled: bool = False) -> Dataset:
    """A data set from a CSV file (``parse_csv``), split as ``make_dataset`` splits its
    points: the same seed gives the same permutation of the rows. Raises ``CsvError``."""
    return _from_table(parse_csv(text_or_bytes), test_fraction, seed, normalize, val_fraction, badly_scaled)


def to_csv(data: Dataset) -> str:
    """Every point of a data set (training, validation, then test points), in raw
    coordinates, as a CSV file ``from_csv`` reads back: the header x1,x2,label, then one
    row per point with 9 significant digits (a float32 exactly) and the label (the class
    index, or an uploaded file's own label)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for x, y in ((data.x_train_raw, data.y_train), (data.x_val_raw, data.y_val), (data.x_test_raw, data.y_test)):
        for (a, b), k in zip(x.tolist(), y.tolist()):
            writer.writerow((f"{a:.9g}", f"{b:.9g}", data.class_names[k] if data.class_names else k))
    return out.getvalue()


@dataclass(frozen=True)
class Upload:
    """An uploaded file, parsed once: what a session keeps (in memory, never on disk).
    Equal, hashed and printed by the SHA-256 of its bytes alone, so a cache key holding an
    Upload is as short as a digest and two sessions with the same file share results."""

    digest: str
    table: CsvTable = field(repr=False, compare=False)
    file_name: str = field(default="", compare=False, repr=False)

    @classmethod
    def read(cls, content: str | bytes, file_name: str = "") -> "Upload":
        """Parse a file (``CsvError`` if it is refused)."""
        raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return cls(hashlib.sha256(raw).hexdigest(), parse_csv(content), file_name)

    @property
    def n_rows(self) -> int:
        return int(self.table.labels.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.table.class_names)

    def dataset(self, *, test_fraction: float = 0.3, seed: int = 0, normalize: bool = False,
                val_fraction: float = 0.0, badly_scaled: bool = False) -> Dataset:
        """The file's points split as ``from_csv`` splits them."""
        return _from_table(self.table, test_fraction, seed, normalize, val_fraction, badly_scaled)
