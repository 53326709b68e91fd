"""办理记录 that says who did what (issue 14 §10): every line names the person and their department or enterprise,
the decision in words (受理 / 补正 / 审查完毕 / 办结：准予许可 …) and the opinion written with it; on a parallel
declaration the lines are grouped per item.

The trail rows (wf_trail) say who acted on which step; what they decided is the data the step's form put into the
workflow. It is read from the trail entry's detail when the engine recorded it there, else from the instance's
stored workflow (read, never locked or saved), else from what the application kept of the decision (an item's
decision record, its last 补正 notice). A finished 补正 round the engine pruned from the workflow keeps its actor and
step but may lose its opinion; the clock lines (暂停计时：reason) still carry the 补正 reason.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.runtime import load_state
from engine.tables import Instance, TrailEntry

from ..extensions import db
from ..models import ItemCase
from .agents import actor_label, trail_people
from .platform import runtime

ACTION_LABELS = {"start": "创建申请", "submit": "提交", "complete": "办理", "refuse": "办理", "withdraw": "企业撤回",
                 "timer": "时限提醒", "clock": "办理时限", "transfer": "转办"}
# Decision words per form and choice: short, as a reviewer says them.
DECISIONS: dict[str, dict[str, str]] = {
    "item_accept": {"accept": "受理", "correction": "补正", "reject": "不予受理"},
    "item_review": {"decide": "审查完毕", "correction": "补正", "expert": "中介服务或专家评审",
                    "extend": "延长办理时限"},
    "item_decide": {"approve": "办结：准予许可", "refuse": "办结：不予许可"},
    "item_decide_tender": {"approve": "办结：准予许可", "refuse": "办结：不予许可"},
    "filing_accept": {"accept": "受理", "correction": "补正", "reject": "不予受理"},
    "filing_review": {"pass": "审核通过", "return": "退回补正"},
    "post_accept": {"accept": "受理", "reject": "不予受理"},
    "post_review": {"pass": "审核通过", "refuse": "不予同意"},
    "change_review": {"pass": "审核通过", "refuse": "不予同意", "reapprove": "重大变化，须重新赋码"},
}
# Steps without a decision field: what completing them means.
PLAIN = {"filing_issue": "签发", "post_issue": "签发", "item_supplement": "提交补正材料", "item_expert": "登记评审结果",
         "declaration_submit": "提交申报", "filing": "提交备案信息"}
OPINION_FIELDS = ("opinion", "note", "conclusion")
CLOCK_WORDS = {"start": "开始计时", "pause": "暂停计时", "resume": "恢复计时", "extend": "延长时限"}
# Never shown to the applicant: the department's internal hand-overs and the timer's reminders.
INTERNAL_ACTIONS = ("transfer", "timer")


@dataclass
class TrailLine:
    at: datetime
    action: str  # the trail action
    label: str  # 受理 · 办理 … (the step's name, or the action in words)
    person: str = ""
    unit: str = ""  # the person's department, or the enterprise for an applicant
    decision: str = ""
    opinion: str = ""
    note: str = ""  # clock and 转办 details in words
    item: str | None = None  # item code on a parallel declaration


@dataclass
class TrailGroup:
    title: str | None  # the item's name; None: the declaration as a whole
    item: str | None
    lines: list[TrailLine] = field(default_factory=list)


def _item_of(entry: TrailEntry) -> str | None:
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    return detail.get("item") or detail.get("scope")


def _step_values(instance_id: int | None, entries: list[TrailEntry]) -> dict[str, dict[str, Any]]:
    """Per trail task id: the values its form put into the workflow. Exact where the stored workflow still has the
    task; for the last completion of a form per item whose task a finished round took away, the round's merged data
    (decision always; the opinion only where the form demands one for that decision, since an empty field of a
    later round leaves the earlier round's opinion in the merged data)."""
    wanted = [e for e in entries if e.task_id and e.action in ("complete", "refuse", "submit")
              and not (isinstance(e.detail, dict) and RECORDED.intersection(e.detail))]
    if instance_id is None or not wanted:
        return {}
    row = db.session.get(Instance, instance_id)
    if row is None or not row.state:
        return {}
    try:
        workflow = load_state(row.state, runtime().specs.get_by_id(db.session, row.process_version_id))
    except Exception:  # noqa: BLE001 - an unreadable state must not take the page down: no decisions shown
        return {}
    found: dict[str, dict[str, Any]] = {}
    missing: dict[tuple[str | None, str], str] = {}  # (item, form) → task id of its last completion not found
    for entry in wanted:
        try:
            task = workflow.get_task_from_id(uuid.UUID(entry.task_id))
        except Exception:  # noqa: BLE001 - a finished round's task is pruned (TaskNotFoundException), not an error
            task = None
        form_key = (entry.detail or {}).get("form_key") if isinstance(entry.detail, dict) else None
        data = task.data.get(form_key) if task is not None and form_key else None
        if isinstance(data, dict):
            found[entry.task_id] = data
            missing.pop((_item_of(entry), form_key), None)
        elif form_key:
            missing[(_item_of(entry), form_key)] = entry.task_id
    if missing:
        merged = _latest_form_data(workflow, {form for _, form in missing})
        for (item, form_key), task_id in missing.items():
            values = merged.get((item, form_key))
            if values:
                found[task_id] = _trusted(form_key, values)
    return found


def _latest_form_data(workflow: Any, forms: set[str]) -> dict[tuple[str | None, str], dict[str, Any]]:
    """(item code or None, form) → the freshest data of that form in the workflow and its sub-workflows."""
    latest: dict[tuple[str | None, str], tuple[float, dict[str, Any]]] = {}
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.get_tasks():
            data, item_value = task.data, task.data.get("item")
            item = data.get("item_code") or (item_value.get("code") if isinstance(item_value, dict) else None)
            changed = float(getattr(task, "last_state_change", 0) or 0)
            for form_key in forms:
                values = data.get(form_key)
                if isinstance(values, dict) and changed >= latest.get((item, form_key), (-1.0, {}))[0]:
                    latest[(item, form_key)] = (changed, values)
    return {key: values for key, (_, values) in latest.items()}


# Decisions whose form demands an opinion (None: every decision): only then is a merged opinion surely that step's.
OPINION_DEMANDED: dict[str, set[str] | None] = {
    "item_review": None, "item_supplement": None, "item_decide": None, "item_decide_tender": None,
    "item_expert": None, "item_accept": {"correction", "reject"}, "filing_accept": {"correction", "reject"},
    "filing_review": {"return"}, "post_accept": {"reject"}, "post_review": {"refuse"},
    "change_review": {"refuse", "reapprove"},
}


def _trusted(form_key: str, values: dict[str, Any]) -> dict[str, Any]:
    choice = values.get("decision", values.get("result"))
    kept = {k: values[k] for k in ("decision", "result") if k in values}
    demanded = OPINION_DEMANDED.get(form_key, set())
    if demanded is None or choice in (demanded or set()):
        kept.update({k: values[k] for k in OPINION_FIELDS if k in values})
    return kept


# Keys of a step's form the trail entry itself may carry (then the workflow need not be read).
RECORDED = frozenset(("decision", "result", "opinion", "note", "conclusion"))


def _clock_started(entries: list[TrailEntry], index: int, item: str | None) -> bool:
    """Whether the entry at `index` was followed, in its own save, by the start of the item's clock."""
    entry = entries[index]
    for later in entries[index + 1:index + 4]:
        detail = later.detail if isinstance(later.detail, dict) else {}
        if later.action == "clock" and detail.get("item") == item and later.actor == entry.actor:
            return detail.get("clock") == "start"
    return False


NOTICE_FORMS = {"accept": "item_accept", "handling": "item_review"}


def _notice_entries(entries: list[TrailEntry], cases: dict[str, ItemCase]) -> dict[str, int]:
    """Per item: the id of the trail entry that wrote the case's last 补正 / 不予受理 notice (the last completion of
    that stage's form by the notice's author at or before the notice's moment)."""
    found: dict[str, int] = {}
    for code, case in cases.items():
        notice = case.last_notice or {}
        form_key = "item_accept" if notice.get("kind") == "not_accepted" else NOTICE_FORMS.get(notice.get("stage", ""))
        try:
            moment = datetime.fromisoformat(notice["at"])
        except (KeyError, TypeError, ValueError):
            continue
        for entry in entries:
            detail = entry.detail if isinstance(entry.detail, dict) else {}
            if (detail.get("scope") == code and detail.get("form_key") == form_key and entry.at <= moment
                    and entry.action in ("complete", "refuse")):
                found[code] = entry.id
    return found


def _kept_by_case(case: ItemCase, form_key: str | None, entry: TrailEntry, notices: dict[str, int]) -> dict[str, Any]:
    """What the application kept of a step whose workflow data is gone: the decision record of 办结, the last
    补正 / 不予受理 notice for the step that wrote it."""
    if form_key in ("item_decide", "item_decide_tender"):
        return dict(case.decision or {})  # the decision record keeps result and 正文
    if notices.get(case.item_code) == entry.id:
        notice = case.last_notice or {}
        return {"decision": "reject" if notice.get("kind") == "not_accepted" else "correction",
                "opinion": notice.get("reason", "")}
    return {}


def _decision(form_key: str | None, values: dict[str, Any]) -> str:
    if not form_key:
        return ""
    choice = values.get("decision", values.get("result"))
    words = DECISIONS.get(form_key, {})
    if choice is not None and choice in words:
        return words[choice]
    return PLAIN.get(form_key, "")


def _opinion(values: dict[str, Any]) -> str:
    return next((str(values[k]).strip() for k in OPINION_FIELDS if str(values.get(k) or "").strip()), "")


def _clock_note(detail: dict[str, Any], item_names: dict[str, str]) -> str:
    text = f"{item_names.get(detail.get('item'), detail.get('item') or '')}：" if detail.get("item") else ""
    text += CLOCK_WORDS.get(detail.get("clock"), detail.get("clock") or "")
    if detail.get("days"):
        text += f" {detail['days']} 个工作日"
    if detail.get("reason"):
        text += f"（{detail['reason']}）"
    if detail.get("remaining") is not None:
        text += f"，剩余 {detail['remaining']} 个工作日"
    return text


def lines(instance_id: int | None, *, for_applicant: bool = False, item_names: dict[str, str] | None = None,
          cases: list[ItemCase] | None = None) -> list[TrailLine]:
    """The instance's 办理记录 in order, each line with person, unit, decision and opinion. `for_applicant`:
    without the department's internal lines (转办 between colleagues, timer reminders)."""
    if instance_id is None:
        return []
    entries = list(db.session.scalars(select(TrailEntry).where(TrailEntry.instance_id == instance_id)
                                      .order_by(TrailEntry.id)))
    entries = [e for e in entries if e.action not in ("claim", "unclaim")
               and not (for_applicant and e.action in INTERNAL_ACTIONS)]
    people = trail_people(entries)
    values = _step_values(instance_id, entries)
    names = item_names or {}
    by_item = {c.item_code: c for c in cases or []}
    notices = _notice_entries(entries, by_item)
    out = []
    for index, entry in enumerate(entries):
        detail = entry.detail if isinstance(entry.detail, dict) else {}
        user = people.get(int(entry.actor)) if (entry.actor or "").isdigit() else None
        line = TrailLine(at=entry.at, action=entry.action, item=_item_of(entry),
                         label=entry.task_name or ACTION_LABELS.get(entry.action, entry.action),
                         person=actor_label(entry, people))
        if user is not None:
            if user.department is not None:
                line.unit = user.department.name
            elif user.enterprise is not None:
                line.unit = user.enterprise.name
        if entry.action == "start":
            line.label = "创建申请"
        form_key = detail.get("form_key")
        step = dict(detail) if RECORDED.intersection(detail) else values.get(entry.task_id or "", {})
        if not step and line.item in by_item:
            step = _kept_by_case(by_item[line.item], form_key, entry, notices)
        if not step and form_key == "item_accept" and _clock_started(entries, index, line.item):
            step = {"decision": "accept"}  # only 受理 starts an item's clock
        if entry.action in ("complete", "refuse", "submit"):
            line.decision = _decision(form_key, step) or ("不予受理" if entry.action == "refuse" else "")
            line.opinion = _opinion(step)
        if entry.action == "clock":
            line.label, line.note = "办理时限", _clock_note(detail, names)
        elif entry.action == "transfer":
            line.label = f"转办（{entry.task_name}）" if entry.task_name else "转办"
            line.note = (f"转办：{detail.get('from_name', '')} → {detail.get('to_name', '')}（{detail.get('note', '')}）"
                         + (f"，由部门负责人{detail['by_name']}转办" if detail.get("by_name") else ""))
        elif entry.action == "withdraw":
            line.label = "企业撤回"
        out.append(line)
    return out


def grouped(instance_id: int | None, cases: list[ItemCase], *, for_applicant: bool = False,
            only_item: str | None = None) -> list[TrailGroup]:
    """The 办理记录 of a declaration: the lines of the declaration as a whole (申报, 提交), then one group per item
    in the order of its cases (item name as heading). `only_item` (one item's page): that item's lines and the
    declaration's, in order, as one group under no heading."""
    names = {c.item_code: c.item_name for c in cases}
    every = lines(instance_id, for_applicant=for_applicant, item_names=names, cases=cases)
    if only_item is not None:
        mine = [line for line in every if line.item in (None, only_item) or line.item not in names]
        return [TrailGroup(None, None, mine)] if mine else []
    common = TrailGroup(None, None)
    groups = {c.item_code: TrailGroup(c.item_name, c.item_code) for c in cases}
    for line in every:
        (groups[line.item] if line.item in groups else common).lines.append(line)
    return [g for g in (common, *groups.values()) if g.lines]
