"""Configuration from the environment with safe local defaults."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-only-secret-change-me"


class ConfigError(RuntimeError):
    pass


def load_config(overrides: dict | None = None) -> dict:
    env = os.environ
    config = {
        "ENV_NAME": env.get("APP_ENV", "development"),
        "SECRET_KEY": env.get("SECRET_KEY", DEFAULT_SECRET),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'app.sqlite'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=int(env.get("SESSION_MINUTES", "30"))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 21 * 1024 * 1024,  # one upload plus the form around it
        "UPLOAD_MAX_BYTES": int(env.get("UPLOAD_MAX_MB", "20")) * 1024 * 1024,
        "UPLOAD_DIR": env.get("UPLOAD_DIR", str(ROOT / "var" / "uploads")),
        "SCHEDULER_ENABLED": env.get("SCHEDULER_ENABLED", "0") == "1",
        "SCHEDULER_INTERVAL": float(env.get("SCHEDULER_INTERVAL", "0.5")),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "PROCESSES_DIR": str(ROOT / "processes"),
        "FORMS_DIR": str(ROOT / "forms"),
        "PROVINCE_TITLE": env.get("PROVINCE_TITLE", "广东省"),
        "SMS_GATEWAY": env.get("SMS_GATEWAY", "app.services.notify:OutboxGateway"),
        # Real-name verification (000 §1.1): the default checks what can be checked offline and says so.
        "REALNAME_VERIFIER": env.get("REALNAME_VERIFIER", "app.services.identity:OfflineVerifier"),
        # Sign-in (002 §2.1): lockout counted from the sign-in log; see app/services/signin.py and the README.
        "SIGNIN_ACCOUNT_FAILURES": int(env.get("SIGNIN_ACCOUNT_FAILURES", "5")),  # per account …
        "SIGNIN_SOURCE_FAILURES": int(env.get("SIGNIN_SOURCE_FAILURES", "20")),  # … and per source address
        "SIGNIN_WINDOW_MINUTES": int(env.get("SIGNIN_WINDOW_MINUTES", "15")),  # … within this many minutes
        "SIGNIN_LOCK_MINUTES": int(env.get("SIGNIN_LOCK_MINUTES", "15")),  # locked this long after the last failure
        "SIGNIN_CAPTCHA_AFTER": int(env.get("SIGNIN_CAPTCHA_AFTER", "1")),  # failures before the image captcha
        "SMS_PER_SOURCE_HOUR": int(env.get("SMS_PER_SOURCE_HOUR", "20")),  # SMS codes per source address and hour
        "CAPTCHA_PER_SOURCE_MINUTE": int(env.get("CAPTCHA_PER_SOURCE_MINUTE", "30")),  # captcha images, in-process
        # reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none); without it every
        # visitor behind a proxy shares its address, and so the per-address sign-in and SMS limits
        "PROXY_HOPS": int(env.get("PROXY_HOPS", "0")),
        # CA certificate / provincial unified identity: "package.module:Class" of signin.SigninProvider, comma separated
        "SIGNIN_PROVIDERS": [p.strip() for p in env.get("SIGNIN_PROVIDERS", "").split(",") if p.strip()],
        # Strict-Transport-Security max-age, sent only in production (app/web/security.py)
        "HSTS_MAX_AGE": int(env.get("HSTS_MAX_AGE", str(365 * 24 * 3600))),
    }
    config.update(overrides or {})
    production = config["ENV_NAME"] == "production"
    config["DEV_TOOLS"] = not production and config.get("DEV_TOOLS", True)
    config["SESSION_COOKIE_SECURE"] = production
    if production and config["SECRET_KEY"] == DEFAULT_SECRET:
        raise ConfigError("生产环境必须通过环境变量 SECRET_KEY 设置密钥，拒绝使用默认密钥启动")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1)
    return config
