"""Create the local admin login once and print it on every run of the quick start."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"


class Command(BaseCommand):
    help = "Create a local superuser 'admin' with a generated password (DEBUG only) and print it."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_local_admin is for the embedded development mode only.")
        password_file = Path(settings.BASE_DIR) / "var" / "admin-password.txt"
        user_model = get_user_model()
        user = user_model.objects.filter(username=USERNAME).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
            if user is None:
                user_model.objects.create_superuser(USERNAME, "", password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
        password = password_file.read_text().strip()
        self.stdout.write(f"Admin login: {USERNAME} / {password}  (http://localhost:8800/admin/)")
