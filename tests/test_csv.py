"""Your own data (issue 18): a CSV file of x1, x2, label becomes a data set on the
Classifier page. Every bad file gets its own message, with the row and column where there
is one (rows as a spreadsheet numbers them, the header being row 1); good files of the
forms spreadsheets write are read exactly; the built-in data sets download in the same
format and read back point for point; the page keeps every setting through a bad file."""
from __future__ import annotations

import contextvars
import io
import re
import zipfile

import numpy as np
import pytest

import catalog
from classifier import datasets
from classifier.datasets import CsvError, CsvProblem
from experiments import classifier as ex
from experiments.schema import Notice
from catalog import echo

P = CsvProblem


def rows(n: int, labels=("a", "b"), start: int = 0) -> list[str]:
    """n data rows, labels taken in turn, coordinates 0.5 * i and -i."""
    return [f"{0.5 * i},{-i},{labels[i % len(labels)]}" for i in range(start, start + n)]


def file(*lines: str, header: str = "x1,x2,label", end: str = "\n") -> str:
    return end.join([header, *lines]) + end


GOOD = file(*rows(30))  # 30 rows, classes a and b


def refused(content: str | bytes) -> CsvError:
    with pytest.raises(CsvError) as info:
        datasets.parse_csv(content)
    return info.value


def rendered(err: CsvError, language: str) -> str:
    """str(err) in a language, in a context of its own (the language is a context variable)."""
    def run() -> str:
        catalog.set_language(language)
        return str(err)
    return contextvars.copy_context().run(run)


def with_row(n_rows: int, row: int, line: str) -> str:
    """GOOD-like file of n_rows data rows whose file row ``row`` (header = row 1) is ``line``."""
    body = rows(n_rows)
    body[row - 2] = line
    return file(*body)


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


