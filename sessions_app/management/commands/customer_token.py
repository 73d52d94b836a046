"""Print a signed customer token for the widget's data-customer-token attribute."""

from django.core.management.base import BaseCommand, CommandError

from sessions_app.authentication import issue_customer_token
from sessions_app.models import Customer
from sessions_app.services import customer_create


class Command(BaseCommand):
    help = "Print a signed, expiring token that lets the widget act as this customer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("customer_id")
        parser.add_argument("--create-with-name", default="",
                            help="Create the customer with this name if it does not exist.")

    def handle(self, *args, customer_id: str, create_with_name: str, **options) -> None:
        if not Customer.objects.filter(pk=customer_id).exists():
            if not create_with_name:
                raise CommandError(f"Customer {customer_id!r} does not exist.")
            customer_create(name=create_with_name, customer_id=customer_id)
        self.stdout.write(issue_customer_token(customer_id))
