"""政策工作台 (role 政策人员, and 系统管理员): processes and decision tables with their versions, the diagram
designer (bpmn-js / dmn-js, served from /static/build/, no CDN), validate, deploy with a reason, roll back."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from .. import case_kinds
from ..domain.workdays import SHANGHAI
from ..formkit import FIELD_TYPES
from ..services import ServiceError, studio
from ..services.platform import CHOICE_SOURCES, RULES, choices
from . import role_required
from .guard import db_int
from .security import CONTENT_SECURITY_POLICY

bp = Blueprint("studio", __name__, url_prefix="/studio")
ROLES = tuple(studio.STUDIO_ROLES)
# bpmn-js builds some of its own markup (the bpmn.io credit, popup menus) from HTML strings carrying style
# attributes: the designer pages allow style *attributes* (they cannot run script, and img-src/connect-src
# 'self' leave a stylesheet nothing to send data to). Scripts and <style> elements stay as strict as elsewhere.
DESIGNER_CSP = CONTENT_SECURITY_POLICY + "; style-src-attr 'unsafe-inline'"


def _designer(page: str, status: int = 200) -> Response:
    response = make_response(page, status)
    response.headers["Content-Security-Policy"] = DESIGNER_CSP
    return response


def _kind_label(process_key: str) -> str:
    kinds = case_kinds.kinds_for_process(process_key)
    if process_key in case_kinds.BY_PROCESS:
        return kinds[0].label
    return "被调用：" + "、".join(k.label for k in kinds) if kinds else "未登记"


@bp.route("/")
@role_required(*ROLES)
def home():
    return render_template("studio/home.html")


@bp.route("/processes")
@role_required(*ROLES)
def processes():
    rows = studio.processes(current_user)
    files = studio.deployed_files()
    drafts = studio.drafts(current_user)
    return render_template("studio/processes.html", rows=rows, kind_label=_kind_label, drafts=drafts,
                           tables=[f for f in files.values() if f.is_decision_table],
                           forms=[(f, studio.form_title(f)) for f in files.values() if f.is_form])


@bp.route("/processes/<key>")
@role_required(*ROLES)
def process(key: str, errors: dict | None = None, status: int = 200):
    name, rows = studio.versions(current_user, key)
    names = studio.actor_names({r.version.deployed_by for r in rows})
    return render_template("studio/process.html", key=key, name=name, rows=rows, kind_label=_kind_label(key),
                           names=names, errors=errors or {}, reason=request.form.get("reason", "")), status


@bp.route("/processes/<key>/versions/<int:number>/current", methods=["POST"])
@role_required(*ROLES)
def make_current(key: str, number: int):
    try:
        version = studio.make_current(current_user, key, number, request.form.get("reason", ""))
    except ServiceError as exc:
        if exc.status == 422:
            return process(key, {**exc.errors, "version": number}, 422)
        raise
    flash(f"已将 v{version.version} 设为当前版本：此后新发起的办件按 v{version.version} 办理，"
          "办理中的办件不受影响", "success")
    return redirect(url_for("studio.process", key=key))


@bp.route("/processes/<key>/versions/<int:number>")
@role_required(*ROLES)
def version(key: str, number: int):
    found, files = studio.version_source(current_user, key, number)
    return _designer(render_template("studio/version.html", key=key, version=found, files=files,
                                     kind_label=_kind_label(key)))


@bp.route("/processes/<key>/versions/<int:number>/files/<filename>")
@role_required(*ROLES)
def version_file(key: str, number: int, filename: str):
    _, files = studio.version_source(current_user, key, number)
    if filename not in files:
        return Response("该版本不含此文件", 404, mimetype="text/plain")
    return _xml(files[filename])


@bp.route("/processes/<key>/versions/<int:number>/changes")
@role_required(*ROLES)
def version_changes(key: str, number: int):
    against = request.args.get("against", type=db_int)
    found, base, changes = studio.version_changes(current_user, key, number, against)
    name, rows = studio.versions(current_user, key)
    return render_template("studio/changes.html", key=key, name=name, version=found, base=base, changes=changes,
                           numbers=[r.version.version for r in rows], kind_label=_kind_label(key),
                           names=studio.actor_names({found.deployed_by}))


@bp.route("/changes")
@role_required(*ROLES)
def change_log():
    log = studio.change_log(current_user, request.args.get("page", 1, type=db_int))
    return render_template("studio/change_log.html", log=log)


def _xml(text: str) -> Response:
    return Response(text, mimetype="application/xml", headers={"Content-Disposition": "inline"})


@bp.route("/files/<filename>")
@role_required(*ROLES)
def editor(filename: str, errors: dict | None = None, status: int = 200):
    deployed, draft = studio.draft_of(current_user, filename)
    if deployed.is_form:
        content = draft.content if draft else deployed.content
        form, message = studio.preview_form(filename, content)
        return render_template(
            "studio/form_editor.html", file=deployed, draft=draft, errors=errors or {}, title=studio.form_title(deployed),
            reason=request.form.get("reason", ""), processes=[(key, _kind_label(key)) for key in deployed.processes],
            preview=_preview_html(form, message), field_types=FIELD_TYPES, sources=CHOICE_SOURCES,
            rules=sorted(RULES)), status
    return _designer(render_template(
        "studio/editor.html", file=deployed, draft=draft, errors=errors or {}, reason=request.form.get("reason", ""),
        options=studio.designer_options(), processes=[(key, _kind_label(key)) for key in deployed.processes]), status)


@bp.route("/files/<filename>/source")
@role_required(*ROLES)
def source(filename: str):
    deployed, draft = studio.draft_of(current_user, filename)
    if request.args.get("which") == "draft" and draft is not None:
        return _xml(draft.content)
    return _xml(deployed.content)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        raise ServiceError("请求格式有误", 400, {"content": "缺少「流程文件」内容"})
    return body


@bp.route("/files/<filename>/draft", methods=["POST"])
@role_required(*ROLES)
def save_draft(filename: str):
    body = _json_body()
    revision = body.get("revision")
    if revision is not None and (not isinstance(revision, int) or isinstance(revision, bool) or revision < 0):
        raise ServiceError("请求格式有误", 400, {"revision": "草稿版本号有误"})
    draft = studio.save_draft(current_user, filename, body["content"], revision)
    return jsonify(revision=draft.revision, author=draft.author, message=f"草稿已保存（{draft.author}）")


@bp.route("/files/<filename>/validate", methods=["POST"])
@role_required(*ROLES)
def validate(filename: str):
    content = _json_body()["content"]
    findings = studio.validate(current_user, filename, content)
    names = studio.element_names(content)
    return jsonify(ok=not findings, findings=[
        {"file": f.file, "element": f.element, "name": names.get(f.element, "") if f.file == filename else "",
         "message": f.message} for f in findings])


@bp.route("/files/<filename>/compare", methods=["POST"])
@role_required(*ROLES)
def compare(filename: str):
    changes = studio.compare(current_user, filename, str(_json_body().get("content", "")))
    return jsonify(changes=[c.as_entry() for c in changes])


@bp.route("/files/<filename>/deploy", methods=["POST"])
@role_required(*ROLES)
def deploy(filename: str):
    try:
        done = studio.deploy_draft(current_user, filename, request.form.get("reason", ""))
    except ServiceError as exc:
        if exc.status == 422:
            return editor(filename, exc.errors or {"_": exc.message}, 422)
        raise
    flash("已部署：" + "、".join(f"{v.process_key} v{v.version}" for v in done) +
          "。此后新发起的办件按新版本办理，办理中的办件仍按原版本", "success")
    return redirect(url_for("studio.processes"))


@bp.route("/files/<filename>/discard", methods=["POST"])
@role_required(*ROLES)
def discard(filename: str):
    studio.discard_draft(current_user, filename)
    flash("已放弃草稿，设计器中显示当前已部署的版本", "success")
    return redirect(url_for("studio.editor", filename=filename))


@bp.route("/files/<filename>/sample")
@role_required(*ROLES)
def sample(filename: str):
    return jsonify(studio.sample_inputs(current_user, filename, request.args.get("process", "")))


@bp.route("/files/<filename>/tryrun", methods=["POST"])
@role_required(*ROLES)
def tryrun(filename: str):
    body = _json_body()
    sample = body.get("sample") if isinstance(body.get("sample"), dict) else {}
    run = studio.try_run(current_user, filename, body["content"], str(body.get("process", "")),
                         sample.get("start"), sample.get("answers"))
    return jsonify(finished=run.finished, stopped=run.stopped, path=run.path,
                   steps=[{"kind": s.kind, "element": s.element, "name": s.name, "detail": _local_due(s.detail)}
                          for s in run.steps])


def _local_due(detail: dict) -> dict:
    """Due times as a Beijing officer reads them (the engine keeps ISO with its offset)."""
    due = detail.get("due")
    if not due:
        return detail
    try:
        moment = datetime.fromisoformat(due)
    except ValueError:
        return detail
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return {**detail, "due": moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")}


def _numbers(*names: str) -> list[int]:
    values = []
    for name in names:
        text = request.values.get(name, "")
        if not text.isdigit() or len(text) > 6:
            raise ServiceError("请选择版本", 422, {name: "请选择迁出和迁入的版本"})
        values.append(int(text))
    return values


@bp.route("/processes/<key>/migrate")
@role_required(*ROLES)
def migration_preview(key: str):
    source, target = _numbers("from", "to")
    rows = studio.migration_plan(current_user, key, source, target)
    refs = case_kinds.case_refs((r.instance.process_key, r.instance.business_key, None) for r in rows)
    steps = studio.current_steps([r.instance.id for r in rows])
    return render_template("studio/migrate.html", key=key, source=source, target=target, rows=rows, refs=refs,
                           steps=steps, movable=sum(1 for r in rows if not r.problem))


@bp.route("/processes/<key>/migrate", methods=["POST"])
@role_required(*ROLES)
def migrate(key: str):
    source, target = _numbers("from", "to")
    moved, refused = studio.migrate_all(current_user, key, source, target, request.form.get("reason", ""))
    flash(f"已将 {moved} 件从 v{source} 迁移到 v{target}" + (f"；{len(refused)} 件未迁移：" + "；".join(refused[:5])
                                                           if refused else ""), "success" if moved else "info")
    return redirect(url_for("studio.process", key=key))


def _preview_html(form, message: str) -> str:  # noqa: ANN001
    if form is None:
        return render_template("studio/_form_preview_error.html", message=message)
    return render_template("studio/_form_preview.html", form=form, choices=choices)


@bp.route("/files/<filename>/preview", methods=["POST"])
@role_required(*ROLES)
def form_preview(filename: str):
    form, message = studio.preview_form(filename, _json_body()["content"])
    return jsonify(html=_preview_html(form, message))


# ---- the structured form editor: the page edits a model of the form, the server converts it to and from the YAML
# (app/services/form_model.py), so the YAML stays the one format that is saved, validated and deployed.
def _form_file(filename: str) -> None:
    deployed, _ = studio.draft_of(current_user, filename)
    if not deployed.is_form:
        raise ServiceError("该文件不是表单", 404)


def _model_body() -> dict:
    if (request.content_length or 0) > 2 * studio.MAX_FILE_BYTES:  # the model and the YAML it replaces
        raise ServiceError("表单过大", 422, {"model": "「表单定义」过大"})
    return _json_body()


@bp.route("/files/<filename>/form-model", methods=["POST"])
@role_required(*ROLES)
def form_model_of(filename: str):
    from ..services import form_model

    _form_file(filename)
    return jsonify(model=form_model.model_of(_model_body()["content"]), **form_model.vocabulary())


@bp.route("/files/<filename>/form-yaml", methods=["POST"])
@role_required(*ROLES)
def form_yaml_of(filename: str):
    from ..services import form_model

    _form_file(filename)
    body = _model_body()
    return jsonify(content=form_model.yaml_of(body.get("model"), body["content"]))
