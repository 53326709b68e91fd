"""Reference tables to and from .xlsx (openpyxl). Nothing in an uploaded file is evaluated: a formula is reported
as such, never computed, and the file is checked (size, zip signature, unpacked size, row count) before openpyxl
parses it."""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from . import ServiceError

MAX_BYTES = 2 * 1024 * 1024  # the official lists (hundreds of rows) are a few hundred KB at most
MAX_ROWS = 5000
MAX_UNPACKED = 60 * 1024 * 1024  # a "zip bomb" unpacks to gigabytes from a small upload
ZIP_SIGNATURE = b"PK\x03\x04"
PERCENT = "0.00%"


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula: reported to the user, never evaluated."""

    text: str


@dataclass(frozen=True)
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as Excel shows it, cell values)


def _refuse(message: str) -> ServiceError:
    return ServiceError(message, 422, {"file": message})


def write(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int] = (),
          percent_columns: Sequence[int] = ()) -> bytes:
    """One sheet: a bold header row, then the rows. Text is stored as text, even when it starts with "=", so a
    value typed by someone cannot become a formula in a colleague's Excel."""
    book = Workbook()
    sheet = book.active
    sheet.title = re.sub(r"[\\/?*\[\]:]", "", title)[:31]  # characters Excel refuses in a sheet name
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F3E5E5")
        cell.alignment = Alignment(vertical="center")
    for values in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in values])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for index in percent_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            cell.number_format = PERCENT
    for index, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=index + 1).column_letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def check_upload(data: bytes) -> None:
    """Refuses what is no .xlsx of a sane size before any parser sees it (422 naming 「文件」)."""
    if not data:
        raise _refuse("请选择要导入的「文件」（Excel .xlsx 格式）")
    if len(data) > MAX_BYTES:
        raise _refuse(f"「文件」不能超过{MAX_BYTES // (1024 * 1024)}MB，请分批导入")
    if not data.startswith(ZIP_SIGNATURE):
        raise _refuse("「文件」不是 Excel .xlsx 格式（旧版 .xls、CSV 或其他文件请在 Excel 中另存为 .xlsx 后再导入）")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
    except zipfile.BadZipFile:
        raise _refuse("「文件」已损坏，无法作为 Excel .xlsx 打开") from None
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise _refuse("「文件」不是 Excel .xlsx 工作簿（压缩包中没有工作簿内容）")
    if len(entries) > 2000 or sum(e.file_size for e in entries) > MAX_UNPACKED:
        raise _refuse("「文件」解压后过大，请只保留一张数据表后再导入")


def read(data: bytes) -> Sheet:
    """The first sheet: row 1 the headers, then the non-empty rows (at most MAX_ROWS)."""
    check_upload(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001  (openpyxl raises many kinds for a broken file: each means the same here)
        raise _refuse("「文件」无法作为 Excel .xlsx 打开，请用 Excel 另存为 .xlsx 后再导入") from None
    try:
        sheet = book.worksheets[0]
        headers: list[str] | None = None
        rows: list[tuple[int, list[Any]]] = []
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            values = [_value(cell) for cell in cells]
            if headers is None:
                headers = [str(v).strip() if v is not None else "" for v in values]
                continue
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise _refuse(f"「文件」超过{MAX_ROWS}行数据，请分批导入")
            rows.append((number, values))
    except ServiceError:
        raise
    except Exception:  # noqa: BLE001
        raise _refuse("「文件」内容无法读取，请用 Excel 另存为 .xlsx 后再导入") from None
    finally:
        book.close()
    if not headers or not any(headers):
        raise _refuse("「文件」的第1行须为表头（与导出的表格相同）")
    while headers and not headers[-1]:
        headers.pop()
    return Sheet(headers, rows)


def _value(cell: Any) -> Any:
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(cell.value))
    if getattr(cell, "data_type", None) == "e":  # #N/A, #REF! …: a formula's error, kept as the text it shows
        return Formula(str(cell.value))
    return cell.value
