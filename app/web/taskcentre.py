"""任务中心: 待办 / 已办 / 待阅 / 已阅 for every signed-in user, with counts and mark-as-read."""
from flask import Blueprint

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
