"""Create (or update) a staff login with the operator role, for the dashboard."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create or update a staff user who may take sessions over in /dashboard/."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--first-name", default="")

    @transaction.atomic
    def handle(self, *args, username: str, password: str, first_name: str, **options) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "first_name": first_name}
        )
        user.is_staff = True
        if first_name:
            user.first_name = first_name
        user.set_password(password)
        user.save()
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="sessions_app", codename="operate_session"
            )
        )
        self.stdout.write(f"{'Created' if created else 'Updated'} operator {username}.")