# (file, problem, params the error must carry): one line per case of the issue and more.
BAD = {
    "empty": (b"", P.EMPTY, {}),
    "blank lines only": ("\n  \n,,\n", P.EMPTY, {}),
    "header only": ("x1,x2,label\n", P.HEADER_ONLY, {}),
    "missing column": (file("1,a", "2,b", header="x1,label"), P.MISSING_COLUMN, {"column": "x2"}),
    "missing label": (file("1,2", header="x1,x2"), P.MISSING_COLUMN, {"column": "label"}),
    "extra column": (file("1,2,a,9", header="x1,x2,label,weight"), P.EXTRA_COLUMN, {"column": "weight"}),
    "misspelt column": (file("1,2,a", header="x1,x2,class"), P.EXTRA_COLUMN, {"column": "class"}),
    "unnamed column": (file("1,2,a,", header="x1,x2,label,"), P.UNNAMED_COLUMN, {"position": 4}),
    "duplicate column": (file("1,2,a", header="x1,X1,label"), P.DUPLICATE_COLUMN, {"column": "x1"}),
    "no header": ("\n".join(rows(30)), P.NO_HEADER, {"value": "0.0,0,a"}),
    "not a number": (with_row(30, 5, "1.5,abc,b"), P.NOT_A_NUMBER, {"row": 5, "column": "x2", "value": "abc"}),
    "decimal comma in quotes": (with_row(30, 7, '"1,5",2,a'), P.NOT_A_NUMBER,
                                {"row": 7, "column": "x1", "value": "1,5"}),
    "nan": (with_row(30, 3, "nan,1,a"), P.NOT_FINITE, {"row": 3, "column": "x1", "value": "nan"}),
    "inf": (with_row(30, 30, "1,-Infinity,a"), P.NOT_FINITE, {"row": 30, "column": "x2", "value": "-Infinity"}),
    "overflow": (with_row(30, 4, "1e999,1,a"), P.NOT_FINITE, {"row": 4, "column": "x1", "value": "1e999"}),
    "too large": (with_row(30, 6, "1,2.5e6,a"), P.TOO_LARGE, {"row": 6, "column": "x2", "value": "2.5e6",
                                                              "most": datasets.MAX_ABS}),
    "empty cell": (with_row(30, 9, "1,,a"), P.EMPTY_CELL, {"row": 9, "column": "x2"}),
    "empty label": (with_row(30, 10, "1,2, "), P.EMPTY_CELL, {"row": 10, "column": "label"}),
    "too many values": (with_row(30, 8, "1,5,2,a"), P.FIELD_COUNT, {"row": 8, "found": 4, "expected": 3}),
    "too few values": (with_row(30, 2, "1,2"), P.FIELD_COUNT, {"row": 2, "found": 2, "expected": 3}),
    "one class": (file(*rows(30, labels=("cat",))), P.ONE_CLASS, {"label": "cat"}),
    "four classes": (file(*rows(40, labels=("0", "1", "2", "3"))), P.TOO_MANY_CLASSES,
                     {"count": 4, "labels": ["0", "1", "2", "3"], "most": 3}),
    "a regression target": (file(*[f"{i},{i},{i * 0.1:.1f}" for i in range(50)]), P.TOO_MANY_CLASSES,
                            {"count": 50, "labels": ["0.0", "0.1", "0.2", "0.3"]}),
    "too many rows": (file(*rows(datasets.MAX_POINTS + 1)), P.TOO_MANY_ROWS,
                      {"rows": datasets.MAX_POINTS + 1, "most": datasets.MAX_POINTS}),
    "too few rows": (file(*rows(datasets.MIN_POINTS - 1)), P.TOO_FEW_ROWS,
                     {"rows": datasets.MIN_POINTS - 1, "least": datasets.MIN_POINTS}),
    "small class": (file(*rows(26, labels=("a",)), *rows(4, labels=("b",))), P.SMALL_CLASS,
                    {"label": "b", "count": 4, "least": datasets.MIN_PER_CLASS}),
    "not utf-8 nor gbk": ((GOOD.replace("\n0.5,-1,b", "\n0.5,-1,\udcff", 1)).encode("utf-8", "surrogateescape"),
                          P.ENCODING, {"row": 3}),
    "utf-16": (GOOD.encode("utf-16"), P.UTF16, {}),
    "semicolons": (GOOD.replace(",", ";"), P.SEPARATOR, {"separator": "semicolon"}),
    "semicolons below a comma header": ("x1,x2,label\n" + GOOD.replace(",", ";").split("\n", 1)[1], P.SEPARATOR,
                                        {"separator": "semicolon"}),
    "tabs": (GOOD.replace(",", "\t"), P.SEPARATOR, {"separator": "tab"}),
    "bars": (GOOD.replace(",", "|"), P.SEPARATOR, {"separator": "bar"}),
    "spaces": (GOOD.replace(",", " "), P.SEPARATOR, {"separator": "space"}),
    "a png": (PNG, P.NOT_TEXT, {}),
    "control characters": ("x1,x2,label\n\x01\x02,3,a\n", P.NOT_TEXT, {}),
    "an xlsx workbook": (xlsx_bytes(), P.SPREADSHEET, {}),
    "an xls workbook": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), P.SPREADSHEET, {}),
    "too big": (b"x1,x2,label\n" + b"1,2,a\n" * 200_000, P.TOO_BIG, {"most": datasets.MAX_BYTES}),
    "a field past the csv limit": (with_row(30, 4, "1,2," + "y" * 140_000), P.UNREADABLE, {"row": 4}),
}


@pytest.mark.parametrize("name", list(BAD))
def test_every_bad_file_gets_its_own_message(name):
    content, problem, params = BAD[name]
    err = refused(content)
    assert isinstance(err, ValueError)  # what the API promises
    assert err.problem is problem and err.key == f"classifier.csv.error.{problem.value}"
    assert {k: err.params.get(k) for k in params} == params
    en, zh = rendered(err, "en"), rendered(err, "zh")
    assert en and zh and en != zh and "{" not in en + zh
    assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en.replace("…", ""))
    if "row" in params:
        assert f"Row {params['row']}" in en and f"第 {params['row']} 行" in zh
    for k in ("column", "value", "label"):
        if k in params:  # the file's own text, shown as inert code in both languages
            assert f"`{params[k]}`" in en and f"`{params[k]}`" in zh


