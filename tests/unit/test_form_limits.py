"""Form limits match the columns (issue 11 §2 defect 3): a value the form accepts must fit where it is stored,
or PostgreSQL refuses it with a 500 after the form said yes. Also the helpers that keep composed texts,
upload names and integers within their columns."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import models
from app.formkit import FormRegistry
from app.models.text import clip, clip_to_column
from app.web.guard import DB_INT_MAX, db_int

FORMS = FormRegistry(Path(__file__).resolve().parents[2] / "forms")
# Typed values known to land in a sized column: each must say so in its form file (`column:`).
STORED = {("code_application", "name"): "Project.name", ("code_application", "address"): "Project.address",
          ("item_decide", "doc_number"): "Permit.number",
          ("progress_report", "completion_note"): "ProjectProgress.completion_note"}


def _forms() -> list[str]:
    return sorted(p.stem for p in FORMS.directory.glob("*.yaml"))


def _column_length(ref: str) -> int | None:
    model_name, _, attribute = ref.partition(".")
    model = getattr(models, model_name)
    return model.__table__.c[attribute].type.length


def test_every_sized_column_a_form_writes_to_is_declared():
    for (form_key, name), ref in STORED.items():
        field = next(f for f in FORMS.get(form_key).fields if f.name == name)
        assert field.column == ref, (form_key, name)


@pytest.mark.parametrize("form_key", _forms())
def test_each_field_fits_its_column(form_key):
    for field in FORMS.get(form_key).fields:
        if field.column is None:
            continue
        length = _column_length(field.column)
        assert length is not None, f"{form_key}.{field.name}: {field.column} is no sized column"
        assert field.max_length is not None and field.max_length <= length, \
            f"{form_key}.{field.name}: the form allows {field.max_length}, {field.column} holds {length}"


def test_composed_texts_are_clipped_with_an_ellipsis_to_their_column():
    assert clip("短", 200) == "短" and clip(None, 5) is None
    assert clip("一二三四五六", 5) == "一二三四…"
    title = clip_to_column(models.Notification, "title", "项目" * 150)
    assert len(title) == 200 and title.endswith("…")
    assert models.Notification(title="项" * 300, kind="result").title == "项" * 199 + "…"
    assert len(models.SmsMessage(phone="1", text="短信" * 400).text) == 500


def test_db_int_accepts_only_what_an_integer_column_holds():
    assert db_int("42") == 42 and db_int(" -7 ") == -7 and db_int(str(DB_INT_MAX)) == DB_INT_MAX
    for bad in (str(DB_INT_MAX + 1), "9" * 30, "1e3", "", "四"):
        with pytest.raises(ValueError):
            db_int(bad)


def test_a_long_upload_name_loses_the_end_of_its_stem_not_its_extension():
    from app.services.uploads import _clean_filename

    assert _clean_filename("C:\\材料\\申请报告.pdf") == "申请报告.pdf"
    long = _clean_filename("报" * 300 + ".pdf")
    assert long == "报" * 196 + ".pdf"
    assert len(_clean_filename("x" * 300)) == 200


def test_the_authorisation_change_limits_fit_the_project_columns():
    from app.services.post_requests import AUTHORISATION_LIMITS

    assert AUTHORISATION_LIMITS["address"] <= _column_length("Project.address")
