"""Reading tables (CSV dialects, Excel sheets, Parquet), the target, and the data summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from uptake.errors import UptakeInputError
from uptake.io.cells import MISSING_TOKENS
from uptake.io.tables import file_sha256, read_table
from uptake.schema.target import encode_target, label_text, resolve_target
from uptake.schema.values import to_number
from uptake.train import TrainConfig, prepare


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index(drop=True)


# ---- reading ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("sep", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_csv_delimiters_sniffed(tmp_path: Path, bank_df: pd.DataFrame, sep: str, name: str) -> None:
    path = tmp_path / f"{name}.csv"
    bank_df.to_csv(path, sep=sep, index=False)
    df = read_table(path)
    # every cell as written, whatever the separator
    expected = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(_frame(df).astype(object), expected.astype(object))
    assert df.attrs["row_offset"] == 2


def test_semicolon_csv_with_decimal_commas(tmp_path: Path, bank_df: pd.DataFrame) -> None:
    # What Excel writes in German or French locales: ';' between fields, ',' inside numbers.
    path = tmp_path / "eu.csv"
    bank_df.to_csv(path, sep=";", decimal=",", index=False)
    df = read_table(path)
    # The cells stay as written (a scored file carries them back unchanged); the file's decimal mark is
    # the reader's verdict, and the schema reads numbers with it.
    assert df.attrs["decimal"] == "," and df["CCAvg"].iloc[0] == "1,6"
    np.testing.assert_allclose(to_number(df["CCAvg"], ",").to_numpy(), bank_df["CCAvg"].to_numpy())


def test_real_csv_and_xlsx_agree(bank_csv: Path, bank_xlsx: Path) -> None:
    csv, xlsx = read_table(bank_csv), read_table(bank_xlsx)
    assert csv.shape == xlsx.shape == (5000, 14)
    assert list(csv.columns) == list(xlsx.columns)
    # The CSV's cells stay text as written, the workbook's keep Excel's types; read as numbers they agree.
    assert csv["ID"].iloc[0] == "1" and xlsx["ID"].iloc[0] == 1
    as_numbers = lambda df: np.column_stack([to_number(df[c]).to_numpy() for c in df.columns])
    np.testing.assert_allclose(as_numbers(csv), as_numbers(xlsx))


def test_xlsx_default_sheet_is_data(bank_xlsx: Path) -> None:
    # The workbook's first sheet is 'Description'; 'Data' must win.
    assert pd.ExcelFile(bank_xlsx).sheet_names[0] == "Description"
    df = read_table(bank_xlsx)
    assert "Personal Loan" in df.columns and df.attrs["row_offset"] == 2


def test_xlsx_sheet_option_and_first_sheet_fallback(tmp_path: Path, bank_df: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as w:
        bank_df.head(50).to_excel(w, sheet_name="Loans", index=False)
        bank_df.head(7).to_excel(w, sheet_name="Other", index=False)
    assert len(read_table(path)) == 50  # no 'Data' sheet: the first one
    assert len(read_table(path, sheet="Other")) == 7


def test_xlsx_missing_sheet(bank_xlsx: Path) -> None:
    with pytest.raises(UptakeInputError, match=r"no sheet named 'Loans' \(sheets: Description, Data\)"):
        read_table(bank_xlsx, sheet="Loans")


def test_parquet(tmp_path: Path, bank_df: pd.DataFrame) -> None:
    path = tmp_path / "t.parquet"
    bank_df.to_parquet(path, index=False)
    df = read_table(path)
    pd.testing.assert_frame_equal(_frame(df), _frame(bank_df), check_dtype=False)
    assert df.attrs["row_offset"] == 1


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\n\n  \n", "the file is empty"),
        ("header.csv", b"a,b,c\n", "no data rows"),
        ("garbage.xlsx", bytes(range(256)) * 8, "is not an Excel workbook"),
        ("garbage.parquet", b"PAR1 not really", "cannot read the file"),
        ("table.json", b"{}", "unsupported file type"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UptakeInputError, match=fragment) as info:
        read_table(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UptakeInputError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_sha256_is_of_the_bytes(tmp_path: Path) -> None:
    import hashlib

    p = tmp_path / "a.csv"
    p.write_bytes(b"x,y\n1,2\n")
    assert file_sha256(p) == hashlib.sha256(b"x,y\n1,2\n").hexdigest()


# ---- target -----------------------------------------------------------------------------------
def test_resolve_target(bank_df: pd.DataFrame) -> None:
    assert resolve_target(bank_df, None) == "Personal Loan"
    assert resolve_target(bank_df, "Online") == "Online"
    with pytest.raises(UptakeInputError, match="column 'Personal Loan': target column is missing"):
        resolve_target(bank_df.drop(columns=["Personal Loan"]), None, "f.csv")
    with pytest.raises(UptakeInputError, match="column 'Accepted': target column is missing"):
        resolve_target(bank_df, "Accepted", "f.csv")


PAIRS = [("1", "0"), ("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f")]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(PAIRS),
    st.lists(st.booleans(), min_size=2, max_size=40).filter(lambda b: 0 < sum(b) < len(b)),
    st.data(),
)
def test_property_target_words_any_case(pair: tuple[str, str], flags: list[bool], data) -> None:
    def cased(word: str) -> str:
        mask = data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        return "".join(c.upper() if m else c for c, m in zip(word, mask, strict=True))

    pos, neg = cased(pair[0]), cased(pair[1])
    values = pd.Series([pos if f else neg for f in flags], name="Accepted", dtype="str")
    y, p, n = encode_target(values)
    assert y.tolist() == [int(f) for f in flags]
    assert (p, n) == (pos, neg)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=6).map(str.strip).filter(bool), min_size=2, max_size=2, unique=True),
    st.lists(st.booleans(), min_size=2, max_size=30).filter(lambda b: 0 < sum(b) < len(b)),
)
def test_property_positive_override(labels: list[str], flags: list[bool]) -> None:
    assume(label_text(labels[0]) != label_text(labels[1]))  # '1' and '1.0' are one label, as 1 and 1.0 are
    assume(not set(labels) & MISSING_TOKENS)  # 'NA', 'null', ...: missing on every path
    values = pd.Series([labels[0] if f else labels[1] for f in flags], name="outcome", dtype=object)
    y, pos, neg = encode_target(values, positive=labels[0])
    assert y.tolist() == [int(f) for f in flags]
    assert (pos, neg) == (labels[0], labels[1])


def test_target_numeric_and_bool_dtypes() -> None:
    assert encode_target(pd.Series([1, 0, 1], name="t"))[0].tolist() == [1, 0, 1]
    assert encode_target(pd.Series([1.0, 0.0, 0.0], name="t"))[0].tolist() == [1, 0, 0]
    assert encode_target(pd.Series([True, False, False], name="t"))[0].tolist() == [1, 0, 0]


def test_positive_override_flips_and_is_checked() -> None:
    s = pd.Series(["yes", "no", "no"], name="t")
    assert encode_target(s, positive="no")[0].tolist() == [0, 1, 1]
    with pytest.raises(UptakeInputError, match="--positive is not one of the target's labels"):
        encode_target(s, positive="maybe", source="f.csv")


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ([1, 1, 1], "column 'Personal Loan', value 1: the target has one class only"),
        (["a", "b", "c", "a"], "column 'Personal Loan': the target has 3 classes ('a', 'b', 'c'); it must have two"),
        ([1, 0, None, 1], "column 'Personal Loan', row 4: the target is missing"),
        (
            ["won", "lost"],
            (
                "column 'Personal Loan': cannot tell which of 'lost' and 'won' is the positive outcome; name it with "
                "--positive"
            ),
        ),
    ],
)
def test_bad_targets(values: list, fragment: str) -> None:
    with pytest.raises(UptakeInputError) as info:
        encode_target(pd.Series(values, name="Personal Loan", dtype=object), source="f.csv")
    assert str(info.value).startswith(f"file 'f.csv', {fragment}")


# ---- prepare + summary ----------------------------------------------------------------------------
def test_summary_of_real_table(bank_df: pd.DataFrame) -> None:
    s = prepare(bank_df, TrainConfig(), "bank.csv").summary
    assert (s.rows, s.positives) == (5000, 480)
    assert s.positive_share == pytest.approx(0.096)
    assert {d["column"] for d in s.dropped} == {"ID", "ZIP Code"}
    assert s.missing == {}
    assert s.suspicious == ["Experience: 52 negative values (min -3); kept as they are"]


def test_missing_values_imputed_and_reported(tmp_path: Path, bank_df: pd.DataFrame) -> None:
    df = bank_df.copy()
    df["Income"] = df["Income"].astype(float)
    df.loc[[3, 10, 99], "Income"] = np.nan
    df.loc[5, "Education"] = np.nan
    df.loc[[7, 8], "Online"] = np.nan
    path = tmp_path / "holes.csv"
    df.to_csv(path, index=False)
    prepared = prepare(read_table(path), TrainConfig(), path)
    assert prepared.summary.missing == {"Income": 3, "Education": 1, "Online": 2}
    from uptake.features import build_preprocessor, transform

    pre = build_preprocessor(prepared.schema).fit(prepared.clean)
    x = transform(pre, prepared.clean)
    assert np.isfinite(x).all()


def test_text_in_numeric_column_in_a_file(tmp_path: Path, bank_df: pd.DataFrame) -> None:
    df = bank_df.copy()
    df["CCAvg"] = df["CCAvg"].astype(object)
    df.loc[0, "CCAvg"] = "1.5k"
    for path in (tmp_path / "t.csv", tmp_path / "t.xlsx"):
        df.head(200).to_csv(path, index=False) if path.suffix == ".csv" else df.head(200).to_excel(
            path, sheet_name="Data", index=False
        )
        with pytest.raises(UptakeInputError) as info:
            prepare(read_table(path), TrainConfig(), path)
        assert str(info.value).startswith(
            f"file '{path}', column 'CCAvg', row 2, value '1.5k': text in a numeric column"
        )


def test_too_few_positives(bank_df: pd.DataFrame) -> None:
    df = pd.concat([bank_df[bank_df["Personal Loan"] == 0].head(100), bank_df[bank_df["Personal Loan"] == 1].head(3)])
    with pytest.raises(UptakeInputError, match="only 3 rows of the rarer class"):
        prepare(df, TrainConfig(), "f.csv")