def test_a_bad_value_is_cut_and_shown_as_inert_code():
    value = "[click](http://evil.example) :red[" + "x" * 200
    err = refused(with_row(30, 3, f"1,{value},a"))
    assert err.problem is P.NOT_A_NUMBER and len(err.params["value"]) <= datasets.KEPT_CHARS
    shown = rendered(err, "en")
    span = echo.code(err.params["value"])
    assert span in shown and span.strip("`") == value[:39] + "…"  # catalog.echo's cut: 39 characters and "…"
    assert "](" not in shown.replace(span, "") and ":red[" not in shown.replace(span, "")  # all inside the span


def test_row_numbers_count_blank_lines_and_the_header_as_a_text_editor_does():
    lines = file(*rows(30)).splitlines()
    lines.insert(3, "")  # a blank line 4: skipped, but counted
    lines[10] = "1,oops,a"  # line 11 of the file
    err = refused("\n".join(lines) + "\n")
    assert err.params["row"] == 11


def test_too_many_classes_says_there_are_more():
    err = refused(file(*rows(60, labels=tuple("abcdefghij"))))
    assert err.params["count"] == 10 and err.params["labels"] == ["a", "b", "c", "d"]
    assert rendered(err, "en").count("`") == 8 and "…" in rendered(err, "en")
    assert "…" not in rendered(refused(BAD["four classes"][0]), "en")


# ---------------------------------------------------------------------------------------
# Good files


def test_a_plain_file_reads_exactly():
    table = datasets.parse_csv(GOOD)
    assert table.x.dtype == np.float32 and table.x.shape == (30, 2)
    assert table.labels.dtype == np.int32
    np.testing.assert_array_equal(table.x[:, 0], np.float32(0.5 * np.arange(30)))
    np.testing.assert_array_equal(table.x[:, 1], -np.arange(30, dtype=np.float32))
    np.testing.assert_array_equal(table.labels, np.arange(30) % 2)
    assert table.class_names == ("a", "b")


@pytest.mark.parametrize("form", ["bom", "crlf", "bom+crlf", "str", "cr", "trailing blank lines", "quoted"])
def test_the_forms_spreadsheets_write_read_the_same(form):
    base = datasets.parse_csv(GOOD)
    content: str | bytes = {
        "bom": b"\xef\xbb\xbf" + GOOD.encode(),
        "crlf": file(*rows(30), end="\r\n").encode(),
        "bom+crlf": b"\xef\xbb\xbf" + file(*rows(30), end="\r\n").encode(),
        "str": "\ufeff" + GOOD,
        "cr": file(*rows(30), end="\r").encode(),
        "trailing blank lines": GOOD + "\n\n,,\n",
        "quoted": file(*[",".join(f'"{c}"' for c in r.split(",")) for r in rows(30)], header='"x1","x2","label"'),
    }[form]
    table = datasets.parse_csv(content)
    np.testing.assert_array_equal(table.x, base.x)
    np.testing.assert_array_equal(table.labels, base.labels)
    assert table.class_names == base.class_names


def test_columns_in_any_order_any_case_with_spaces():
    body = [f"{r.split(',')[2]} , {r.split(',')[1]},{r.split(',')[0]}" for r in rows(30)]
    table = datasets.parse_csv(file(*body, header=" Label ,X2, x1"))
    base = datasets.parse_csv(GOOD)
    np.testing.assert_array_equal(table.x, base.x)
    np.testing.assert_array_equal(table.labels, base.labels)


def test_three_classes_and_integer_labels_sort_as_numbers():
    table = datasets.parse_csv(file(*rows(30, labels=("10", "-1", "2"))))
    assert table.class_names == ("-1", "2", "10")  # as numbers, not as text ("-1" < "10" < "2")
    np.testing.assert_array_equal(table.labels[:3], [2, 0, 1])


