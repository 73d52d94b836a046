"""Production settings: `check --deploy` is clean, and the development policy is refused."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "Zq8!v2#Lm9@pR4$wT7^yB1&nC6*hJ3(kD5)sF0_gX+eA-uV=iO;",
    "ALLOWED_HOSTS": "chat.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://chat.example.com",
    "DATABASE_URL": "postgres://parlant:secret@db.example.com:5432/parlant",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "PARLANT_WIDGET_ORIGINS": "https://shop.example.com",
    "PARLANT_JWT_SECRET": "a-long-shared-secret-for-hs256-tokens-0123456789",
    "LOG_FORMAT": "json",
    "PROMETHEUS_MULTIPROC_DIR": str(Path(tempfile.gettempdir()) / "parlant-check-deploy-metrics"),
}


def manage_check(**overrides: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    environment.update(PRODUCTION)
    environment.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_production_values():
    result = manage_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_with_the_development_policy_are_refused():
    result = manage_check(
        PARLANT_AUTHORIZATION_POLICY="sessions_app.permissions.DevelopmentAuthorizationPolicy"
    )
    assert result.returncode != 0
    assert "parlant.E103" in result.stderr


def test_every_origin_for_cors_is_flagged_in_production():
    result = manage_check(CORS_ALLOW_ALL_ORIGINS="1")
    assert result.returncode != 0
    assert "parlant.W101" in result.stderr
