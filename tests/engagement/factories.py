"""factory_boy factories for the Engagement's test data: accounts and their users."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from tandem.engagement.accounts.models import Account, Role, User

PASSWORD = "correct horse battery staple 42"


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")


class UserFactory(DjangoModelFactory):
    """A user of an account (a Marketing User unless told), with the shared test password."""

    class Meta:
        model = User

    account = factory.SubFactory(AccountFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.MARKETING_USER
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return model_class.objects.create_user(*args, password=PASSWORD, **kwargs)
