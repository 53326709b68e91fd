"""Uploaded materials: real PDFs only, size-limited, stored once by content hash, never executed; served inline
only as application/pdf with nosniff (declarations.view), so a browser shows them in its PDF viewer, never as a
page of ours."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from flask import current_app
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import select, update

from ..extensions import db
from ..models import Attachment, ItemMaterial, Upload, User
from . import ServiceError, use_case
from .access import case_in, editable_case, own_declaration, supplement_task

FIELD = "file"


def _blob_path(sha256: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / sha256[:2] / sha256


def check_pdf(content: bytes, field: str = FIELD) -> int:
    """The page count of a readable PDF; anything else is refused with a message naming the field."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if not content:
        raise ServiceError("文件为空", 422, {field: "请选择要上传的PDF文件（文件为空）"})
    if len(content) > limit:
        raise ServiceError("文件过大", 422, {field: f"文件超过{limit // (1024 * 1024)}MB上限，请压缩后上传"})
    # The signature must open the file: a renamed HTML or script page is not a PDF, whatever its name.
    if not content[:1024].lstrip().startswith(b"%PDF-"):
        raise ServiceError("不是PDF文件", 422, {field: "只接受PDF格式的材料（文件内容不是PDF）"})
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise ServiceError("PDF已加密", 422, {field: "PDF文件已加密，请上传未加密的文件"})
        pages = len(reader.pages)
    except ServiceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise ServiceError("PDF文件已损坏", 422, {field: "PDF文件无法读取（可能已损坏），请重新生成后上传"}) from None
    if pages < 1:
        raise ServiceError("PDF没有页面", 422, {field: "PDF文件没有任何页面"})
    return pages


def store(content: bytes) -> Upload:
    sha256 = hashlib.sha256(content).hexdigest()
    upload = db.session.get(Upload, sha256)
    if upload is None:
        pages = check_pdf(content)
        path = _blob_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        upload = Upload(sha256=sha256, size=len(content), pages=pages)
        db.session.add(upload)
        db.session.flush()  # no ORM relationship orders it before the attachment that references it
    return upload


def read_blob(sha256: str) -> bytes:
    return _blob_path(sha256).read_bytes()


FILENAME_MAX = 200  # Attachment.filename


def _clean_filename(name: str) -> str:
    """The uploaded file's own name without its folders, at most FILENAME_MAX characters: a long name
    loses the end of its stem, never its extension (a download named "….pd" opens nowhere)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip() or "材料.pdf"
    if len(base) <= FILENAME_MAX:
        return base
    stem, ext = os.path.splitext(base)
    if not stem or len(ext) > 10:  # no real extension: plain cut
        return base[:FILENAME_MAX]
    return stem[: FILENAME_MAX - len(ext)] + ext


MAX_FILES = 10  # files in one upload of a material


@use_case
def attach(user: User, declaration_id: int, item_code: str | None, material_id: int | None, name: str,
           filename: str, content: bytes) -> Attachment:
    """One file: see attach_files."""
    return _attach(user, declaration_id, item_code, material_id, name, [(filename, content)])[0]


@use_case
def attach_files(user: User, declaration_id: int, item_code: str | None, material_id: int | None, name: str,
                 files: list[tuple[str, bytes]]) -> list[Attachment]:
    """Several files of one material at once (they replace that material's earlier files), or of one material the
    applicant adds. Every file is checked before any is kept: one bad file refuses the whole upload, naming it."""
    return _attach(user, declaration_id, item_code, material_id, name, files)


def _attach(user: User, declaration_id: int, item_code: str | None, material_id: int | None, name: str,
            files: list[tuple[str, bytes]]) -> list[Attachment]:
    """While declaring: any item's materials, or the applicant's own. During a 补正: that item only."""
    declaration = own_declaration(user, declaration_id)
    material = None
    if item_code:
        case = case_in(declaration.id, item_code)
        declaring = declaration.instance_id is not None and declaration.status == "declaring"
        if declaring:
            editable_case(user, declaration_id, item_code)
        elif supplement_task(declaration, item_code) is None:
            raise ServiceError("该事项当前不能上传材料（仅在申报或补正时可以上传）", 409)
        if material_id is not None:
            material = db.session.get(ItemMaterial, material_id)
            if material is None or material.item_code != case.item_code:
                raise ServiceError("材料不属于该事项", 422, {FIELD: "所选材料不属于该事项"})
    elif declaration.status != "declaring":
        raise ServiceError("申报已提交，不能再添加其他材料", 409)
    title = material.name if material else (name or "").strip()
    if not title:
        raise ServiceError("请填写材料名称", 422, {"name": "请填写「材料名称」"})
    if len(title) > 200:
        raise ServiceError("材料名称过长", 422, {"name": "「材料名称」不能超过200字"})
    files = [(filename, content) for filename, content in files if filename or content]
    if not files:
        raise ServiceError("请选择文件", 422, {FIELD: f"请选择要上传的「{title}」PDF文件"})
    if len(files) > MAX_FILES:
        raise ServiceError("文件过多", 422, {FIELD: f"「{title}」一次最多上传{MAX_FILES}个文件"})
    problems = []
    for filename, content in files:
        try:
            check_pdf(content)
        except ServiceError as exc:
            problems.append(f"「{_clean_filename(filename)}」{exc.errors.get(FIELD, exc.message)}")
    if problems:
        raise ServiceError(f"「{title}」上传失败", 422, {FIELD: f"「{title}」上传失败：" + "；".join(problems)})
    if material is not None:  # a new upload replaces the earlier files of the same material
        db.session.execute(update(Attachment).where(Attachment.declaration_id == declaration.id,
                                                    Attachment.material_id == material.id,
                                                    Attachment.superseded.is_(False)).values(superseded=True)
                           .execution_options(synchronize_session=False))
    attachments = []
    for filename, content in files:
        upload = store(content)
        attachment = Attachment(declaration_id=declaration.id, item_code=item_code or None,
                                material_id=material.id if material else None, name=title,
                                filename=_clean_filename(filename), sha256=upload.sha256, size=upload.size,
                                uploaded_by=user.id)
        db.session.add(attachment)
        attachments.append(attachment)
    return attachments


@use_case
def remove(user: User, declaration_id: int, attachment_id: int) -> None:
    declaration = own_declaration(user, declaration_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.declaration_id != declaration.id:
        raise ServiceError("材料不存在", 404)
    if declaration.status != "declaring":
        raise ServiceError("申报已提交，材料不能删除", 409)
    db.session.delete(attachment)


def attachment_for_download(attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise ServiceError("材料不存在", 404)
    return attachment


def declaration_attachments(declaration_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.declaration_id == declaration_id)
                                   .order_by(Attachment.id)))
