"""Applicants' accounts (issue 13, 000 §1): registration as an individual or a legal person, 企业信息, the legal
person's 经办人 authorisations, a 经办人's switch between enterprises, change of phone, account cancellation."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registration", __name__)