def test_text_labels_sort_as_text_and_may_hold_commas_in_quotes():
    table = datasets.parse_csv(file(*rows(30, labels=('"dog, big"', "cat", "ant"))))
    assert table.class_names == ("ant", "cat", "dog, big")
    np.testing.assert_array_equal(table.labels[:3], [2, 1, 0])


def test_a_chinese_excel_file_in_gbk_reads_its_labels():
    text = file(*rows(30, labels=("猫", "狗")))
    for content in (text.encode("gbk"), text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        assert datasets.parse_csv(content).class_names == tuple(sorted(("猫", "狗")))


def test_the_limits_are_inclusive():
    assert datasets.parse_csv(file(*rows(datasets.MAX_POINTS))).x.shape == (datasets.MAX_POINTS, 2)
    assert datasets.parse_csv(file(*rows(datasets.MIN_POINTS))).x.shape == (datasets.MIN_POINTS, 2)
    small = file(*rows(25, labels=("a",)), *rows(datasets.MIN_PER_CLASS, labels=("b",)))
    assert np.bincount(datasets.parse_csv(small).labels).tolist() == [25, datasets.MIN_PER_CLASS]
    assert datasets.parse_csv(with_row(30, 2, f"{datasets.MAX_ABS:g},-{datasets.MAX_ABS:g},a")).x[0].tolist() == [
        datasets.MAX_ABS, -datasets.MAX_ABS]


# ---------------------------------------------------------------------------------------
# The data set: split as make_dataset splits, and the download round trip


def test_from_csv_splits_as_make_dataset_does():
    """Same seed, same permutation: the test, validation and training parts of a
    downloaded built-in data set, read back, hold the points make_dataset put there."""
    built = datasets.make_dataset("moons", 300, noise=0.2, seed=5, test_fraction=0.3, val_fraction=0.2)
    # Its points in one list, in the order a file would hold them:
    ordered = datasets.Dataset(
        "moons", 2, np.concatenate([built.x_train_raw, built.x_val_raw, built.x_test_raw]),
        np.concatenate([built.y_train, built.y_val, built.y_test]), np.zeros((0, 2), np.float32),
        np.zeros(0, np.int32), np.zeros(2, np.float32), np.ones(2, np.float32))
    mine = datasets.from_csv(datasets.to_csv(ordered), test_fraction=0.3, val_fraction=0.2, seed=5)
    order = np.random.default_rng(5).permutation(300)  # what _split draws first
    x = ordered.x_train_raw
    np.testing.assert_array_equal(mine.x_test_raw, x[order[:90]])
    np.testing.assert_array_equal(mine.x_val_raw, x[order[90:150]])
    np.testing.assert_array_equal(mine.x_train_raw, x[order[150:]])
    assert (mine.n_test, mine.n_val, mine.n_train) == (built.n_test, built.n_val, built.n_train)
    again = datasets.from_csv(datasets.to_csv(ordered), test_fraction=0.3, val_fraction=0.2, seed=5)
    np.testing.assert_array_equal(again.x_train_raw, mine.x_train_raw)
    other = datasets.from_csv(datasets.to_csv(ordered), test_fraction=0.3, val_fraction=0.2, seed=6)
    assert not np.array_equal(other.x_test_raw, mine.x_test_raw)


def test_normalize_and_bad_scale_apply_to_uploaded_data():
    d = datasets.from_csv(GOOD, normalize=True, badly_scaled=True, seed=1)
    np.testing.assert_allclose(d.shift, d.x_train_raw.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(d.scale, d.x_train_raw.std(axis=0), rtol=1e-6)
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0.0, atol=1e-5)
    raw = datasets.parse_csv(GOOD).x
    assert sorted(d.bounds(0.0)[0]) == [100 * raw[:, 0].min(), 100 * raw[:, 0].max()]  # x1 stretched 100 times


def _all_points(d: datasets.Dataset) -> np.ndarray:
    """Every point with its label, sorted: the data set as a multiset."""
    pts = np.concatenate([np.c_[d.x_train_raw, d.y_train], np.c_[d.x_val_raw, d.y_val], np.c_[d.x_test_raw, d.y_test]])
    return pts[np.lexsort(pts.T[::-1])]


@pytest.mark.parametrize("name,classes", [(k, c) for k, spec in datasets.DATASETS.items() for c in spec.classes])
def test_every_built_in_data_set_downloads_and_reads_back(name, classes):
    d = datasets.make_dataset(name, 500, noise=0.2, seed=3, n_classes=classes, val_fraction=0.1, badly_scaled=True)
    text = datasets.to_csv(d)
    assert text.splitlines()[0] == "x1,x2,label" and len(text.splitlines()) == 501
    back = datasets.from_csv(text.encode(), seed=3)
    assert back.n_classes == classes and back.name == datasets.CSV
    np.testing.assert_array_equal(_all_points(back), _all_points(d))  # float32 exactly: 9 digits suffice


def test_an_upload_downloads_with_its_own_labels():
    d = datasets.from_csv(file(*rows(30, labels=("dog", '"cat, big"'))))
    text = datasets.to_csv(d)
    assert '"cat, big"' in text and ",dog\n" in text
    again = datasets.from_csv(text)
    assert again.class_names == ("cat, big", "dog")
    np.testing.assert_array_equal(_all_points(again), _all_points(d))


def test_an_upload_is_its_digest():
    a, b = datasets.Upload.read(GOOD.encode(), "a.csv"), datasets.Upload.read(GOOD, "other name.csv")
    assert a == b and hash(a) == hash(b)  # same bytes, same data set, whatever the file was called
    assert repr(a) == f"Upload(digest='{a.digest}')" and len(a.digest) == 64
    assert a != datasets.Upload.read(GOOD + "1,2,a\n")
    assert (a.n_rows, a.n_classes) == (30, 2)


# ---------------------------------------------------------------------------------------
# The page's experiment: settings, plan and run


def upload_of(text: str) -> datasets.Upload:
    return datasets.Upload.read(text.encode(), "mine.csv")


THREE = file(*rows(90, labels=("x", "y", "z")))


def test_settings_use_the_file_and_ignore_noise_points_and_classes():
    s = ex.Settings().replace(**{"c.data": ex.CSV, "c.seed": 4, "c.test": 0.2}).with_upload(upload_of(THREE))
    settled, notices = ex.settle(s)
    assert notices == [] and settled.classes == 3 and settled.upload == s.upload  # the file has 3 classes
    assert ex.settle(settled) == (settled, [])
    p = settled.data_params()
    assert (p.name, p.n_points, p.n_classes, p.seed, p.test_fraction) == (ex.CSV, 90, 3, 4, 0.2)
    assert settled.replace(**{"c.noise": 0.4, "c.points": 1000}).data_params() == p  # hidden controls: same key
    assert settled.architecture().sizes[-1] == 3
    assert "table" not in repr(p) and p.upload.digest in repr(p)  # a cache key as short as a digest
    d = p.make()
    assert (d.n_test, d.n_train, d.n_classes) == (18, 72, 3)
    np.testing.assert_array_equal(d.x_train_raw, datasets.from_csv(THREE, test_fraction=0.2, seed=4).x_train_raw)


def test_run_trains_on_the_file_and_the_budget_counts_its_rows():
    s = ex.Settings().replace(**{"c.data": ex.CSV, "c.epochs": 5, "c.batch": "sgd"}).with_upload(upload_of(THREE))
    result = ex.run(s)
    assert result.data.name == ex.CSV and result.data.n_train == 63  # 90 rows, 27 for the test set
    assert result.plan.n_train == 63 and result.plan.steps_per_epoch == 63  # SGD: one update per training row
    assert result.settings.upload == s.upload and result.arch.sizes[-1] == 3
    assert not [n for n in result.notices if n.key == "classifier.csv.missing"]


def test_csv_without_a_file_trains_the_default_data_and_says_so():
    """A shared link or a lesson staging c.data=csv: no file in the session."""
    s, notices = ex.Settings.from_query({"c.data": "csv", "c.classes": "3", "c.epochs": "3"})
    assert notices == [] and s.data == ex.CSV and s.upload is None
    result = ex.run(s)
    assert Notice("classifier.csv.missing", {"data": ex.DEFAULT_DATA}) in result.notices
    assert result.data.name == ex.DEFAULT_DATA and result.data.n_classes == 2
    assert result.settings.data == ex.CSV  # the choice is kept (the URL still says csv)
    assert result.data.n_train + result.data.n_test == s.points


def test_a_csv_data_params_without_its_file_is_refused():
    with pytest.raises(ValueError, match="upload"):
        ex.DataParams(ex.CSV, 30, 0.0, 0.3, 0, 2, False, False).make()


# ---------------------------------------------------------------------------------------
# The page (AppTest): upload, a bad file, a link without its file, the download

PAGE = "pages/4_Classifier.py"


def _page(query: dict[str, str] | None = None):
    from tests.conftest import open_page

    at = open_page(PAGE, {"c.epochs": "20", **(query or {})}, timeout=120)
    at.run()
    assert not at.exception
    return at


def _summary(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**"))


def _texts(at, kind: str) -> list[str]:
    return [e.value for e in at.get(kind)]  # the main area and the sidebar


@pytest.fixture(scope="module")
def uploaded():
    at = _page({"c.seed": "3", "c.layers": "1", "c.width": "8"})
    at.selectbox(key="c.data").set_value("csv").run()
    assert any("no CSV file" in m for m in _texts(at, "info"))  # chosen, no file yet: the default data meanwhile
    at.file_uploader(key="c_csv_file").upload("mine.csv", THREE.encode(), "text/csv").run()
    assert not at.exception
    return at


def test_an_uploaded_file_is_the_data_set(uploaded):
    at = uploaded
    summary = _summary(at)
    assert summary.startswith("**Your own data (CSV)** (3 classes)") and "63 training and 27 test points" in summary
    assert "8 → 3" in summary  # three outputs for three classes
    captions = _texts(at, "caption")
    assert any("`mine.csv`: 90 rows; classes 0 = `x`, 1 = `y`, 2 = `z`" in c for c in captions)
    keys = {w.key for w in at.sidebar.slider} | {w.key for w in at.sidebar.radio}
    assert "c.noise" not in keys and "c.points" not in keys and "c.classes" not in keys  # the file's own
    assert not _texts(at, "error") and not any("no CSV file" in m for m in _texts(at, "info"))
    assert at.query_params["c.data"] in ("csv", ["csv"])  # the choice in the URL, the file never
    assert at.session_state["c.classes"] == 3


def test_a_bad_file_keeps_the_previous_one_and_every_setting(uploaded):
    at = uploaded
    before = {k: at.session_state[k] for k in ("c.data", "c.seed", "c.layers", "c.width", "c.epochs", "c.classes")}
    summary = _summary(at)
    at.file_uploader(key="c_csv_file").set_value(("bad.csv", with_row(30, 5, "1.5,abc,b").encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert _texts(at, "error") == ["Row 5, column `x2`: `abc` is not a number (the header is row 1)."]
    assert {k: at.session_state[k] for k in before} == before
    assert _summary(at) == summary  # still the previous file
    assert any("still `mine.csv`" in c for c in _texts(at, "caption"))


def test_emptying_the_uploader_keeps_the_file_in_use(uploaded):
    """A browser replacing a file in a single-file uploader empties it first (the browser
    test below caught that dropping the file then lost it to a refused replacement)."""
    at = uploaded
    summary = _summary(at)
    at.file_uploader(key="c_csv_file").clear().run()
    assert not at.exception and not _texts(at, "error")
    assert _summary(at) == summary and any("Using `mine.csv`" in c for c in _texts(at, "caption"))
    at.selectbox(key="c.data").set_value("blobs").run()  # another data set is chosen with the box
    assert _summary(at).startswith("**Gaussian blobs**")
    at.selectbox(key="c.data").set_value("csv").run()  # and the file is still there to come back to
    assert _summary(at) == summary


def test_a_bad_file_first_shows_the_default_data_with_the_message_in_chinese():
    at = _page({"lang": "zh", "c.data": "csv"})
    uploader = at.file_uploader(key="c_csv_file")
    uploader.set_value(("data.csv", GOOD.replace(",", ";").encode(), "text/csv"))

    def run_in_chinese() -> None:  # AppTest formats the selectboxes' values here, in this thread's language
        catalog.set_language("zh")
        at.run()
    contextvars.copy_context().run(run_in_chinese)
    assert not at.exception
    assert _texts(at, "error") == ["各个值之间用的是分号（;），不是逗号。请把文件存为用逗号分隔的 CSV。"]
    assert any("没有 CSV 文件" in m for m in _texts(at, "info"))
    assert _summary(at).startswith("**双月牙**")


def test_a_link_with_csv_but_no_file_says_so_and_shows_the_default_data():
    at = _page({"c.data": "csv", "c.classes": "3"})
    info = [m for m in _texts(at, "info") if "CSV" in m]
    assert info == ["This session has no CSV file (a link cannot carry one): choose a file in the sidebar. "
                    "Meanwhile Two moons is shown."]
    assert _summary(at).startswith("**Two moons** (2 classes)")
    assert not _texts(at, "error") and at.sidebar.selectbox(key="c.data").value == "csv"


def test_the_download_button_is_there_for_a_built_in_set():
    at = _page()
    buttons = [b for b in at.sidebar.get("download_button")]
    assert len(buttons) == 1 and "Download this data set as CSV" in buttons[0].proto.label
    assert "400 points" in buttons[0].proto.help


# ---------------------------------------------------------------------------------------
# A real upload: Chromium's file chooser, Streamlit's upload endpoint, the download


@pytest.mark.browser
@pytest.mark.slow
def test_a_real_upload_and_download_in_the_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.test_browser import SHOTS, Server, chromium_path, wait_done

    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed (scripts/test.sh installs Debian's chromium)")
    spirals = datasets.to_csv(datasets.make_dataset("spirals", 300, noise=0.05, n_classes=3))
    mine = re.sub(r",([012])$", lambda m: "," + ("red", "green", "blue")[int(m.group(1))], spirals, flags=re.M)
    (tmp_path / "mine.csv").write_bytes(b"\xef\xbb\xbf" + mine.replace("\n", "\r\n").encode())  # as Excel saves
    (tmp_path / "book.xlsx").write_bytes(xlsx_bytes())
    SHOTS.mkdir(parents=True, exist_ok=True)
    server = Server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-dev-shm-usage"])
            page = browser.new_context(viewport={"width": 1440, "height": 1800}, accept_downloads=True).new_page()
            page.goto(server.url + "/Classifier?c.data=csv&c.epochs=300&c.width=32")
            wait_done(page)
            assert "no CSV file" in page.inner_text("[data-testid='stMain']")
            page.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(str(tmp_path / "mine.csv"))
            page.wait_for_function("() => document.body.innerText.includes('Your own data (CSV)')", timeout=90_000)
            wait_done(page)
            main = page.inner_text("[data-testid='stMain']")
            assert "210 training and 90 test points" in main and "no CSV file" not in main
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(SHOTS / "classifier-csv-uploaded.png"), full_page=True)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download this data set as CSV").click()
            text = (tmp_path / "down.csv")
            download.value.save_as(text)
            back = datasets.parse_csv(text.read_bytes())
            original = datasets.parse_csv(mine)
            assert back.class_names == original.class_names and sorted(map(tuple, back.x.tolist())) == sorted(
                map(tuple, original.x.tolist()))
            page.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(str(tmp_path / "book.xlsx"))
            page.wait_for_function("() => document.body.innerText.includes('spreadsheet workbook')", timeout=90_000)
            wait_done(page)
            assert "210 training and 90 test points" in page.inner_text("[data-testid='stMain']")  # kept
            page.screenshot(path=str(SHOTS / "classifier-csv-refused.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
